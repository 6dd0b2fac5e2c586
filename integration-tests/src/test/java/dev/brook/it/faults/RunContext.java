package dev.brook.it.faults;

/** What workloads and faults of one run share: the cluster, the topic, the history, the options. */
record RunContext(FaultCluster cluster, String topic, int partitions, History history, RunOptions options) {}
