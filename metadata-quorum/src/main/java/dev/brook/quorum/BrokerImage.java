package dev.brook.quorum;

/**
 * One registered broker in a {@link MetadataImage}: immutable.
 *
 * @param address host:port of its gRPC endpoint
 * @param rack empty when not configured
 * @param fenced true when it may lead nothing and join no ISR: it has registered but not yet sent
 *     a heartbeat with this epoch (cleared by that heartbeat), or its lease expired (then
 *     {@code leaseExpired}, and only a new registration helps).
 * @param brokerEpoch the Raft index of its latest registration; grows at every registration
 * @param shuttingDown true while it shuts down in a controlled way: it leads nothing and may not
 *     join an ISR; cleared by its next registration
 * @param incarnationId the incarnation id (from the node's data dir) of its latest registration;
 *     empty when it sent none. Another incarnation may not register under this node id while this
 *     one holds a live lease.
 */
public record BrokerImage(int nodeId, String address, String rack, boolean fenced, long brokerEpoch,
    boolean shuttingDown, boolean leaseExpired, String incarnationId) {
  public BrokerImage {
    if (incarnationId == null) incarnationId = "";
  }

  /** A broker registered without an incarnation id. */
  public BrokerImage(int nodeId, String address, String rack, boolean fenced, long brokerEpoch, boolean shuttingDown,
      boolean leaseExpired) {
    this(nodeId, address, rack, fenced, brokerEpoch, shuttingDown, leaseExpired, "");
  }

  /** A broker whose lease never expired under its current epoch. */
  public BrokerImage(int nodeId, String address, String rack, boolean fenced, long brokerEpoch, boolean shuttingDown) {
    this(nodeId, address, rack, fenced, brokerEpoch, shuttingDown, false, "");
  }

  /** May lead and join ISRs. */
  public boolean isActive() {
    return !fenced && !shuttingDown;
  }
}
