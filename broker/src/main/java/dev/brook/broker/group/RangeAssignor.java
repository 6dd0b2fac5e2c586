package dev.brook.broker.group;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * {@code range} (Kafka's range assignor): topic by topic, the members that subscribe to it, in
 * member id order, get contiguous ranges of its partitions, the first {@code P mod M} of them one
 * more. Members that subscribe to the same topics get the same partition numbers of each (useful
 * to co-partitioned joins). Not sticky: a join or leave can move many partitions.
 */
public final class RangeAssignor implements PartitionAssignor {
  public static final String NAME = "range";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Map<String, Set<TopicPartition>> assign(Input input) {
    Map<String, SortedSet<TopicPartition>> result = Assignments.emptyResult(input);
    Map<String, List<String>> subscribers = Assignments.subscribers(input);
    for (String topic : new TreeSet<>(subscribers.keySet())) {
      Integer count = input.partitions().get(topic);
      if (count == null) continue;
      List<String> members = subscribers.get(topic);
      int each = count / members.size();
      int extra = count % members.size();
      int next = 0;
      for (int i = 0; i < members.size(); i++) {
        int n = each + (i < extra ? 1 : 0);
        for (int k = 0; k < n; k++) result.get(members.get(i)).add(new TopicPartition(topic, next++));
      }
    }
    return Assignments.frozen(result);
  }
}
