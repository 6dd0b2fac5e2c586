/**
 * The cluster domain: brokers, topics and partitions, and the controller that acts on them.
 * {@link dev.brook.quorum.cluster.ClusterDomain} is its one face to the Raft layer: requests are
 * checked by {@link dev.brook.quorum.cluster.RequestValidator} on the leader, commands applied by
 * the pure {@link dev.brook.quorum.cluster.MetadataApplier} on every replica and stored in the
 * families of {@link dev.brook.quorum.cluster.ClusterStore}, and every new image handed to
 * readers by {@link dev.brook.quorum.cluster.ImagePublisher} once durable. The leader duty is
 * {@link dev.brook.quorum.cluster.QuorumController} (leases, fencing, leader elections, ISR
 * reconciliation). {@link dev.brook.quorum.cluster.RaftMetadataClient} implements the public
 * {@link dev.brook.quorum.MetadataClient}; {@link dev.brook.quorum.cluster.ImageWatcher} keeps a
 * remote client's image fresh. Internal to the module: other modules use
 * {@code dev.brook.quorum} only.
 */
package dev.brook.quorum.cluster;
