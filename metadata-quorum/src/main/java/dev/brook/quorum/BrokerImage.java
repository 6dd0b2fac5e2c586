package dev.brook.quorum;

/**
 * One registered broker in a {@link MetadataImage}: immutable.
 *
 * @param address host:port of its gRPC endpoint
 * @param rack empty when not configured
 * @param fenced true when it may lead nothing and join no ISR: it has registered but not yet sent
 *     a heartbeat with this epoch, or its lease expired. Cleared by a heartbeat with the current
 *     broker epoch.
 * @param brokerEpoch the Raft index of its latest registration; grows at every registration
 * @param shuttingDown true while it shuts down in a controlled way: it leads nothing and may not
 *     join an ISR; cleared by its next registration
 */
public record BrokerImage(int nodeId, String address, String rack, boolean fenced, long brokerEpoch, boolean shuttingDown) {
  /** May lead and join ISRs. */
  public boolean isActive() {
    return !fenced && !shuttingDown;
  }
}
