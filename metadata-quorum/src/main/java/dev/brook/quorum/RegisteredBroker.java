package dev.brook.quorum;

/**
 * An accepted registration.
 *
 * @param brokerEpoch the new broker epoch (larger than any before)
 * @param clusterId the quorum's cluster id, empty when the cluster was not initialized yet
 */
public record RegisteredBroker(long brokerEpoch, String clusterId) {}
