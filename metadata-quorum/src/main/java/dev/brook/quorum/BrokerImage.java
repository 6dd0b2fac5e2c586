package dev.brook.quorum;

/**
 * One registered broker in a {@link MetadataImage}: immutable.
 *
 * @param address host:port of its gRPC endpoint
 * @param rack empty when not configured
 * @param fenced true when it may lead nothing and join no ISR (its lease expired)
 * @param brokerEpoch the Raft index of its latest registration; grows at every registration
 */
public record BrokerImage(int nodeId, String address, String rack, boolean fenced, long brokerEpoch) {}
