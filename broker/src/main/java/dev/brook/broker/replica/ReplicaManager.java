package dev.brook.broker.replica;

import dev.brook.broker.log.PartitionLog;
import dev.brook.protocol.TopicConfig;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
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
 */
public final class ReplicaManager implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicaManager.class);
  private static final String METADATA_FILE = "partition.metadata";

  /** What request handlers read: the image and the partitions hosted under it. */
  private record Table(MetadataImage image, Map<String, Partition[]> partitions) {}

  private final int nodeId;
  private final Path logDir;
  private final Map<String, String> topicDefaults;
  private final LongSupplier clock;
  private volatile Table table;
  private final ConcurrentLinkedQueue<ImageWaiter> imageWaiters = new ConcurrentLinkedQueue<>();

  private record ImageWaiter(Predicate<MetadataImage> condition, CompletableFuture<MetadataImage> future) {}

  public ReplicaManager(int nodeId, Path dataDir, Map<String, String> topicDefaults, LongSupplier clock)
      throws IOException {
    this.nodeId = nodeId;
    this.logDir = dataDir.resolve("logs");
    this.topicDefaults = Map.copyOf(topicDefaults);
    this.clock = clock;
    Files.createDirectories(logDir);
    this.table = new Table(null, Map.of());
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
   * Brings the hosted partitions in line with {@code image}: opens (or recovers) the logs of new
   * assignments, applies leadership and config changes, and deletes the logs of partitions that
   * are gone. Metadata notifier thread only.
   */
  public synchronized void onImage(MetadataImage image) {
    Map<String, Partition[]> old = table.partitions();
    Map<String, Partition[]> next = new HashMap<>();
    for (TopicImage topic : image.topics().values()) {
      Map<String, String> config = effectiveConfig(topic);
      Partition[] previous = old.get(topic.name());
      boolean sameTopic = previous != null && previous.length > 0 && firstNonNull(previous) != null
          && firstNonNull(previous).topicId().equals(topic.topicId());
      Partition[] ps = new Partition[topic.partitions().size()];
      boolean any = false;
      for (PartitionImage pi : topic.partitions()) {
        if (!pi.replicas().contains(nodeId)) continue;
        Partition existing = sameTopic && pi.partition() < previous.length ? previous[pi.partition()] : null;
        try {
          if (existing != null) {
            existing.update(pi, config);
            ps[pi.partition()] = existing;
          } else {
            ps[pi.partition()] = open(topic, pi, config);
          }
          any = true;
        } catch (IOException e) {
          LOG.error("cannot open log of {}-{}: {}", topic.name(), pi.partition(), e.toString());
        }
      }
      if (any) next.put(topic.name(), ps);
    }
    // Partitions no longer hosted (topic deleted or re-created, or moved away): drop their data.
    for (Map.Entry<String, Partition[]> e : old.entrySet()) {
      Partition[] now = next.get(e.getKey());
      for (Partition p : e.getValue()) {
        if (p == null) continue;
        boolean kept = now != null && p.index() < now.length && now[p.index()] == p;
        if (!kept) {
          deleteQuietly(p);
        }
      }
    }
    table = new Table(image, Map.copyOf(next));
    if (old.isEmpty()) {
      deleteStrayDirectories(next);
    }
    for (ImageWaiter w : imageWaiters) {
      if (w.condition().test(image) && imageWaiters.remove(w)) {
        w.future().complete(image);
      }
    }
  }

  private static Partition firstNonNull(Partition[] ps) {
    for (Partition p : ps) {
      if (p != null) return p;
    }
    return null;
  }

  private Partition open(TopicImage topic, PartitionImage pi, Map<String, String> effective) throws IOException {
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
    PartitionLog log = PartitionLog.open(dir, settings.logConfig(), clock);
    LOG.info("hosting {}-{} (leader {}, epoch {}, log end offset {})", topic.name(), pi.partition(),
        pi.leaderId(), pi.leaderEpoch(), log.logEndOffset());
    return new Partition(topic.name(), pi.partition(), topic.topicId(), nodeId, log, pi, settings);
  }

  private static String readTopicId(Path meta) throws IOException {
    for (String line : Files.readAllLines(meta, StandardCharsets.UTF_8)) {
      if (line.startsWith("topic_id=")) return line.substring("topic_id=".length()).trim();
    }
    return "";
  }

  /** After the first image: directories of partitions the image does not give us are leftovers. */
  private void deleteStrayDirectories(Map<String, Partition[]> hosted) {
    try (Stream<Path> dirs = Files.list(logDir)) {
      for (Path dir : (Iterable<Path>) dirs::iterator) {
        String name = dir.getFileName().toString();
        int dash = name.lastIndexOf('-');
        boolean keep = false;
        if (dash > 0) {
          try {
            int p = Integer.parseInt(name.substring(dash + 1));
            Partition[] ps = hosted.get(name.substring(0, dash));
            keep = ps != null && p < ps.length && ps[p] != null;
          } catch (NumberFormatException e) {
            keep = false;
          }
        }
        if (!keep && Files.isDirectory(dir)) {
          LOG.info("deleting {}: no longer assigned to this broker", dir);
          deleteRecursively(dir);
        }
      }
    } catch (IOException e) {
      LOG.warn("cannot list {}: {}", logDir, e.toString());
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

  /** Schedules retention and time-based flushing on {@code scheduler}. */
  public void startBackgroundTasks(ScheduledExecutorService scheduler, long retentionCheckIntervalMs) {
    scheduler.scheduleWithFixedDelay(this::enforceRetention, retentionCheckIntervalMs,
        retentionCheckIntervalMs, TimeUnit.MILLISECONDS);
  }

  /** Deletes segments past retention on every hosted partition. */
  public void enforceRetention() {
    for (Partition p : partitions()) {
      try {
        int deleted = p.log().enforceRetention();
        if (deleted > 0) {
          LOG.info("retention deleted {} segment(s) of {}, log start offset now {}", deleted, p,
              p.log().logStartOffset());
        }
      } catch (IOException e) {
        LOG.warn("retention of {} failed: {}", p, e.toString());
      }
    }
  }

  /** Flushes and closes every log, leaving clean-shutdown markers. */
  @Override
  public synchronized void close() {
    Collection<Partition> all = partitions();
    table = new Table(table.image(), Map.of());
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
