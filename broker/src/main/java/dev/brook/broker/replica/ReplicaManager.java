package dev.brook.broker.replica;

import dev.brook.broker.log.PartitionLog;
import dev.brook.protocol.TopicConfig;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.quorum.AlterPartitionRequest;
import dev.brook.quorum.AlterPartitionResult;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataClient;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.TopicImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The partitions this broker hosts, kept in step with the metadata image.
 *
 * <p>Threading: {@link #onImage} runs on the metadata notifier thread, one image at a time; it
 * builds a new immutable partition table and publishes it through a volatile, together with the
 * image it reflects. Request handlers read the table without locks and never see a half-applied
 * image.
 *
 * <p>On disk, each hosted partition is a directory {@code <data.dir>/logs/<topic>-<partition>}
 * holding its segments and a {@code partition.metadata} file with the topic id, so that a topic
 * deleted and re-created under the same name never reuses the old data.
 *
 * <p>Replication: for every hosted partition the image names another broker as leader of, the
 * {@link ReplicaFetcherManager} fetches from that broker (one stream per leader broker for all
 * such partitions); for every partition this broker leads, the {@link Partition} tracks its
 * followers and asks the quorum for ISR changes through {@link MetadataClient#alterPartition},
 * whose answers are handled on a dedicated thread (they complete acks=all produces). A task
 * every half {@code replica.lag.time.max.ms} removes lagging followers from ISRs.
 */
public final class ReplicaManager implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicaManager.class);
  private static final String METADATA_FILE = "partition.metadata";

  /** What request handlers read: the image, the partitions hosted under it, and those that failed to open. */
  private record Table(MetadataImage image, Map<String, Partition[]> partitions, Map<String, Offline> offline) {}

  /**
   * A partition assigned to this broker whose log could not be opened: why, and whether recovery
   * found damage it could not repair (see {@link dev.brook.broker.log.DamagedLogException}).
   */
  public record Offline(String reason, boolean damaged, String topicId) {}

  private final int nodeId;
  private final Path logDir;
  private final Map<String, String> topicDefaults;
  private final LongSupplier clock;
  private final ReplicationConfig replication;
  private final MetadataClient metadata;
  private final LongSupplier brokerEpoch;
  private final ReplicaFetcherManager fetchers;
  private final ExecutorService isrCallbacks;
  private final Partition.ReplicationContext context = new Context();
  private volatile Table table;
  /**
   * Whether images are applied only from this broker's registration on (a broker in a cluster;
   * see {@link #onImage}). Without an epoch source (tests, tools) every image is applied.
   */
  private final boolean awaitsRegistration;
  // Guarded by this (onImage and close).
  /** Set once an image at or after this broker's registration was seen; never reset. */
  private boolean caughtUp;
  private boolean closed;
  private boolean strayCheckDone;
  private volatile LogScrubber scrubber;
  private volatile ScheduledExecutorService scheduler;
  private final ConcurrentLinkedQueue<ImageWaiter> imageWaiters = new ConcurrentLinkedQueue<>();

  private record ImageWaiter(Predicate<MetadataImage> condition, CompletableFuture<MetadataImage> future) {}

  /** A replica manager that cannot change ISRs (no quorum client): single-broker use and tests. */
  public ReplicaManager(int nodeId, Path dataDir, Map<String, String> topicDefaults, LongSupplier clock)
      throws IOException {
    this(nodeId, dataDir, topicDefaults, clock, ReplicationConfig.defaults(), null, null);
  }

  /**
   * @param replication replication settings (replica.lag.time.max.ms, fetch sizes and waits)
   * @param metadata where ISR changes are sent; null disables them
   * @param brokerEpoch this broker's current broker epoch (from its latest registration), sent
   *     with follower fetches and ISR changes; null reads it from the image
   */
  public ReplicaManager(int nodeId, Path dataDir, Map<String, String> topicDefaults, LongSupplier clock,
      ReplicationConfig replication, MetadataClient metadata, LongSupplier brokerEpoch) throws IOException {
    this.nodeId = nodeId;
    this.logDir = dataDir.resolve("logs");
    this.topicDefaults = Map.copyOf(topicDefaults);
    this.clock = clock;
    this.replication = replication;
    this.metadata = metadata;
    this.brokerEpoch = brokerEpoch != null ? brokerEpoch : this::brokerEpochFromImage;
    this.awaitsRegistration = brokerEpoch != null;
    this.fetchers = new ReplicaFetcherManager(nodeId, this.brokerEpoch, replication);
    this.isrCallbacks = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "brook-isr-changes-" + nodeId);
      t.setDaemon(true);
      return t;
    });
    Files.createDirectories(logDir);
    this.table = new Table(null, Map.of(), Map.of());
  }

  /** The image the partition table reflects, or null before the first one. */
  public MetadataImage image() {
    return table.image();
  }

  /** The hosted replica of {@code topic}-{@code partition}, or null. */
  public Partition partition(String topic, int partition) {
    Partition[] ps = table.partitions().get(topic);
    if (ps == null || partition < 0 || partition >= ps.length) return null;
    return ps[partition];
  }

  /** Why {@code topic}-{@code partition} is assigned here but offline, or null. */
  public Offline offline(String topic, int partition) {
    return table.offline().get(topic + "-" + partition);
  }

  /** Every hosted replica. */
  public List<Partition> partitions() {
    List<Partition> out = new ArrayList<>();
    for (Partition[] ps : table.partitions().values()) {
      for (Partition p : ps) {
        if (p != null) out.add(p);
      }
    }
    return out;
  }

  /** The effective log settings of a topic: its overrides over the broker defaults. */
  public Map<String, String> effectiveConfig(TopicImage topic) {
    return TopicConfig.effective(topic.configs(), topicDefaults);
  }

  /** Completes once an image satisfying {@code condition} has been applied here. */
  public CompletableFuture<MetadataImage> awaitImage(Predicate<MetadataImage> condition) {
    CompletableFuture<MetadataImage> f = new CompletableFuture<>();
    ImageWaiter w = new ImageWaiter(condition, f);
    imageWaiters.add(w);
    MetadataImage current = table.image();
    if (current != null && condition.test(current)) {
      imageWaiters.remove(w);
      f.complete(current);
    }
    return f;
  }

  /**
   * Brings the hosted partitions in line with {@code image}: deletes the logs of partitions that
   * are gone, then opens (or recovers) the logs of new assignments and applies leadership and
   * config changes. Metadata notifier thread only.
   *
   * <p>Invariants that protect data: an image that is not a real cluster state yet (no cluster
   * id: the quorum has not answered) is ignored, since it would read as "no topics"; retired
   * partitions are deleted before new ones are opened, because a topic re-created under the same
   * name reuses the directory name; a directory whose log fails to open is never deleted.
   *
   * <p>Catching up first (as a Kafka broker does before it serves): a restarting broker's first
   * images come from its own, possibly stale, copy of the metadata, which may still name it leader
   * in an epoch that another broker has led since. Acting on it would let this broker acknowledge
   * acks=1 writes the cluster has already moved past. So, until an image at or after this broker's
   * current registration arrives (its broker epoch is the Raft index of that registration, and the
   * registration took away every leadership of an earlier incarnation), images are not applied.
   * The image that unfences the broker always comes after its registration, so nothing waits long.
   */
  public synchronized void onImage(MetadataImage image) {
    if (closed) return;
    if (image.clusterId() == null || image.version() <= 0) {
      LOG.debug("ignoring metadata image {}: not a cluster state yet", image.version());
      return;
    }
    if (awaitsRegistration && !caughtUp) {
      long epoch = brokerEpoch.getAsLong();
      if (epoch < 0 || image.version() < epoch) {
        LOG.debug("not applying metadata image {} yet: it predates this broker's registration (epoch {})",
            image.version(), epoch);
        return;
      }
      caughtUp = true;
      LOG.info("metadata caught up with this broker's registration (broker epoch {}, image {}): taking on partitions",
          epoch, image.version());
    }
    Map<Integer, LeaderReplicaState.BrokerStatus> brokers = brokerStatuses(image);
    Map<String, Partition[]> old = table.partitions();
    // 1. Retire what the image no longer gives this broker: deleted or re-created topics,
    //    replicas moved away.
    for (Partition[] ps : old.values()) {
      for (Partition p : ps) {
        if (p != null && !stillHosted(image, p)) deleteQuietly(p);
      }
    }
    // 2. Open new assignments, update the rest.
    Map<String, Partition[]> next = new HashMap<>();
    Set<String> failedDirs = new HashSet<>();
    Map<String, Offline> offline = new HashMap<>();
    for (TopicImage topic : image.topics().values()) {
      Map<String, String> config = effectiveConfig(topic);
      Partition[] previous = old.get(topic.name());
      Partition[] ps = new Partition[topic.partitions().size()];
      boolean any = false;
      for (PartitionImage pi : topic.partitions()) {
        if (!pi.replicas().contains(nodeId)) continue;
        Partition existing = previous != null && pi.partition() < previous.length ? previous[pi.partition()] : null;
        if (existing != null && !existing.topicId().equals(topic.topicId())) existing = null;
        String name = topic.name() + "-" + pi.partition();
        Offline refused = table.offline().get(name);
        if (existing == null && refused != null && refused.damaged() && topic.topicId().equals(refused.topicId())
            && !hasAnotherCopy(pi)) {
          // Recovery refused this log (damage and no other copy): it stays so until an operator
          // repairs it and restarts the broker, or an image names another replica that holds the
          // committed records (then the open sets the damage aside and re-fetches); reopening on
          // every image would rescan it each time.
          failedDirs.add(name);
          offline.put(name, refused);
          continue;
        }
        try {
          if (existing != null) {
            existing.update(pi, config, brokers);
            ps[pi.partition()] = existing;
          } else {
            ps[pi.partition()] = open(topic, pi, config, brokers);
          }
          any = true;
        } catch (IOException | RuntimeException e) {
          // Left offline, and its data left alone: an operator can fix the disk and restart.
          failedDirs.add(name);
          Offline before = table.offline().get(name);
          Offline now = new Offline(e.getMessage() == null ? e.toString() : e.getMessage(),
              e instanceof dev.brook.broker.log.DamagedLogException, topic.topicId());
          offline.put(name, now);
          if (before == null || !before.reason().equals(now.reason())) {
            LOG.error("cannot open log of {}; the partition stays offline on this broker: {}", name,
                now.damaged() ? now.reason() : e.toString());
          }
        }
      }
      if (any) next.put(topic.name(), ps);
    }
    table = new Table(image, Map.copyOf(next), Map.copyOf(offline));
    updateFetchers(image, next);
    if (!strayCheckDone) {
      strayCheckDone = true;
      deleteStrayDirectories(image, next, failedDirs);
    }
    for (ImageWaiter w : imageWaiters) {
      if (w.condition().test(image) && imageWaiters.remove(w)) {
        w.future().complete(image);
      }
    }
  }

  /** Whether {@code p} is still this broker's replica of the same topic incarnation in {@code image}. */
  private boolean stillHosted(MetadataImage image, Partition p) {
    TopicImage t = image.topic(p.topic());
    return t != null && t.topicId().equals(p.topicId()) && p.index() < t.partitions().size()
        && t.partitions().get(p.index()).replicas().contains(nodeId);
  }

  private static Map<Integer, LeaderReplicaState.BrokerStatus> brokerStatuses(MetadataImage image) {
    Map<Integer, LeaderReplicaState.BrokerStatus> out = new HashMap<>();
    for (BrokerImage b : image.brokers().values()) {
      out.put(b.nodeId(), new LeaderReplicaState.BrokerStatus(b.brokerEpoch(), b.fenced(), b.shuttingDown()));
    }
    return out;
  }

  /** Points the fetchers at the leaders of the partitions this broker follows. Metadata thread. */
  private void updateFetchers(MetadataImage image, Map<String, Partition[]> hosted) {
    Map<Integer, Map<Partition, Integer>> byLeader = new HashMap<>();
    Map<Integer, String> addresses = new HashMap<>();
    for (Partition[] ps : hosted.values()) {
      for (Partition p : ps) {
        if (p == null) continue;
        PartitionImage s = p.state();
        if (s.leaderId() < 0 || s.leaderId() == nodeId) continue;
        BrokerImage leader = image.brokers().get(s.leaderId());
        if (leader == null) continue;
        addresses.put(s.leaderId(), leader.address());
        byLeader.computeIfAbsent(s.leaderId(), k -> new HashMap<>()).put(p, s.leaderEpoch());
      }
    }
    fetchers.update(byLeader, addresses);
  }

  private long brokerEpochFromImage() {
    MetadataImage image = table.image();
    BrokerImage self = image == null ? null : image.brokers().get(nodeId);
    return self == null ? -1 : self.brokerEpoch();
  }

  /**
   * Test hook: stops (true) or restarts (false) the replication of every partition this broker
   * follows, without stopping the broker. When pausing returns, no follower log here grows until
   * resumed; this broker no longer fetches, so its leaders see it fall behind (and after
   * replica.lag.time.max.ms drop it from their ISRs) as if it were cut off.
   */
  public void setReplicaFetchersPaused(boolean paused) {
    fetchers.setPaused(paused);
  }

  /** The leader ids this broker currently fetches from (tests). */
  List<Integer> fetchingFrom() {
    return fetchers.leaders();
  }

  /** Sends ISR changes to the quorum; answers are handled on the isrCallbacks thread. */
  private final class Context implements Partition.ReplicationContext {
    @Override
    public long nowMs() {
      return clock.getAsLong();
    }

    @Override
    public void sendIsrChange(Partition partition, LeaderReplicaState.IsrChange change) {
      if (metadata == null) {
        isrCallbacks.execute(() -> partition.onIsrChangeResult(change, LeaderReplicaState.AlterResult.REJECTED_RETRIABLE, null));
        return;
      }
      AlterPartitionRequest request = new AlterPartitionRequest(partition.topic(), partition.index(), nodeId,
          brokerEpoch.getAsLong(), change.leaderEpoch(), change.partitionEpoch(), change.newIsr(),
          change.addedBrokerEpochs());
      java.util.concurrent.CompletableFuture<AlterPartitionResult> sent;
      try {
        sent = metadata.alterPartition(request);
      } catch (RuntimeException e) {
        sent = java.util.concurrent.CompletableFuture.failedFuture(e);
      }
      sent.whenCompleteAsync((result, failure) -> {
        if (failure != null) {
          LOG.warn("{}: ISR change to {} failed: {}", partition, change.newIsr(), failure.toString());
          partition.onIsrChangeResult(change, LeaderReplicaState.AlterResult.REJECTED_RETRIABLE, null);
          return;
        }
        ErrorCode code = result.error();
        LeaderReplicaState.AlterResult outcome = switch (code) {
          case NONE -> LeaderReplicaState.AlterResult.APPLIED;
          case INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH -> LeaderReplicaState.AlterResult.REJECTED_STALE;
          default -> LeaderReplicaState.AlterResult.REJECTED_RETRIABLE;
        };
        if (code == ErrorCode.NONE) {
          LOG.info("{}: ISR is now {} (partition epoch {})", partition,
              result.partition() == null ? change.newIsr() : result.partition().isr(),
              result.partition() == null ? -1 : result.partition().partitionEpoch());
        } else {
          LOG.info("{}: ISR change to {} refused: {} {}", partition, change.newIsr(), code, result.message());
        }
        partition.onIsrChangeResult(change, outcome, code == ErrorCode.NONE ? result.partition() : null);
      }, isrCallbacks);
    }
  }

  private Partition open(TopicImage topic, PartitionImage pi, Map<String, String> effective,
      Map<Integer, LeaderReplicaState.BrokerStatus> brokers) throws IOException {
    Partition.TopicSettings settings = Partition.TopicSettings.of(effective);
    Path dir = logDir.resolve(topic.name() + "-" + pi.partition());
    Path meta = dir.resolve(METADATA_FILE);
    if (Files.exists(meta)) {
      String stored = readTopicId(meta);
      if (!topic.topicId().equals(stored)) {
        LOG.info("deleting log of {}-{}: it belonged to an earlier topic of that name (id {})",
            topic.name(), pi.partition(), stored);
        deleteRecursively(dir);
      }
    }
    Files.createDirectories(dir);
    if (!Files.exists(meta)) {
      Path tmp = dir.resolve(METADATA_FILE + ".tmp");
      Files.writeString(tmp, "version=1\ntopic_id=" + topic.topicId() + "\n", StandardCharsets.UTF_8);
      Files.move(tmp, meta, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
    PartitionLog log = PartitionLog.open(dir, settings.logConfig(), clock, hasAnotherCopy(pi));
    LOG.info("hosting {}-{} (leader {}, epoch {}, log end offset {})", topic.name(), pi.partition(),
        pi.leaderId(), pi.leaderEpoch(), log.logEndOffset());
    return new Partition(topic.name(), pi.partition(), topic.topicId(), nodeId, log, pi, settings, context,
        replication, brokers);
  }

  /**
   * Whether a replica other than this one holds every committed record of {@code pi}: another
   * ISR member or eligible leader replica. Only then may damage found at recovery be cut away (to
   * be fetched again); with none (a single replica, or this one alone in the ISR and no ELR)
   * nothing is changed on disk.
   */
  private boolean hasAnotherCopy(PartitionImage pi) {
    return pi.isr().stream().anyMatch(r -> r != nodeId) || pi.eligibleLeaderReplicas().stream().anyMatch(r -> r != nodeId);
  }

  private static String readTopicId(Path meta) throws IOException {
    for (String line : Files.readAllLines(meta, StandardCharsets.UTF_8)) {
      if (line.startsWith("topic_id=")) return line.substring("topic_id=".length()).trim();
    }
    return "";
  }

  /**
   * After the first real image: deletes directories left by topics deleted, or replicas moved
   * away, while this broker was down. A directory is deleted only when its own
   * {@code partition.metadata} names a topic id that the image says this broker no longer hosts;
   * anything it cannot identify, or failed to open, is left alone (and logged).
   */
  private void deleteStrayDirectories(MetadataImage image, Map<String, Partition[]> hosted, Set<String> failedDirs) {
    Map<String, TopicImage> byId = new HashMap<>();
    for (TopicImage t : image.topics().values()) byId.put(t.topicId(), t);
    try (Stream<Path> dirs = Files.list(logDir)) {
      for (Path dir : (Iterable<Path>) dirs::iterator) {
        if (!Files.isDirectory(dir)) continue;
        String name = dir.getFileName().toString();
        int dash = name.lastIndexOf('-');
        int index;
        try {
          index = dash > 0 ? Integer.parseInt(name.substring(dash + 1)) : -1;
        } catch (NumberFormatException e) {
          index = -1;
        }
        if (index < 0) continue;
        Partition[] ps = hosted.get(name.substring(0, dash));
        if ((ps != null && index < ps.length && ps[index] != null) || failedDirs.contains(name)) continue;
        Path meta = dir.resolve(METADATA_FILE);
        String topicId;
        try {
          topicId = Files.exists(meta) ? readTopicId(meta) : "";
        } catch (IOException e) {
          topicId = "";
        }
        if (topicId.isEmpty()) {
          LOG.warn("leaving {} alone: it has no readable {}", dir, METADATA_FILE);
          continue;
        }
        TopicImage t = byId.get(topicId);
        boolean assignedHere = t != null && index < t.partitions().size()
            && t.partitions().get(index).replicas().contains(nodeId);
        if (!assignedHere) {
          LOG.info("deleting {}: its topic (id {}) {}", dir, topicId,
              t == null ? "was deleted" : "is no longer assigned to this broker");
          deleteRecursively(dir);
        }
      }
    } catch (IOException e) {
      LOG.warn("cannot clean up {}: {}", logDir, e.toString());
    }
  }

  private void deleteQuietly(Partition p) {
    try {
      p.delete();
      LOG.info("deleted log of {}", p);
    } catch (IOException e) {
      LOG.warn("cannot delete log of {}: {}", p, e.toString());
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) return;
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }

  /**
   * Schedules retention, the ISR check (every half replica.lag.time.max.ms, as Kafka does), high
   * watermark checkpoints and the flush.ms check of idle logs on {@code scheduler}.
   */
  public void startBackgroundTasks(ScheduledExecutorService scheduler, long retentionCheckIntervalMs,
      long flushCheckIntervalMs) {
    this.scheduler = scheduler;
    scheduler.scheduleWithFixedDelay(this::enforceRetention, retentionCheckIntervalMs,
        retentionCheckIntervalMs, TimeUnit.MILLISECONDS);
    scheduler.scheduleWithFixedDelay(this::flushDueLogs, flushCheckIntervalMs, flushCheckIntervalMs,
        TimeUnit.MILLISECONDS);
    long isrCheckMs = Math.max(1, replication.replicaLagTimeMaxMs() / 2);
    scheduler.scheduleWithFixedDelay(this::maybeShrinkIsr, isrCheckMs, isrCheckMs, TimeUnit.MILLISECONDS);
    scheduler.scheduleWithFixedDelay(this::checkpointHighWatermarks, HW_CHECKPOINT_INTERVAL_MS,
        HW_CHECKPOINT_INTERVAL_MS, TimeUnit.MILLISECONDS);
  }

  /**
   * Starts the background checker of closed segments ({@link LogScrubber}), at most
   * {@code bytesPerSecond}, a full pass every {@code intervalMs}. Stopped by {@link #close}.
   */
  public synchronized void startScrubber(long bytesPerSecond, long intervalMs) {
    if (closed || scrubber != null) return;
    scrubber = new LogScrubber(nodeId, this::partitions, bytesPerSecond, intervalMs);
    scrubber.start();
  }

  /** Full passes the scrubber completed, -1 when it does not run (tests). */
  public long scrubberPasses() {
    LogScrubber s = scrubber;
    return s == null ? -1 : s.passes();
  }

  /**
   * A follower fetch stream of broker {@code replicaId} closed: every partition it follows here
   * marks it, and an ISR check runs once the disconnect timeout has passed, so that a killed
   * follower leaves the ISRs (and acks=all carries on) within about that long instead of
   * replica.lag.time.max.ms. Any thread.
   */
  public void onFollowerStreamClosed(int replicaId) {
    boolean any = false;
    for (Partition p : partitions()) {
      if (p.isLeader() && p.state().replicas().contains(replicaId)) {
        p.onFollowerDisconnected(replicaId);
        any = true;
      }
    }
    ScheduledExecutorService s = scheduler;
    if (any && s != null) {
      try {
        s.schedule(this::maybeShrinkIsr, replication.disconnectTimeoutMs() + 50, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException stopping) {
        // the broker is stopping
      }
    }
  }

  /** How often high watermarks are written to disk (Kafka: replica.high.watermark.checkpoint.interval.ms). */
  static final long HW_CHECKPOINT_INTERVAL_MS = 5_000;

  /** Writes every hosted partition's high watermark that moved since the last checkpoint. */
  public void checkpointHighWatermarks() {
    for (Partition p : partitions()) {
      try {
        p.checkpointHighWatermark();
      } catch (IOException | RuntimeException e) {
        LOG.warn("cannot checkpoint the high watermark of {}: {}", p, e.toString());
      }
    }
  }

  /**
   * fsyncs every log whose oldest unflushed batch is older than its flush.ms: appends check that
   * rule themselves, this covers a log that stopped receiving appends.
   */
  public void flushDueLogs() {
    for (Partition p : partitions()) {
      try {
        p.log().flushIfDue();
      } catch (IOException | RuntimeException e) {
        LOG.warn("flush of {} failed: {}", p, e.toString());
      }
    }
  }

  /** Leaders propose removing lagging or unavailable followers from their ISRs. */
  public void maybeShrinkIsr() {
    for (Partition p : partitions()) {
      try {
        p.maybeShrinkIsr();
      } catch (RuntimeException e) {
        LOG.warn("ISR check of {} failed: {}", p, e.toString());
      }
    }
  }

  /** Deletes segments past retention on every hosted partition. */
  public void enforceRetention() {
    for (Partition p : partitions()) {
      try {
        int deleted = p.log().enforceRetention(p.highWatermark());
        if (deleted > 0) {
          LOG.info("retention deleted {} segment(s) of {}, log start offset now {}", deleted, p,
              p.log().logStartOffset());
        }
      } catch (IOException | RuntimeException e) {
        // Caught whole: an exception escaping a scheduled task would cancel it for good.
        LOG.warn("retention of {} failed: {}", p, e.toString());
      }
    }
  }

  /** Flushes and closes every log, leaving clean-shutdown markers. Later images are ignored. */
  @Override
  public synchronized void close() {
    closed = true;
    if (scrubber != null) scrubber.close();
    fetchers.close();
    isrCallbacks.shutdownNow();
    Collection<Partition> all = partitions();
    table = new Table(table.image(), Map.of(), Map.of());
    for (Partition p : all) {
      try {
        p.close();
      } catch (IOException e) {
        LOG.warn("cannot close log of {}: {}", p, e.toString());
      }
    }
    for (ImageWaiter w : imageWaiters) {
      w.future().completeExceptionally(new IllegalStateException("broker is shutting down"));
    }
  }

}
