package dev.brook.client;

import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.FetchServiceGrpc;
import dev.brook.proto.v1.ListOffsetsPartition;
import dev.brook.proto.v1.ListOffsetsPartitionResult;
import dev.brook.proto.v1.ListOffsetsRequest;
import dev.brook.proto.v1.ListOffsetsResponse;
import dev.brook.proto.v1.ListOffsetsTopic;
import dev.brook.proto.v1.ListOffsetsTopicResult;
import io.grpc.StatusRuntimeException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ListOffsets against partition leaders: earliest (-2), latest (-1) or by timestamp. Retries
 * partitions that failed with a retriable error (after a metadata refresh) until the timeout.
 * Called from the consumer's thread; blocking.
 */
final class OffsetLookup {
  static final long EARLIEST = -2;
  static final long LATEST = -1;
  private static final Logger log = LoggerFactory.getLogger(OffsetLookup.class);

  private final Metadata metadata;
  private final ChannelPool channels;
  private final long retryBackoffMs;

  OffsetLookup(Metadata metadata, ChannelPool channels, long retryBackoffMs) {
    this.metadata = metadata;
    this.channels = channels;
    this.retryBackoffMs = retryBackoffMs;
  }

  /** For each partition, the answer for its timestamp spec. */
  Map<TopicPartition, ListOffsetsPartitionResult> list(Map<TopicPartition, Long> specs, long timeoutMs) {
    long deadline = System.currentTimeMillis() + timeoutMs;
    Map<TopicPartition, ListOffsetsPartitionResult> results = new HashMap<>();
    Map<TopicPartition, Long> remaining = new LinkedHashMap<>(specs);
    BrookException last = null;
    while (true) {
      Map<String, Map<TopicPartition, Long>> byLeader = new HashMap<>();
      for (Map.Entry<TopicPartition, Long> e : remaining.entrySet()) {
        TopicPartition tp = e.getKey();
        long left = Math.max(1, deadline - System.currentTimeMillis());
        Metadata.Topic t = metadata.awaitTopic(tp.topic(), left, true, false);
        PartitionInfo p = t.partition(tp.partition());
        if (p == null) {
          throw new BrookException(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "partition " + tp + " does not exist");
        }
        if (p.leaderAddress() == null) {
          metadata.requestRefresh(tp.topic());
          last = new BrookException(ErrorCode.LEADER_NOT_AVAILABLE, "no leader for " + tp);
          continue;
        }
        byLeader.computeIfAbsent(p.leaderAddress(), a -> new LinkedHashMap<>()).put(tp, e.getValue());
      }
      for (Map.Entry<String, Map<TopicPartition, Long>> e : byLeader.entrySet()) {
        try {
          ListOffsetsResponse resp = FetchServiceGrpc.newBlockingStub(channels.get(e.getKey()))
              .withDeadlineAfter(Math.max(1, deadline - System.currentTimeMillis()), TimeUnit.MILLISECONDS)
              .listOffsets(request(e.getValue()));
          for (ListOffsetsTopicResult t : resp.getTopicsList()) {
            for (ListOffsetsPartitionResult p : t.getPartitionsList()) {
              TopicPartition tp = new TopicPartition(t.getTopic(), p.getPartition());
              if (!remaining.containsKey(tp)) continue;
              ErrorCode code = p.getError().getCode();
              if (code == ErrorCode.NONE) {
                results.put(tp, p);
                remaining.remove(tp);
                continue;
              }
              BrookException err = BrookException.of(p.getError(), "list offsets of " + tp);
              if (!err.retriable()) throw err;
              if (code == ErrorCode.NOT_LEADER) {
                metadata.applyLeaderHint(tp, p.getError().getLeaderId(), p.getError().getLeaderAddress());
              }
              metadata.requestRefresh(tp.topic());
              last = err;
            }
          }
        } catch (StatusRuntimeException ex) {
          log.debug("list offsets at {} failed: {}", e.getKey(), ex.getStatus());
          last = BrookException.transport("list offsets at " + e.getKey() + " failed: " + ex.getStatus(), ex, true);
          for (TopicPartition tp : e.getValue().keySet()) metadata.requestRefresh(tp.topic());
        }
      }
      if (remaining.isEmpty()) return results;
      if (System.currentTimeMillis() + retryBackoffMs >= deadline) {
        throw last != null ? last
            : new BrookException(ErrorCode.REQUEST_TIMED_OUT, "no offsets for " + remaining.keySet() + " within " + timeoutMs + " ms");
      }
      try {
        Thread.sleep(Math.max(1, retryBackoffMs));
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        throw new BrookException(ErrorCode.REQUEST_TIMED_OUT, "interrupted while listing offsets", ex);
      }
    }
  }

  private static ListOffsetsRequest request(Map<TopicPartition, Long> specs) {
    Map<String, ListOffsetsTopic.Builder> byTopic = new LinkedHashMap<>();
    for (Map.Entry<TopicPartition, Long> e : specs.entrySet()) {
      byTopic.computeIfAbsent(e.getKey().topic(), t -> ListOffsetsTopic.newBuilder().setTopic(t))
          .addPartitions(ListOffsetsPartition.newBuilder().setPartition(e.getKey().partition()).setTimestamp(e.getValue()));
    }
    ListOffsetsRequest.Builder b = ListOffsetsRequest.newBuilder();
    byTopic.values().forEach(b::addTopics);
    return b.build();
  }

  static Map<TopicPartition, Long> allWith(java.util.Collection<TopicPartition> tps, long spec) {
    Map<TopicPartition, Long> m = new LinkedHashMap<>();
    for (TopicPartition tp : tps) m.put(tp, spec);
    return m;
  }

  static List<TopicPartition> keys(Map<TopicPartition, ?> m) {
    return List.copyOf(m.keySet());
  }
}
