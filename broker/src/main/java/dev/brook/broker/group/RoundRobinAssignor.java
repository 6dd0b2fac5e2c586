package dev.brook.broker.group;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;

/**
 * {@code round-robin}: all subscribed partitions in (topic, partition) order, dealt in turn to the
 * members in member id order, each partition to the next member that subscribes to its topic.
 * Balanced when the subscriptions are the same; not sticky.
 */
public final class RoundRobinAssignor implements PartitionAssignor {
  public static final String NAME = "round-robin";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Map<String, Set<TopicPartition>> assign(Input input) {
    Map<String, SortedSet<TopicPartition>> result = Assignments.emptyResult(input);
    List<String> ids = new ArrayList<>(input.members().keySet());
    int next = 0;
    for (TopicPartition tp : Assignments.subscribedPartitions(input)) {
      for (int tried = 0; tried < ids.size(); tried++) {
        String id = ids.get((next + tried) % ids.size());
        if (input.members().get(id).topics().contains(tp.topic())) {
          result.get(id).add(tp);
          next = (next + tried + 1) % ids.size();
          break;
        }
      }
    }
    return Assignments.frozen(result);
  }
}
