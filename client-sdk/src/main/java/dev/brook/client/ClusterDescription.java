package dev.brook.client;

import java.util.List;
import java.util.Map;

/**
 * The cluster: id, brokers, and the metadata quorum (voter id to Ratis address, leader id or -1,
 * term, commit and applied index as the answering node knows them).
 */
public record ClusterDescription(String clusterId, List<BrokerNode> brokers,
    Map<Integer, String> quorumVoters, int quorumLeaderId, long quorumTerm, long commitIndex,
    long appliedIndex) {}
