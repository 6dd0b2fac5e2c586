package dev.brook.broker.service;

import dev.brook.broker.group.TopicPartition;
import dev.brook.broker.replica.Partition;
import dev.brook.proto.v1.Error;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.TopicImage;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * Checks, before the coordinator commits them, that offsets name partitions that exist and lie
 * within their logs: an offset beyond a partition's end (a buggy client, a reset to a made-up
 * number) would be stored and then send every later member of the group to its reset policy.
 *
 * <p>The bound is proven where it is cheap and asked for where it must be:
 * <ul>
 *   <li>A local replica that leads the partition, or is in its ISR: every ISR member's log ends at
 *       or after the high watermark, and a consumer commits at most the high watermark it read
 *       below, so an offset at or below the local log end is accepted without a call. Only the
 *       leader's own log end refuses one.
 *   <li>A local replica whose log was cut to repair damage (until it caught up) or holds a corrupt
 *       batch proves nothing: a node restarted after a crash can still be named leader for a
 *       moment with a log far behind what consumers read from the previous leader (eight
 *       commits of a long fault run were refused that way). Named leader, it cannot be asked
 *       either: the offset is accepted, as for a partition without a leader.
 *   <li>Otherwise (no local replica, one out of sync, or an offset beyond a local follower's end)
 *       the partition's leader is asked for its high watermark ({@code ListOffsets} LATEST), one
 *       call per leader for the whole commit, and an offset beyond it is refused.
 *   <li>A partition without a leader, or a leader that does not answer, cannot be checked: its
 *       offset is accepted (a commit must not wait for a partition to be back; the offset was at
 *       worst already beyond what the group's members can read).
 * </ul>
 * Right after a leader change a new leader's high watermark may still be below the old one's for
 * a moment; a commit checked against it remotely is then refused with OFFSET_OUT_OF_RANGE and
 * succeeds when retried.
 */
final class CommitOffsetCheck {
  /** Asks the broker at an address for the high watermarks of partitions it leads (offset, or an error). */
  interface LeaderOffsets extends BiFunction<String, Set<TopicPartition>, CompletableFuture<Map<TopicPartition, Long>>> {}

  /**
   * What this broker's replica of a partition can vouch for.
   *
   * @param logEndOffset its log end
   * @param wholeLog false while its log was cut to repair damage and has not caught up again, or
   *     holds a corrupt batch: such a replica serves nothing, and its end bounds nothing
   */
  record LocalReplica(long logEndOffset, boolean wholeLog) {
    static LocalReplica of(Partition p) {
      return p == null ? null : new LocalReplica(p.log().logEndOffset(), !p.mustCatchUp() && p.corruptFrom() < 0);
    }
  }

  /** This broker's replica of a partition, or null when it hosts none. */
  interface LocalReplicas {
    LocalReplica replica(String topic, int partition);
  }

  private final Supplier<MetadataImage> image;
  private final LocalReplicas local;
  private final int nodeId;
  private final LeaderOffsets leaders;

  CommitOffsetCheck(Supplier<MetadataImage> image, LocalReplicas local, int nodeId, LeaderOffsets leaders) {
    this.image = image;
    this.local = local;
    this.nodeId = nodeId;
    this.leaders = leaders;
  }

  /** Completes with null when every offset may be committed, else with the error for the whole commit. */
  CompletableFuture<Error> check(Map<TopicPartition, Long> offsets) {
    MetadataImage current = image.get();
    if (current == null) return CompletableFuture.completedFuture(null);
    Map<Integer, Map<TopicPartition, Long>> ask = new TreeMap<>();
    for (Map.Entry<TopicPartition, Long> e : new TreeMap<>(offsets).entrySet()) {
      TopicPartition tp = e.getKey();
      long offset = e.getValue();
      TopicImage t = current.topic(tp.topic());
      if (t == null || tp.partition() >= t.partitions().size()) {
        return CompletableFuture.completedFuture(Errors.of(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            "cannot commit an offset for " + tp + ": " + (t == null ? "no topic " + tp.topic()
                : "topic " + tp.topic() + " has " + t.partitions().size() + " partitions")));
      }
      PartitionImage p = t.partitions().get(tp.partition());
      LocalReplica replica = local.replica(tp.topic(), tp.partition());
      if (replica != null && replica.wholeLog() && (p.leaderId() == nodeId || p.isr().contains(nodeId))) {
        long end = replica.logEndOffset();
        if (offset <= end) continue;
        if (p.leaderId() == nodeId) return CompletableFuture.completedFuture(beyond(tp, offset, end));
      }
      // Led here by a replica that bounds nothing (cut or corrupt log, or none open yet): there is
      // no one else to ask, so the offset is accepted.
      if (p.leaderId() == nodeId) continue;
      BrokerImage leader = current.brokers().get(p.leaderId());
      if (p.leaderId() < 0 || leader == null) continue; // cannot be checked now: accepted
      ask.computeIfAbsent(p.leaderId(), k -> new HashMap<>()).put(tp, offset);
    }
    if (ask.isEmpty()) return CompletableFuture.completedFuture(null);
    CompletableFuture<Error> result = CompletableFuture.completedFuture(null);
    for (Map.Entry<Integer, Map<TopicPartition, Long>> byLeader : ask.entrySet()) {
      Map<TopicPartition, Long> wanted = byLeader.getValue();
      CompletableFuture<Map<TopicPartition, Long>> answer;
      try {
        answer = leaders.apply(current.brokers().get(byLeader.getKey()).address(), wanted.keySet());
      } catch (RuntimeException ex) {
        answer = CompletableFuture.failedFuture(ex);
      }
      CompletableFuture<Error> verdict = answer.handle((ends, failure) -> {
        if (failure != null || ends == null) return null; // the leader did not answer: accepted
        for (Map.Entry<TopicPartition, Long> w : new TreeMap<>(wanted).entrySet()) {
          Long end = ends.get(w.getKey());
          if (end != null && end >= 0 && w.getValue() > end) return beyond(w.getKey(), w.getValue(), end);
        }
        return null;
      });
      result = result.thenCombine(verdict, (a, b) -> a != null ? a : b);
    }
    return result;
  }

  private static Error beyond(TopicPartition tp, long offset, long end) {
    return Errors.of(ErrorCode.OFFSET_OUT_OF_RANGE, "offset " + offset + " of " + tp + " is beyond the end of its log ("
        + end + "); nothing was committed");
  }
}
