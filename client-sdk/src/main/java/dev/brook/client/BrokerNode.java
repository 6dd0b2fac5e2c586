package dev.brook.client;

/**
 * A broker registered in the cluster. {@code fenced}: its lease expired, it leads nothing;
 * {@code brokerEpoch}: grows at each registration; {@code shuttingDown}: handing over its
 * leaderships; {@code lastHeartbeatAgeMs}: since the quorum leader last heard from it, or -1.
 */
public record BrokerNode(int id, String address, String rack, boolean fenced, long brokerEpoch,
    boolean shuttingDown, long lastHeartbeatAgeMs) {

  /** The broker's state in one word: active, fenced or shutting-down. */
  public String state() {
    return shuttingDown ? "shutting-down" : fenced ? "fenced" : "active";
  }
}
