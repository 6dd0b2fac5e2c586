package dev.brook.quorum;

import com.google.common.collect.ImmutableSortedMap;
import java.util.List;
import java.util.Map;

/**
 * One topic in a {@link MetadataImage}: immutable.
 *
 * @param topicId 32 lowercase hex characters, new for every (re-)creation of the name
 * @param configs configuration overrides only, sorted by key
 * @param partitions in partition order (index i is partition i)
 */
public record TopicImage(String name, String topicId, Map<String, String> configs, List<PartitionImage> partitions) {
  public TopicImage {
    configs = ImmutableSortedMap.copyOf(configs);
    partitions = List.copyOf(partitions);
  }
}
