/**
 * The quorum's Raft layer, free of any domain: the Ratis state machine
 * ({@link dev.brook.quorum.raft.QuorumStateMachine}), which dispatches every request and command
 * to the {@link dev.brook.quorum.raft.QuorumDomain} that owns its case; the RocksDB store
 * ({@link dev.brook.quorum.raft.QuorumStore}, one write batch per entry for all domains,
 * a format number) and its snapshots ({@link dev.brook.quorum.raft.SnapshotStore}); and the
 * client side ({@link dev.brook.quorum.raft.QuorumCalls} over a
 * {@link dev.brook.quorum.raft.ReconnectingClient}), plus the leader-side appender that lets a
 * wiped voter rejoin. Nothing here names a domain; an ArchUnit rule (integration-tests,
 * QuorumPublicFaceTest) keeps it so, and keeps other modules out of this package.
 */
package dev.brook.quorum.raft;
