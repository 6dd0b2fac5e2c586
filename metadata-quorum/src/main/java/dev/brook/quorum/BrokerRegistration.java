package dev.brook.quorum;

/**
 * What a broker registers with: see {@link MetadataClient#register}.
 *
 * @param nodeId the broker's node.id, >= 0
 * @param address host:port of its gRPC endpoint
 * @param rack empty when not configured
 * @param incarnationId the node's persistent incarnation id (from its data dir); empty = none,
 *     which never conflicts with another registration
 * @param clusterId the cluster the node's data dir belongs to; empty before its first registration
 */
public record BrokerRegistration(int nodeId, String address, String rack, String incarnationId, String clusterId) {
  public BrokerRegistration {
    rack = rack == null ? "" : rack;
    incarnationId = incarnationId == null ? "" : incarnationId;
    clusterId = clusterId == null ? "" : clusterId;
  }
}
