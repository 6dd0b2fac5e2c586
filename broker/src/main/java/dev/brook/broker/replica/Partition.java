package dev.brook.broker.replica;

import dev.brook.broker.log.AppendResult;
import dev.brook.broker.log.LogConfig;
import dev.brook.broker.log.LogException;
import dev.brook.broker.log.PartitionLog;
import dev.brook.broker.log.ReadResult;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.quorum.PartitionImage;
import java.io.IOException;
import dev.brook.protocol.TopicConfig;
import java.util.List;
import java.util.Map;

/**
 * One partition replica hosted on this broker: its log plus the leadership state from the
 * metadata quorum and the high watermark.
 *
 * <p>Threading: appends are serialized by {@code appendLock} (one writer per log, as
 * {@link PartitionLog} requires). Reads take no lock: they read the log below the volatile
 * {@link #highWatermark()}. Leadership state is replaced whole (an immutable
 * {@link PartitionImage}) by the metadata thread.
 *
 * <p>Invariants: the high watermark never exceeds the log end offset and never moves backwards
 * while this replica leads; a batch is appended only when this broker is the leader named by
 * the current image, stamped with that image's leader epoch. With the in-sync set being this
 * broker alone the high watermark is the log end offset; follower replication (next issues)
 * raises it to the minimum log end offset over the ISR.
 */
public final class Partition {
  private final String topic;
  private final int index;
  private final String topicId;
  private final int localNodeId;
  private final PartitionLog log;
  private final Waiters highWatermarkWaiters = new Waiters();
  private final Object appendLock = new Object();
  private volatile PartitionImage state;
  private volatile TopicSettings settings;
  private volatile long highWatermark;

  /** A topic's effective configuration, and what the partition derives from it. */
  record TopicSettings(Map<String, String> effective, LogConfig logConfig, int minInsyncReplicas) {
    static TopicSettings of(Map<String, String> effective) {
      return new TopicSettings(Map.copyOf(effective), LogConfig.from(effective),
          Integer.parseInt(effective.get(TopicConfig.MIN_INSYNC_REPLICAS)));
    }
  }

  Partition(String topic, int index, String topicId, int localNodeId, PartitionLog log,
      PartitionImage state, TopicSettings settings) {
    this.topic = topic;
    this.index = index;
    this.topicId = topicId;
    this.localNodeId = localNodeId;
    this.log = log;
    this.state = state;
    this.settings = settings;
    this.highWatermark = log.logEndOffset();
  }

  public String topic() { return topic; }
  public int index() { return index; }
  public String topicId() { return topicId; }
  public PartitionImage state() { return state; }
  /** min.insync.replicas of the topic: the smallest ISR with which acks=all is accepted. */
  public int minInsyncReplicas() { return settings.minInsyncReplicas(); }
  public PartitionLog log() { return log; }
  public long highWatermark() { return highWatermark; }
  public boolean isLeader() { return state.leaderId() == localNodeId; }

  /**
   * Appends the batches of one produce request as leader and returns where they landed.
   *
   * @param acksAll whether the producer asked for acks=all: then the in-sync set must have at
   *     least min.insync.replicas members, checked before anything is written
   */
  public AppendResult appendAsLeader(List<RecordBatch> batches, boolean acksAll)
      throws PartitionException, LogException {
    synchronized (appendLock) {
      PartitionImage s = state;
      int minInsyncReplicas = settings.minInsyncReplicas();
      if (s.leaderId() != localNodeId) {
        throw new PartitionException(ErrorCode.NOT_LEADER,
            "broker " + localNodeId + " is not the leader of " + this);
      }
      if (acksAll && s.isr().size() < minInsyncReplicas) {
        throw new PartitionException(ErrorCode.NOT_ENOUGH_REPLICAS, "the in-sync replica set of " + this + " has "
            + s.isr().size() + " members, min.insync.replicas is " + minInsyncReplicas);
      }
      AppendResult result = log.append(batches, s.leaderEpoch());
      maybeAdvanceHighWatermark(s);
      return result;
    }
  }

  // Called with appendLock held (or from the metadata thread on leadership changes).
  private void maybeAdvanceHighWatermark(PartitionImage s) {
    if (s.isr().size() == 1 && s.isr().get(0) == localNodeId) {
      long end = log.logEndOffset();
      if (end > highWatermark) {
        highWatermark = end;
        highWatermarkWaiters.fire();
      }
    }
  }

  /** Reads committed data (below the high watermark), see {@link PartitionLog#read}. */
  public ReadResult read(long fetchOffset, int maxBytes) throws LogException {
    return log.read(fetchOffset, maxBytes, highWatermark);
  }

  /**
   * Runs {@code callback} once, the next time the high watermark moves or leadership changes.
   * Callers re-check their condition after registering (see {@link Waiters}).
   */
  public void awaitHighWatermarkChange(Runnable callback) {
    highWatermarkWaiters.add(callback);
  }

  public void cancelAwait(Runnable callback) {
    highWatermarkWaiters.remove(callback);
  }

  /** Applies a new assignment from the metadata image (metadata thread only). */
  void update(PartitionImage newState, Map<String, String> effectiveConfig) {
    synchronized (appendLock) {
      state = newState;
      if (!effectiveConfig.equals(settings.effective())) {
        settings = TopicSettings.of(effectiveConfig);
        log.updateConfig(settings.logConfig());
      }
      maybeAdvanceHighWatermark(newState);
    }
    // Waiting fetches re-evaluate: they may now be answered NOT_LEADER.
    highWatermarkWaiters.fire();
  }

  void close() throws IOException {
    highWatermarkWaiters.fire();
    synchronized (appendLock) {
      log.close();
    }
  }

  void delete() throws IOException {
    highWatermarkWaiters.fire();
    synchronized (appendLock) {
      log.delete();
    }
  }

  @Override
  public String toString() {
    return topic + "-" + index;
  }
}
