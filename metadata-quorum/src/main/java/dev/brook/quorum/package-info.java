/**
 * The metadata quorum's public face: start a node ({@link dev.brook.quorum.MetadataQuorum}) or
 * connect to one ({@link dev.brook.quorum.MetadataQuorum#connect}), talk to it through
 * {@link dev.brook.quorum.MetadataClient}, read immutable {@link dev.brook.quorum.MetadataImage}s,
 * and configure it with {@link dev.brook.quorum.QuorumConfig}. Everything else of the module
 * lives in {@code .raft} (the domain-free Raft layer) and one package per domain
 * ({@code .cluster}, then {@code .group}); see docs/architecture.md, "Domains".
 */
package dev.brook.quorum;
