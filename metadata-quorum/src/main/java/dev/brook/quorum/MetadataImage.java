package dev.brook.quorum;

import com.google.common.collect.ImmutableSortedMap;
import java.util.Map;
import java.util.Objects;

/**
 * A point-in-time view of the cluster metadata, as applied on one node. Immutable and safe to
 * share: every change produces a new image (built from the previous one plus the applied entry),
 * so a reader holding an image never sees it move.
 */
public final class MetadataImage {
  /** The image of a node that has applied nothing yet. */
  public static final MetadataImage EMPTY = new MetadataImage(0, null, ImmutableSortedMap.of(), ImmutableSortedMap.of());

  private final long version;
  private final String clusterId;
  private final ImmutableSortedMap<String, TopicImage> topics;
  private final ImmutableSortedMap<Integer, BrokerImage> brokers;

  public MetadataImage(long version, String clusterId, Map<String, TopicImage> topics, Map<Integer, BrokerImage> brokers) {
    this.version = version;
    this.clusterId = clusterId;
    this.topics = ImmutableSortedMap.copyOf(topics);
    this.brokers = ImmutableSortedMap.copyOf(brokers);
  }

  /**
   * An image built by hand, for tests of components that consume images (the broker's replica
   * manager): nodes build theirs from the quorum only.
   */
  public static MetadataImage of(long version, String clusterId, java.util.Collection<TopicImage> topics,
      java.util.Collection<BrokerImage> brokers) {
    Map<String, TopicImage> t = new java.util.TreeMap<>();
    for (TopicImage topic : topics) t.put(topic.name(), topic);
    Map<Integer, BrokerImage> b = new java.util.TreeMap<>();
    for (BrokerImage broker : brokers) b.put(broker.nodeId(), broker);
    return new MetadataImage(version, clusterId, t, b);
  }

  /**
   * The Raft index of the last applied entry that changed metadata. Grows monotonically; equal
   * versions mean equal content.
   */
  public long version() {
    return version;
  }

  /** The cluster id (32 lowercase hex characters), or null before the cluster is initialized. */
  public String clusterId() {
    return clusterId;
  }

  /** Every topic by name, sorted by name. Unmodifiable. */
  public Map<String, TopicImage> topics() {
    return topics;
  }

  /** Every registered broker (fenced ones included) by node id, sorted. Unmodifiable. */
  public Map<Integer, BrokerImage> brokers() {
    return brokers;
  }

  /** The topic named {@code name}, or null. */
  public TopicImage topic(String name) {
    return topics.get(name);
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) return true;
    if (!(o instanceof MetadataImage other)) return false;
    return version == other.version && Objects.equals(clusterId, other.clusterId)
        && topics.equals(other.topics) && brokers.equals(other.brokers);
  }

  @Override
  public int hashCode() {
    return Objects.hash(version, clusterId, topics, brokers);
  }

  @Override
  public String toString() {
    return "MetadataImage{version=" + version + ", clusterId=" + clusterId + ", topics=" + topics.keySet()
        + ", brokers=" + brokers.keySet() + "}";
  }
}
