package dev.brook.client;

import dev.brook.client.serialization.Deserializer;
import dev.brook.proto.v1.Error;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.FetchPartition;
import dev.brook.proto.v1.FetchPartitionResult;
import dev.brook.proto.v1.FetchRequest;
import dev.brook.proto.v1.FetchServiceGrpc;
import dev.brook.proto.v1.FetchTopic;
import dev.brook.proto.v1.FetchTopicResult;
import dev.brook.proto.v1.ListOffsetsPartitionResult;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads records, like Kafka's KafkaConsumer: from partitions it is given ({@link #assign}), or as
 * a member of a consumer group ({@link #subscribe}), where the group's coordinator assigns
 * partitions incrementally and committed offsets ({@link #commitSync}, auto-commit) live in the
 * metadata quorum.
 *
 * <p>Threading: not thread-safe; one application thread calls everything except
 * {@link #wakeup}, which any thread may call. Fetching has no background thread: {@link #poll}
 * writes one Fetch per leader broker on that broker's long-lived stream (one in flight each),
 * and gRPC callback threads only put answers on a queue that poll drains. After poll has taken
 * records from the buffer it sends the next fetches before returning, so the broker works while
 * the application processes (prefetch); records beyond maxPollRecords stay buffered.
 *
 * <p>Groups: a subscribed consumer's membership ({@link GroupMembership}) heartbeats on its own
 * timer thread; each poll reconciles the assignment on the polling thread (rebalance listener,
 * auto-commit of revoked partitions, committed offsets of new ones) and reports what it owns.
 * Auto-commit commits, at the start of a poll, the positions after the records of the previous
 * one, so a record is committed only once the application had it (at-least-once).
 *
 * <p>Positions: a partition without a position (just assigned, after seekToBeginning/End, or an
 * OFFSET_OUT_OF_RANGE answer) is resolved by ListOffsets per the reset policy at the next poll
 * or position() call.
 */
public final class Consumer<K, V> implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Consumer.class);
  private static final Object WAKEUP = new Object();

  /** Per assigned partition, consumer thread only. */
  private static final class PartitionState {
    /** The next offset to return; null until resolved by the reset policy. */
    Long position;
    /** The policy to resolve a missing position with; null means the configured default. */
    ConsumerConfig.OffsetReset pendingReset;
    boolean paused;
    PartitionRecords buffered;
    /** No fetch before this time (after an error answer). */
    long retryAtMs;
    /** An OFFSET_OUT_OF_RANGE answer cleared the position: reported once the reset policy set a new one. */
    boolean outOfRange;
    long outOfRangeOffset;
    long outOfRangeLogStart;
    long outOfRangeHighWatermark;
  }

  private final ConsumerConfig config;
  private final Deserializer<K> keyDeserializer;
  private final Deserializer<V> valueDeserializer;
  private final ChannelPool channels;
  private final Metadata metadata;
  private final OffsetLookup offsets;
  private final LinkedBlockingQueue<Object> completed = new LinkedBlockingQueue<>();
  private final Map<String, FetchStream> streams = new HashMap<>();
  private final Map<String, Long> reconnectAtMs = new HashMap<>();
  private final LinkedHashMap<TopicPartition, PartitionState> assigned = new LinkedHashMap<>();
  private final AtomicBoolean wakeupRequested = new AtomicBoolean();
  private boolean closed;

  // Consumer groups (subscribe); consumer thread only, except what GroupMembership guards.
  private static final Object GROUP_CHANGED = new Object();
  private GroupMembership group;
  private GroupOffsets groupOffsets;
  private ConsumerRebalanceListener rebalanceListener;
  private Set<String> subscription = Set.of();
  private long lostHandled;
  /** Assigned by the group, position to come from the committed offset (not the reset policy). */
  private final Set<TopicPartition> awaitingCommitted = new LinkedHashSet<>();
  private long nextAutoCommitMs;
  /** subscribe(Pattern): the pattern, and when the topic list is read again. */
  private java.util.regex.Pattern subscribedPattern;
  private long nextPatternCheckMs;
  private static final long PATTERN_CHECK_INTERVAL_MS = 5000;

  public Consumer(ConsumerConfig config, Deserializer<K> keyDeserializer, Deserializer<V> valueDeserializer) {
    this.config = config;
    this.keyDeserializer = keyDeserializer;
    this.valueDeserializer = valueDeserializer;
    // A large per-stream window lets a long-poll answer of several MiB arrive without waiting
    // for window updates; the message limit must admit fetchMaxBytes plus framing.
    this.channels = new ChannelPool(config.channelFactory(), 16 << 20,
        (int) Math.min(Integer.MAX_VALUE, (long) config.fetchMaxBytes() + (4 << 20)));
    this.metadata = new Metadata(config.bootstrapServers(), channels, config.requestTimeoutMs(),
        config.retryBackoffMs(), false);
    metadata.startWatch();
    this.offsets = new OffsetLookup(metadata, channels, config.retryBackoffMs());
  }

  /** Reads exactly these partitions from now on (replacing any previous assignment). */
  public void assign(Collection<TopicPartition> partitions) {
    ensureOpen();
    if (group != null) throw new IllegalStateException("the consumer is subscribed; unsubscribe() before assign()");
    Set<TopicPartition> wanted = new LinkedHashSet<>(partitions);
    assigned.keySet().retainAll(wanted);
    for (TopicPartition tp : wanted) assigned.computeIfAbsent(tp, k -> new PartitionState());
  }

  /** Joins the consumer's group (ConsumerConfig.groupId) and consumes what it assigns. */
  public void subscribe(Collection<String> topics) {
    subscribe(topics, null);
  }

  /**
   * Joins the consumer's group (ConsumerConfig.groupId) subscribed to {@code topics}, replacing
   * a previous subscription: the group's coordinator assigns partitions, incrementally, and
   * {@code listener} (may be null) hears of every change on the polling thread. A partition's
   * position starts at the group's committed offset, else per autoOffsetReset. A topic that does
   * not exist yet is assigned once it is created.
   */
  public void subscribe(Collection<String> topics, ConsumerRebalanceListener listener) {
    ensureOpen();
    if (config.groupId() == null) throw new IllegalStateException("subscribe needs a group: set ConsumerConfig groupId");
    if (group == null && !assigned.isEmpty()) {
      throw new IllegalStateException("the consumer has assigned partitions; assign(List.of()) before subscribe()");
    }
    Set<String> wanted = new LinkedHashSet<>();
    for (String t : topics) {
      if (t == null || t.isBlank()) throw new IllegalArgumentException("a subscribed topic name is empty");
      wanted.add(t);
    }
    rebalanceListener = listener;
    subscribedPattern = null;
    subscription = Set.copyOf(wanted);
    if (group == null) {
      group = new GroupMembership(config.groupId(), java.util.UUID.randomUUID().toString(), config.groupInstanceId(),
          config.clientId(), config.groupRemoteAssignor(), config.maxPollIntervalMs(), metadata, channels,
          config.requestTimeoutMs(), config.retryBackoffMs(), () -> completed.add(GROUP_CHANGED));
      groupOffsets = new GroupOffsets(config.groupId(), metadata, channels, config.retryBackoffMs());
      nextAutoCommitMs = System.currentTimeMillis() + config.autoCommitIntervalMs();
    }
    group.subscribe(subscription);
  }

  /**
   * Joins the consumer's group subscribed to every topic whose whole name matches
   * {@code pattern}; the topic list is read again every 5 s, so topics created (or deleted)
   * later join (or leave) the subscription.
   */
  public void subscribe(java.util.regex.Pattern pattern, ConsumerRebalanceListener listener) {
    ensureOpen();
    java.util.Objects.requireNonNull(pattern, "pattern");
    subscribedPattern = pattern;
    subscribe(matching(pattern), listener);
    subscribedPattern = pattern; // subscribe(Collection) clears it
    nextPatternCheckMs = System.currentTimeMillis() + PATTERN_CHECK_INTERVAL_MS;
  }

  private Set<String> matching(java.util.regex.Pattern pattern) {
    Set<String> out = new java.util.TreeSet<>();
    try {
      for (dev.brook.proto.v1.TopicMetadata t : metadata.fetch(List.of(), config.requestTimeoutMs()).getTopicsList()) {
        if (pattern.matcher(t.getName()).matches()) out.add(t.getName());
      }
    } catch (BrookException e) {
      log.debug("topics for pattern {} not read: {}", pattern, e.getMessage());
      return subscription; // unchanged until the next check
    }
    return out;
  }

  /** The subscribed topics (empty when not subscribed). */
  public Set<String> subscription() {
    return subscription;
  }

  /** Leaves the group: its partitions are revoked (committed first with auto-commit) and released. */
  public void unsubscribe() {
    ensureOpen();
    if (group == null) return;
    releaseAll();
    group.close();
    group = null;
    subscription = Set.of();
    subscribedPattern = null;
  }

  private void releaseAll() {
    List<TopicPartition> all = List.copyOf(assigned.keySet());
    if (!all.isEmpty()) {
      if (config.enableAutoCommit()) commitQuietly(positions(all));
      listen(l -> l.onPartitionsRevoked(all));
    }
    assigned.clear();
    awaitingCommitted.clear();
  }

  /**
   * Brings the assignment in line with the group's: lost partitions are dropped (the listener's
   * onPartitionsLost), revoked ones committed (auto-commit) and released, new ones added with
   * their committed offsets; then what the consumer owns is reported to the coordinator.
   */
  private void reconcileGroup() {
    group.polled();
    if (subscribedPattern != null && System.currentTimeMillis() >= nextPatternCheckMs) {
      nextPatternCheckMs = System.currentTimeMillis() + PATTERN_CHECK_INTERVAL_MS;
      Set<String> now = matching(subscribedPattern);
      if (!now.equals(subscription)) {
        subscription = Set.copyOf(now);
        group.subscribe(subscription);
      }
    }
    GroupMembership.Snapshot s = group.snapshot();
    if (s.fatal() != null) throw s.fatal();
    if (s.lostCount() != lostHandled) {
      lostHandled = s.lostCount();
      List<TopicPartition> lost = List.copyOf(assigned.keySet());
      assigned.clear();
      awaitingCommitted.clear();
      if (!lost.isEmpty()) listen(l -> l.onPartitionsLost(lost));
    }
    Set<TopicPartition> target = s.assignment();
    List<TopicPartition> revoked = new ArrayList<>();
    for (TopicPartition tp : assigned.keySet()) {
      if (!target.contains(tp)) revoked.add(tp);
    }
    if (!revoked.isEmpty()) {
      if (config.enableAutoCommit()) commitQuietly(positions(revoked));
      listen(l -> l.onPartitionsRevoked(revoked));
      for (TopicPartition tp : revoked) {
        assigned.remove(tp);
        awaitingCommitted.remove(tp);
      }
    }
    List<TopicPartition> added = new ArrayList<>();
    List<TopicPartition> sortedTarget = new ArrayList<>(target);
    sortedTarget.sort(java.util.Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition));
    for (TopicPartition tp : sortedTarget) {
      if (!assigned.containsKey(tp)) {
        assigned.put(tp, new PartitionState());
        awaitingCommitted.add(tp);
        added.add(tp);
      }
    }
    loadCommitted();
    if (!added.isEmpty()) listen(l -> l.onPartitionsAssigned(added));
    group.owned(Set.copyOf(assigned.keySet()));
  }

  /** Positions from the group's committed offsets for partitions waiting for them; retried at the next poll on failure. */
  private void loadCommitted() {
    if (awaitingCommitted.isEmpty()) return;
    Map<TopicPartition, OffsetAndMetadata> committed;
    try {
      committed = groupOffsets.fetch(Set.copyOf(awaitingCommitted), config.requestTimeoutMs());
    } catch (BrookException e) {
      if (e.code() == ErrorCode.INVALID_GROUP_ID) throw e;
      log.debug("committed offsets of group {} not read yet: {}", config.groupId(), e.getMessage());
      return;
    }
    for (TopicPartition tp : awaitingCommitted) {
      PartitionState st = assigned.get(tp);
      OffsetAndMetadata o = committed.get(tp);
      if (st != null && o != null) st.position = o.offset(); // else: the reset policy, as a partition without a position
    }
    awaitingCommitted.clear();
  }

  private void listen(java.util.function.Consumer<ConsumerRebalanceListener> call) {
    if (rebalanceListener == null) return;
    call.accept(rebalanceListener); // the application's exception ends this poll, as in Kafka
  }

  /** The current positions of {@code tps} that have one, as offsets to commit. */
  private Map<TopicPartition, OffsetAndMetadata> positions(Collection<TopicPartition> tps) {
    Map<TopicPartition, OffsetAndMetadata> out = new LinkedHashMap<>();
    for (TopicPartition tp : tps) {
      PartitionState st = assigned.get(tp);
      if (st != null && st.position != null) out.put(tp, new OffsetAndMetadata(st.position));
    }
    return out;
  }

  private void commitQuietly(Map<TopicPartition, OffsetAndMetadata> offsets) {
    try {
      groupOffsets.commit(offsets, group, config.requestTimeoutMs());
    } catch (BrookException e) {
      log.warn("group {}: committing {} offsets failed: {}", config.groupId(), offsets.size(), e.getMessage());
    }
  }

  /**
   * Commits the positions of every assigned partition (the offsets after the records the last
   * poll returned), waiting until they are durable.
   *
   * @throws BrookException FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID / PARTITION_NOT_OWNED when the
   *     partitions were taken from this consumer, or the last error after requestTimeoutMs
   */
  public void commitSync() {
    ensureGroup();
    groupOffsets.commit(positions(assigned.keySet()), group, config.requestTimeoutMs());
  }

  /** Commits the given offsets, waiting until they are durable (see {@link #commitSync()}). */
  public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets) {
    ensureGroup();
    groupOffsets.commit(Map.copyOf(offsets), group, config.requestTimeoutMs());
  }

  /**
   * Commits the positions of every assigned partition without waiting; {@code callback} (may be
   * null) hears the outcome on the polling thread, during a later poll.
   */
  public void commitAsync(java.util.function.BiConsumer<Map<TopicPartition, OffsetAndMetadata>, BrookException> callback) {
    ensureGroup();
    Map<TopicPartition, OffsetAndMetadata> offsets = positions(assigned.keySet());
    GroupMembership g = group;
    java.util.concurrent.CompletableFuture.runAsync(() -> {
      BrookException error = null;
      try {
        groupOffsets.commit(offsets, g, config.requestTimeoutMs());
      } catch (BrookException e) {
        error = e;
      } catch (RuntimeException e) {
        error = new BrookException(ErrorCode.UNKNOWN_SERVER_ERROR, "commit failed: " + e, e);
      }
      BrookException failed = error;
      if (callback != null) completed.add((Runnable) () -> callback.accept(offsets, failed));
      else if (failed != null) log.warn("group {}: async commit failed: {}", config.groupId(), failed.getMessage());
    });
  }

  /** The group's committed offsets of {@code tps}; a partition without one is absent. */
  public Map<TopicPartition, OffsetAndMetadata> committed(Set<TopicPartition> tps) {
    ensureOpen();
    if (config.groupId() == null) throw new IllegalStateException("committed offsets need a group: set ConsumerConfig groupId");
    GroupOffsets o = groupOffsets != null ? groupOffsets
        : new GroupOffsets(config.groupId(), metadata, channels, config.retryBackoffMs());
    return o.fetch(Set.copyOf(tps), config.requestTimeoutMs());
  }

  private void ensureGroup() {
    ensureOpen();
    if (group == null) throw new IllegalStateException("commits need a subscribed consumer (subscribe first)");
  }

  public Set<TopicPartition> assignment() {
    return Set.copyOf(assigned.keySet());
  }

  /** The next poll returns records from {@code offset} of {@code tp} on. */
  public void seek(TopicPartition tp, long offset) {
    if (offset < 0) throw new IllegalArgumentException("offset must be >= 0, got " + offset);
    PartitionState s = state(tp);
    awaitingCommitted.remove(tp); // an explicit position wins over the committed offset
    s.position = offset;
    s.pendingReset = null;
    s.buffered = null;
    s.retryAtMs = 0;
    s.outOfRange = false;
  }

  /** Seeks to the log start of the partitions (all assigned ones when empty), lazily. */
  public void seekToBeginning(Collection<TopicPartition> tps) {
    resetLazily(tps, ConsumerConfig.OffsetReset.EARLIEST);
  }

  /** Seeks to the high watermark of the partitions (all assigned ones when empty), lazily. */
  public void seekToEnd(Collection<TopicPartition> tps) {
    resetLazily(tps, ConsumerConfig.OffsetReset.LATEST);
  }

  private void resetLazily(Collection<TopicPartition> tps, ConsumerConfig.OffsetReset how) {
    for (TopicPartition tp : tps.isEmpty() ? List.copyOf(assigned.keySet()) : tps) {
      PartitionState s = state(tp);
      awaitingCommitted.remove(tp);
      s.position = null;
      s.pendingReset = how;
      s.buffered = null;
      s.outOfRange = false;
    }
  }

  /** The offset of the next record poll will return for {@code tp}, resolving a reset if needed. */
  public long position(TopicPartition tp) {
    PartitionState s = state(tp);
    if (awaitingCommitted.contains(tp)) loadCommitted();
    if (awaitingCommitted.contains(tp)) {
      throw new BrookException(ErrorCode.COORDINATOR_NOT_AVAILABLE, "the committed offset of " + tp + " cannot be read yet");
    }
    if (s.position == null) resolvePositions(List.of(tp));
    return s.position;
  }

  public void pause(Collection<TopicPartition> tps) {
    for (TopicPartition tp : tps) state(tp).paused = true;
  }

  public void resume(Collection<TopicPartition> tps) {
    for (TopicPartition tp : tps) state(tp).paused = false;
  }

  public Set<TopicPartition> paused() {
    Set<TopicPartition> out = new LinkedHashSet<>();
    assigned.forEach((tp, s) -> {
      if (s.paused) out.add(tp);
    });
    return out;
  }

  /**
   * Returns the records available now, or waits up to {@code timeout} for some: at most
   * maxPollRecords, in offset order per partition.
   *
   * @throws WakeupException when {@link #wakeup} was called
   * @throws BrookException on OFFSET_OUT_OF_RANGE with reset policy "none", or a non-retriable
   *     fetch error
   */
  public ConsumerRecords<K, V> poll(Duration timeout) {
    ensureOpen();
    long deadline = System.currentTimeMillis() + Math.max(0, timeout.toMillis());
    boolean first = true;
    while (true) {
      checkWakeup();
      Object c;
      while ((c = completed.poll()) != null) handle(c);
      if (group != null) {
        if (first && config.enableAutoCommit() && System.currentTimeMillis() >= nextAutoCommitMs) {
          // The positions after the records the previous poll returned: at-least-once.
          nextAutoCommitMs = System.currentTimeMillis() + config.autoCommitIntervalMs();
          commitAsync(null);
        }
        reconcileGroup();
      }
      first = false;
      resolvePositions(missingPositions());
      ConsumerRecords<K, V> records = drainBuffered();
      long now = System.currentTimeMillis();
      sendFetches(now);
      if (!records.isEmpty()) return records;
      long remaining = deadline - now;
      if (remaining <= 0) return ConsumerRecords.empty();
      // Wake up for the next fetch timeout check or partition backoff at the latest.
      long wait = Math.min(remaining, Math.max(1, config.retryBackoffMs()));
      if (!streams.isEmpty()) wait = remaining;
      for (PartitionState s : assigned.values()) {
        if (s.retryAtMs > now) wait = Math.min(wait, s.retryAtMs - now);
      }
      wait = Math.min(wait, config.fetchMaxWaitMs() + config.requestTimeoutMs());
      try {
        c = completed.poll(Math.max(1, wait), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new WakeupException();
      }
      if (c != null) handle(c);
    }
  }

  /** Makes a blocked (or the next) poll throw {@link WakeupException}. Any thread. */
  public void wakeup() {
    wakeupRequested.set(true);
    completed.add(WAKEUP);
  }

  private void checkWakeup() {
    if (wakeupRequested.getAndSet(false)) throw new WakeupException();
  }

  private void handle(Object c) {
    if (c == WAKEUP) {
      checkWakeup();
      return;
    }
    if (c == GROUP_CHANGED) return; // the loop reconciles the assignment next
    if (c instanceof Runnable r) {
      r.run(); // an async commit's callback
      return;
    }
    FetchStream.Completed done = (FetchStream.Completed) c;
    long now = System.currentTimeMillis();
    if (done.response() == null) {
      log.debug("fetch stream to {} failed: {}", done.stream().address, Status.fromThrowable(done.error()));
      if (streams.get(done.stream().address) == done.stream()) {
        streams.remove(done.stream().address);
        reconnectAtMs.put(done.stream().address, now + config.retryBackoffMs());
      }
      if (done.pending() != null) {
        for (TopicPartition tp : done.pending().offsets().keySet()) metadata.requestRefresh(tp.topic());
      }
      return;
    }
    BrookException toThrow = null;
    for (FetchTopicResult t : done.response().getTopicsList()) {
      for (FetchPartitionResult p : t.getPartitionsList()) {
        TopicPartition tp = new TopicPartition(t.getTopic(), p.getPartition());
        PartitionState s = assigned.get(tp);
        Long asked = done.pending().offsets().get(tp);
        // Ignore answers for partitions unassigned, paused or moved (seek) since the fetch left.
        if (s == null || asked == null || s.paused || s.position == null || !asked.equals(s.position)) continue;
        BrookException e = handlePartition(tp, s, p, now);
        if (e != null && toThrow == null) toThrow = e;
      }
    }
    if (toThrow != null) throw toThrow;
  }

  private BrookException handlePartition(TopicPartition tp, PartitionState s, FetchPartitionResult p, long now) {
    Error error = p.getError();
    switch (error.getCode()) {
      case NONE:
        if (!p.getRecords().isEmpty()) s.buffered = new PartitionRecords(tp, p.getRecords(), s.position);
        return null;
      case OFFSET_OUT_OF_RANGE:
        if (config.autoOffsetReset() == ConsumerConfig.OffsetReset.NONE) {
          return new BrookException(ErrorCode.OFFSET_OUT_OF_RANGE, "partition " + tp + ": offset " + s.position
              + " is out of range [" + p.getLogStartOffset() + ", " + p.getHighWatermark()
              + "] and the reset policy is none (seek to a valid offset)");
        }
        // Reset per the policy at the next poll, and say so once the new position is known.
        s.outOfRange = true;
        s.outOfRangeOffset = s.position;
        s.outOfRangeLogStart = p.getLogStartOffset();
        s.outOfRangeHighWatermark = p.getHighWatermark();
        s.position = null;
        s.pendingReset = null;
        return null;
      case NOT_LEADER:
        metadata.applyLeaderHint(tp, error.getLeaderId(), error.getLeaderAddress());
        metadata.requestRefresh(tp.topic());
        if (error.getLeaderAddress().isEmpty()) s.retryAtMs = now + config.retryBackoffMs();
        return null;
      default:
        BrookException e = BrookException.of(error, "fetch " + tp);
        if (!e.retriable()) return e;
        log.debug("retrying fetch of {}: {}", tp, e.getMessage());
        if (BrookException.invalidatesMetadata(error.getCode())) metadata.requestRefresh(tp.topic());
        s.retryAtMs = now + config.retryBackoffMs();
        return null;
    }
  }

  private ConsumerRecords<K, V> drainBuffered() {
    Map<TopicPartition, List<ConsumerRecord<K, V>>> out = null;
    int count = 0;
    for (Map.Entry<TopicPartition, PartitionState> e : assigned.entrySet()) {
      PartitionState s = e.getValue();
      if (s.buffered == null || s.paused) continue;
      if (count < config.maxPollRecords()) {
        List<ConsumerRecord<K, V>> list = new ArrayList<>(Math.min(64, config.maxPollRecords() - count));
        count += s.buffered.drain(config.maxPollRecords() - count, keyDeserializer, valueDeserializer, list);
        s.position = s.buffered.nextOffset();
        if (!list.isEmpty()) {
          if (out == null) out = ConsumerRecords.newMap();
          out.put(e.getKey(), list);
        }
      }
      if (s.buffered.isDrained()) s.buffered = null;
    }
    if (out != null) rotate(out.keySet());
    return out == null ? ConsumerRecords.empty() : new ConsumerRecords<>(out, count);
  }

  /** Moves partitions that just returned records to the back, so no partition starves. */
  private void rotate(Set<TopicPartition> served) {
    if (served.size() == assigned.size()) return;
    for (TopicPartition tp : served) {
      PartitionState s = assigned.remove(tp);
      assigned.put(tp, s);
    }
  }

  private void sendFetches(long now) {
    checkFetchTimeouts(now);
    Map<String, Map<TopicPartition, PartitionInfo>> byLeader = new LinkedHashMap<>();
    for (Map.Entry<TopicPartition, PartitionState> e : assigned.entrySet()) {
      PartitionState s = e.getValue();
      if (s.paused || s.position == null || s.buffered != null || s.retryAtMs > now) continue;
      TopicPartition tp = e.getKey();
      PartitionInfo p = metadata.partition(tp);
      if (p == null) {
        try {
          p = metadata.awaitTopic(tp.topic(), config.requestTimeoutMs(), true, false).partition(tp.partition());
        } catch (BrookException ex) {
          log.debug("no metadata for {}: {}", tp, ex.getMessage());
          s.retryAtMs = now + config.retryBackoffMs();
          continue;
        }
      }
      if (p == null || p.leaderAddress() == null) {
        metadata.requestRefresh(tp.topic());
        s.retryAtMs = now + config.retryBackoffMs();
        continue;
      }
      byLeader.computeIfAbsent(p.leaderAddress(), a -> new LinkedHashMap<>()).put(tp, p);
    }
    for (Map.Entry<String, Map<TopicPartition, PartitionInfo>> e : byLeader.entrySet()) {
      FetchStream stream = stream(e.getKey(), now);
      if (stream == null || stream.hasPending()) continue;
      FetchRequest.Builder req = FetchRequest.newBuilder()
          .setMaxWaitMs(config.fetchMaxWaitMs())
          .setMinBytes(config.fetchMinBytes())
          .setMaxBytes(config.fetchMaxBytes())
          .setIsolationLevel(config.isolationLevel())
          .setClientId(config.clientId());
      Map<String, FetchTopic.Builder> topics = new LinkedHashMap<>();
      Map<TopicPartition, Long> asked = new HashMap<>();
      for (Map.Entry<TopicPartition, PartitionInfo> pe : e.getValue().entrySet()) {
        TopicPartition tp = pe.getKey();
        long position = assigned.get(tp).position;
        asked.put(tp, position);
        topics.computeIfAbsent(tp.topic(), t -> FetchTopic.newBuilder().setTopic(t))
            .addPartitions(FetchPartition.newBuilder()
                .setPartition(tp.partition())
                .setFetchOffset(position)
                .setPartitionMaxBytes(config.maxPartitionFetchBytes())
                .setCurrentLeaderEpoch(pe.getValue().leaderEpoch()));
      }
      topics.values().forEach(req::addTopics);
      stream.send(req, asked, now);
    }
  }

  private FetchStream stream(String address, long now) {
    FetchStream s = streams.get(address);
    if (s != null && !s.isDead()) return s;
    Long at = reconnectAtMs.get(address);
    if (at != null && at > now) return null;
    reconnectAtMs.remove(address);
    s = new FetchStream(address, completed);
    try {
      s.start(FetchServiceGrpc.newStub(channels.get(address)));
    } catch (RuntimeException e) {
      reconnectAtMs.put(address, now + config.retryBackoffMs());
      return null;
    }
    streams.put(address, s);
    return s;
  }

  /** A fetch unanswered past maxWait + requestTimeout means a stuck stream: cancel and reconnect. */
  private void checkFetchTimeouts(long now) {
    for (Iterator<FetchStream> it = streams.values().iterator(); it.hasNext(); ) {
      FetchStream s = it.next();
      FetchStream.Pending p = s.pending();
      if (p != null && now - p.sentMs() > config.fetchMaxWaitMs() + config.requestTimeoutMs()) {
        log.debug("fetch to {} unanswered for {} ms, reconnecting", s.address, now - p.sentMs());
        s.cancel("fetch timed out");
      }
    }
  }

  private List<TopicPartition> missingPositions() {
    List<TopicPartition> out = null;
    for (Map.Entry<TopicPartition, PartitionState> e : assigned.entrySet()) {
      if (e.getValue().position == null && !awaitingCommitted.contains(e.getKey())) {
        if (out == null) out = new ArrayList<>();
        out.add(e.getKey());
      }
    }
    return out == null ? List.of() : out;
  }

  /** Sets positions of {@code tps} by their pending reset or the configured policy (ListOffsets). */
  private void resolvePositions(List<TopicPartition> tps) {
    if (tps.isEmpty()) return;
    Map<TopicPartition, Long> specs = new LinkedHashMap<>();
    for (TopicPartition tp : tps) {
      PartitionState s = assigned.get(tp);
      ConsumerConfig.OffsetReset how = s.pendingReset != null ? s.pendingReset : config.autoOffsetReset();
      if (how == ConsumerConfig.OffsetReset.NONE) {
        throw new BrookException(ErrorCode.OFFSET_OUT_OF_RANGE,
            "no position for " + tp + " and autoOffsetReset is none: seek() first");
      }
      specs.put(tp, how == ConsumerConfig.OffsetReset.EARLIEST ? OffsetLookup.EARLIEST : OffsetLookup.LATEST);
    }
    Map<TopicPartition, ListOffsetsPartitionResult> found = offsets.list(specs, config.requestTimeoutMs());
    for (Map.Entry<TopicPartition, ListOffsetsPartitionResult> e : found.entrySet()) {
      PartitionState s = assigned.get(e.getKey());
      if (s == null || s.position != null) continue;
      ConsumerConfig.OffsetReset how = s.pendingReset != null ? s.pendingReset : config.autoOffsetReset();
      s.position = e.getValue().getOffset();
      s.pendingReset = null;
      if (s.outOfRange) {
        OffsetResetEvent event = new OffsetResetEvent(e.getKey(), s.outOfRangeOffset, s.outOfRangeLogStart,
            s.outOfRangeHighWatermark, how, s.position);
        s.outOfRange = false;
        reportReset(event);
      }
    }
  }

  private void reportReset(OffsetResetEvent event) {
    java.util.function.Consumer<OffsetResetEvent> listener = config.offsetResetListener();
    if (listener == null) {
      log.warn("{}", event.describe());
      return;
    }
    try {
      listener.accept(event);
    } catch (RuntimeException ex) {
      log.warn("{} (the offset reset listener failed: {})", event.describe(), ex.toString());
    }
  }

  /**
   * The partitions of {@code topic}; fails with UNKNOWN_TOPIC_OR_PARTITION when it does not exist.
   * Unreachable brokers are retried for up to requestTimeoutMs.
   */
  public List<PartitionInfo> partitionsFor(String topic) {
    ensureOpen();
    return metadata.awaitTopic(topic, config.requestTimeoutMs(), false, false, false).partitions();
  }

  /**
   * The partitions of {@code topic}, waiting at most {@code timeout} for a broker to answer.
   * Fails with UNKNOWN_TOPIC_OR_PARTITION as soon as a broker says the topic does not exist, and
   * with a transport {@link BrookException} ("cannot reach any bootstrap server (...): connection
   * refused") as soon as every address refuses the connection, or when no broker answered within
   * the timeout (a broker that is starting or slow is waited for).
   */
  public List<PartitionInfo> partitionsFor(String topic, Duration timeout) {
    ensureOpen();
    return metadata.awaitTopic(topic, Math.max(1, timeout.toMillis()), false, false, true).partitions();
  }

  /** The log start offset of each partition. */
  public Map<TopicPartition, Long> beginningOffsets(Collection<TopicPartition> tps) {
    return offsetsOf(tps, OffsetLookup.EARLIEST);
  }

  /** The high watermark (the offset the next visible record will get) of each partition. */
  public Map<TopicPartition, Long> endOffsets(Collection<TopicPartition> tps) {
    return offsetsOf(tps, OffsetLookup.LATEST);
  }

  private Map<TopicPartition, Long> offsetsOf(Collection<TopicPartition> tps, long spec) {
    ensureOpen();
    Map<TopicPartition, ListOffsetsPartitionResult> found =
        offsets.list(OffsetLookup.allWith(tps, spec), config.requestTimeoutMs());
    Map<TopicPartition, Long> out = new LinkedHashMap<>();
    for (TopicPartition tp : tps) out.put(tp, found.get(tp).getOffset());
    return out;
  }

  /**
   * For each partition, the first offset whose timestamp is at or after the given time, or null
   * when there is none.
   */
  public Map<TopicPartition, OffsetAndTimestamp> offsetsForTimes(Map<TopicPartition, Long> timestamps) {
    ensureOpen();
    for (Long ts : timestamps.values()) {
      if (ts == null || ts < 0) throw new IllegalArgumentException("timestamps must be >= 0, got " + ts);
    }
    Map<TopicPartition, ListOffsetsPartitionResult> found = offsets.list(timestamps, config.requestTimeoutMs());
    Map<TopicPartition, OffsetAndTimestamp> out = new LinkedHashMap<>();
    for (TopicPartition tp : timestamps.keySet()) {
      ListOffsetsPartitionResult r = found.get(tp);
      out.put(tp, r == null || r.getOffset() < 0 ? null : new OffsetAndTimestamp(r.getOffset(), r.getTimestamp()));
    }
    return out;
  }

  @Override
  public void close() {
    if (closed) return;
    if (group != null) {
      try {
        releaseAll();
      } catch (RuntimeException e) {
        log.warn("group {}: releasing partitions on close failed: {}", config.groupId(), e.toString());
      }
      group.close(); // leaves the group at once
      group = null;
    }
    closed = true;
    for (FetchStream s : streams.values()) s.cancel("consumer closed");
    streams.clear();
    metadata.close();
    channels.close();
  }

  private PartitionState state(TopicPartition tp) {
    ensureOpen();
    PartitionState s = assigned.get(tp);
    if (s == null) throw new IllegalStateException("partition " + tp + " is not assigned to this consumer");
    return s;
  }

  private void ensureOpen() {
    if (closed) throw new IllegalStateException("the consumer is closed");
  }
}
