package dev.brook.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import dev.brook.broker.log.LogConfig;
import dev.brook.broker.log.PartitionLog;
import dev.brook.broker.log.ReadResult;
import dev.brook.client.Admin;
import dev.brook.client.Consumer;
import dev.brook.client.ConsumerConfig;
import dev.brook.client.ConsumerRecord;
import dev.brook.client.NewTopic;
import dev.brook.client.PartitionInfo;
import dev.brook.client.Producer;
import dev.brook.client.ProducerConfig;
import dev.brook.client.ProducerRecord;
import dev.brook.client.RecordMetadata;
import dev.brook.client.TopicPartition;
import dev.brook.client.serialization.Serdes;
import dev.brook.protocol.StoredBatch;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.AfterTestExecutionCallback;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * acks=all records survive kill -9 of partition leaders, in a cluster of three node processes
 * (quorum and broker each): three producers send keyed records continuously while the broker
 * leading partition 0 is killed, restarted and back in every ISR, and then a different broker
 * leading some partition goes through the same. Afterwards
 * <ol>
 *   <li>every acknowledged record is read back at exactly the partition and offset it was
 *       acknowledged with, with its key and value;
 *   <li>per producer and partition, acknowledged offsets increase in send order;
 *   <li>the three replicas of each partition are byte-identical below the high watermark, read
 *       from their log directories with {@link PartitionLog} after the nodes stopped.
 * </ol>
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class AcksAllFailoverProcessTest {
  private static final String TOPIC = "failover";
  private static final int PARTITIONS = 3;
  private static final int PRODUCERS = 3;
  /** Keys per producer; each key maps to one partition, so every producer writes to every partition. */
  private static final int KEYS = 30;
  /** Unanswered sends per producer: bounds the rate (and the records to verify) by the cluster's speed. */
  private static final int WINDOW = 32;
  /** Acknowledgements per producer that prove it makes progress in a phase. */
  private static final int PROGRESS = 500;

  @TempDir
  Path dir;

  private ProcessCluster cluster;
  private final List<LoadProducer> producers = new ArrayList<>();

  /** A failed run prints the tail of each node's output; the temp dir is gone afterwards. */
  @RegisterExtension
  final AfterTestExecutionCallback logsOnFailure = context -> {
    if (context.getExecutionException().isPresent() && cluster != null) cluster.printLogTails(120);
  };

  @AfterEach
  void tearDown() {
    for (LoadProducer p : producers) p.abort();
    if (cluster != null) cluster.close();
  }

  @Test
  void acknowledgedRecordsSurviveLeaderKillNineAndReplicasStayIdentical() throws Exception {
    long t0 = System.nanoTime();
    cluster = new ProcessCluster(dir, Map.of(
        "min.insync.replicas", "2",
        // A dead broker is fenced (loses its leaderships, leaves every ISR) after 3 s, not 6.
        "broker.heartbeat.interval.ms", "500",
        "broker.session.timeout.ms", "3000",
        "leader.imbalance.check.interval.ms", "1000",
        // The last nodes to stop have no quorum to hand leaderships to: do not wait 10 s for it.
        "controlled.shutdown.timeout.ms", "3000"));
    cluster.start();
    log("cluster up", t0);

    try (Admin admin = Admin.create(cluster.bootstrap())) {
      admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, 3, Map.of("min.insync.replicas", "2"))))
          .all().get(60, TimeUnit.SECONDS);
    }
    awaitFullIsr(cluster.bootstrap(), "after topic creation");

    for (int i = 0; i < PRODUCERS; i++) producers.add(new LoadProducer(i, cluster.bootstrap()));
    producers.forEach(LoadProducer::start);
    awaitProgress("before the first kill");
    log("producing", t0);

    // First failure: the broker leading partition 0.
    int firstVictim = describe(cluster.bootstrap()).get(0).leaderId();
    failAndRecover(firstVictim, 0, t0);

    // Second failure: a different broker that leads some partition now.
    int[] second = new int[2];
    await("a partition led by a broker other than " + firstVictim).atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(200)).ignoreExceptions().untilAsserted(() -> {
          PartitionInfo p = describe(cluster.bootstrap()).stream()
              .filter(pi -> pi.leaderId() > 0 && pi.leaderId() != firstVictim).findFirst().orElse(null);
          assertThat(p).as("a partition whose leader is not broker %d", firstVictim).isNotNull();
          second[0] = p.leaderId();
          second[1] = p.partition();
        });
    failAndRecover(second[0], second[1], t0);

    awaitProgress("after both failures");
    for (LoadProducer p : producers) p.stopSending();
    for (LoadProducer p : producers) p.finish();
    log("producers stopped", t0);
    awaitFullIsr(cluster.bootstrap(), "after the producers stopped");

    long sent = 0;
    long acked = 0;
    long failed = 0;
    Map<String, Long> failures = new TreeMap<>();
    for (LoadProducer p : producers) {
      sent += p.sent.get();
      acked += p.acks.size();
      failed += p.failed.get();
      p.failures.forEach((k, v) -> failures.merge(k, v.get(), Long::sum));
    }
    System.out.printf("%s: %d sent, %d acknowledged, %d failed %s%n",
        getClass().getSimpleName(), sent, acked, failed, failures);
    assertThat(acked + failed).as("every send completed").isEqualTo(sent);

    // (1) and (2): read everything back below the high watermark.
    long[] highWatermarks = awaitStableHighWatermarks();
    ReadBack readBack = readAll(highWatermarks);
    log("read back " + readBack.total + " records below the high watermarks " + Arrays.toString(highWatermarks)
        + ", " + (readBack.total - acked) + " of them not acknowledged (written, but the answer was lost or refused)", t0);
    verifyAcknowledgedRecords(readBack);
    verifySendOrder(readBack);

    // (3): the replicas' logs, byte for byte, below the high watermark.
    cluster.stopAll();
    log("nodes stopped", t0);
    log("replicas identical below the high watermarks: " + verifyReplicasIdentical(highWatermarks), t0);
    assertThat(failed).as("sends that failed although the producer retries for 60 s: %s", failures).isZero();
  }

  /**
   * kill -9 of {@code victim} (which leads {@code partition}); waits until another replica leads
   * that partition with a higher epoch and the producers make progress without the victim, then
   * restarts it and waits until it is back in every ISR and the producers still make progress.
   */
  private void failAndRecover(int victim, int partition, long t0) throws Exception {
    String survivors = cluster.bootstrapWithout(victim);
    PartitionInfo before = describe(survivors).get(partition);
    cluster.kill9(victim);
    log("killed broker " + victim + " (leader of partition " + partition + ", epoch " + before.leaderEpoch() + ")", t0);
    await("a new leader of partition " + partition + " after broker " + victim + " was killed")
        .atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().untilAsserted(() -> {
          PartitionInfo now = describe(survivors).get(partition);
          assertThat(now.leaderId()).as("leader of partition %d", partition).isPositive().isNotEqualTo(victim);
          assertThat(now.leaderEpoch()).as("leader epoch of partition %d", partition).isGreaterThan(before.leaderEpoch());
          assertThat(now.isr()).as("ISR of partition %d", partition).doesNotContain(victim);
        });
    log("partition " + partition + " failed over", t0);
    awaitProgress("while broker " + victim + " is down");
    cluster.restart(victim);
    log("restarted broker " + victim, t0);
    awaitFullIsr(cluster.bootstrap(), "after broker " + victim + " restarted");
    log("broker " + victim + " back in every ISR", t0);
    awaitProgress("after broker " + victim + " rejoined");
  }

  private static List<PartitionInfo> describe(String bootstrap) throws Exception {
    try (Admin admin = Admin.create(bootstrap)) {
      List<PartitionInfo> partitions = admin.describeTopics(List.of(TOPIC)).get(10, TimeUnit.SECONDS).get(TOPIC).partitions();
      return partitions.stream().sorted(Comparator.comparingInt(PartitionInfo::partition)).toList();
    }
  }

  private static void awaitFullIsr(String bootstrap, String when) {
    await("every partition led and with all 3 replicas in its ISR " + when).atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(250)).ignoreExceptions().untilAsserted(() -> {
          List<PartitionInfo> partitions = describe(bootstrap);
          assertThat(partitions).hasSize(PARTITIONS);
          for (PartitionInfo p : partitions) {
            assertThat(p.leaderId()).as("leader of partition %d", p.partition()).isPositive();
            assertThat(p.isr()).as("ISR of partition %d", p.partition()).containsExactlyInAnyOrder(1, 2, 3);
          }
        });
  }

  /** Waits until every producer has {@link #PROGRESS} more acknowledgements than now. */
  private void awaitProgress(String when) {
    long[] start = producers.stream().mapToLong(p -> p.acked.get()).toArray();
    await("every producer gets " + PROGRESS + " more acknowledgements " + when).atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
          for (int i = 0; i < producers.size(); i++) {
            LoadProducer p = producers.get(i);
            assertThat(p.acked.get() - start[i]).as("new acknowledgements of producer %d (%d failed so far: %s)",
                i, p.failed.get(), p.failures).isGreaterThanOrEqualTo(PROGRESS);
          }
        });
  }

  /**
   * The high watermarks once they stopped moving (followers may still be fetching the last
   * records when the producers stop); with every replica in the ISR, each replica has at least
   * this much.
   */
  private long[] awaitStableHighWatermarks() {
    long[][] last = {null};
    long[] result = new long[PARTITIONS];
    await("high watermarks stop moving").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
        .ignoreExceptions().until(() -> {
          long[] now = endOffsets();
          boolean stable = last[0] != null && Arrays.equals(now, last[0]);
          last[0] = now;
          if (stable) System.arraycopy(now, 0, result, 0, PARTITIONS);
          return stable;
        });
    return result;
  }

  private long[] endOffsets() {
    ConsumerConfig cc = ConsumerConfig.builder().bootstrapServers(cluster.bootstrap()).requestTimeoutMs(10_000).build();
    try (Consumer<String, String> c = new Consumer<>(cc, Serdes.stringDeserializer(), Serdes.stringDeserializer())) {
      Map<TopicPartition, Long> ends = c.endOffsets(topicPartitions());
      long[] out = new long[PARTITIONS];
      ends.forEach((tp, end) -> out[tp.partition()] = end);
      return out;
    }
  }

  private static List<TopicPartition> topicPartitions() {
    List<TopicPartition> tps = new ArrayList<>();
    for (int p = 0; p < PARTITIONS; p++) tps.add(new TopicPartition(TOPIC, p));
    return tps;
  }

  /** What the consumer read, by partition and offset. */
  private static final class ReadBack {
    final String[][] keys = new String[PARTITIONS][];
    final String[][] values = new String[PARTITIONS][];
    final int[][] epochs = new int[PARTITIONS][];
    long total;

    /** Where {@code value} is in {@code partition}: "offset (epoch e)", for assertion messages. */
    String occurrences(int partition, String value) {
      List<String> at = new ArrayList<>();
      for (int o = 0; o < values[partition].length; o++) {
        if (value.equals(values[partition][o])) at.add(o + " (leader epoch " + epochs[partition][o] + ")");
      }
      return value + " is in partition " + partition + " at " + at;
    }
  }

  /** Reads every partition from its start to {@code ends} with assign + seekToBeginning. */
  private ReadBack readAll(long[] ends) {
    ReadBack out = new ReadBack();
    for (int p = 0; p < PARTITIONS; p++) {
      out.keys[p] = new String[Math.toIntExact(ends[p])];
      out.values[p] = new String[Math.toIntExact(ends[p])];
      out.epochs[p] = new int[Math.toIntExact(ends[p])];
    }
    ConsumerConfig cc = ConsumerConfig.builder().bootstrapServers(cluster.bootstrap()).autoOffsetReset("none")
        .maxPollRecords(10_000).build();
    try (Consumer<String, String> consumer = new Consumer<>(cc, Serdes.stringDeserializer(), Serdes.stringDeserializer())) {
      List<TopicPartition> tps = topicPartitions();
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      await("the consumer reads every partition up to its high watermark " + Arrays.toString(ends))
          .atMost(Duration.ofSeconds(60)).pollInSameThread().pollInterval(Duration.ZERO).until(() -> {
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
              int p = r.partition();
              if (r.offset() >= ends[p]) continue;
              int o = (int) r.offset();
              assertThat(out.values[p][o]).as("partition %d offset %d read twice", p, o).isNull();
              out.keys[p][o] = r.key();
              out.values[p][o] = r.value();
              out.epochs[p][o] = r.leaderEpoch();
              out.total++;
            }
            for (TopicPartition tp : tps) {
              if (consumer.position(tp) < ends[tp.partition()]) return false;
            }
            return true;
          });
    }
    for (int p = 0; p < PARTITIONS; p++) {
      for (int o = 0; o < ends[p]; o++) {
        if (out.values[p][o] == null) fail("partition %d has no record at offset %d, below its high watermark %d", p, o, ends[p]);
      }
    }
    return out;
  }

  /** (1): each acknowledged record is at its acknowledged partition and offset, with its key and value. */
  private void verifyAcknowledgedRecords(ReadBack readBack) {
    List<String> wrong = new ArrayList<>();
    long wrongCount = 0;
    long checked = 0;
    for (LoadProducer producer : producers) {
      for (Ack a : producer.acks) {
        checked++;
        String key = producer.key(a.seq);
        String value = producer.value(a.seq);
        String where = "partition " + a.partition + " offset " + a.offset;
        String problem = null;
        if (a.offset >= readBack.values[a.partition].length) {
          problem = value + " acknowledged at " + where + ", at or above the high watermark "
              + readBack.values[a.partition].length;
        } else if (!value.equals(readBack.values[a.partition][(int) a.offset])
            || !key.equals(readBack.keys[a.partition][(int) a.offset])) {
          problem = key + "=" + value + " acknowledged at " + where + ", but the log has "
              + readBack.keys[a.partition][(int) a.offset] + "=" + readBack.values[a.partition][(int) a.offset];
        }
        if (problem != null && wrongCount++ < 20) wrong.add(problem);
      }
    }
    assertThat(wrong).as("acknowledged records not found where acknowledged (%d of %d; first 20 shown)",
        wrongCount, checked).isEmpty();
  }

  /** (2): per producer and partition, acknowledged offsets increase in send order. */
  private void verifySendOrder(ReadBack readBack) {
    List<String> wrong = new ArrayList<>();
    for (LoadProducer producer : producers) {
      long[] lastOffset = new long[PARTITIONS];
      long[] lastSeq = new long[PARTITIONS];
      Arrays.fill(lastOffset, -1);
      List<Ack> bySeq = new ArrayList<>(producer.acks);
      bySeq.sort(Comparator.comparingLong(a -> a.seq));
      for (Ack a : bySeq) {
        if (a.offset <= lastOffset[a.partition] && wrong.size() < 20) {
          wrong.add(producer.value(a.seq) + " at partition " + a.partition + " offset " + a.offset + " is not after "
              + producer.value(lastSeq[a.partition]) + ", sent before it, at offset " + lastOffset[a.partition]
              + "; " + readBack.occurrences(a.partition, producer.value(lastSeq[a.partition]))
              + ", " + readBack.occurrences(a.partition, producer.value(a.seq)));
        }
        lastOffset[a.partition] = a.offset;
        lastSeq[a.partition] = a.seq;
      }
    }
    assertThat(wrong).as("acknowledged records out of send order (first 20)").isEmpty();
  }

  /**
   * (3): every node's log of each partition has the same bytes below the high watermark. Returns
   * what was compared.
   */
  private String verifyReplicasIdentical(long[] highWatermarks) throws Exception {
    List<String> problems = new ArrayList<>();
    List<String> compared = new ArrayList<>();
    for (int p = 0; p < PARTITIONS; p++) {
      List<Replica> replicas = new ArrayList<>();
      for (int id = 1; id <= ProcessCluster.SIZE; id++) {
        replicas.add(readReplica(id, p, highWatermarks[p]));
      }
      for (Replica r : replicas) {
        if (r.end != highWatermarks[p]) {
          problems.add(r + ": its batches below the high watermark " + highWatermarks[p] + " end at offset " + r.end
              + " (log end offset " + r.logEndOffset + ")");
        }
      }
      Replica first = replicas.get(0);
      for (Replica r : replicas.subList(1, replicas.size())) {
        if (!r.bytes.equals(first.bytes)) problems.add(firstDifference(first, r));
      }
      compared.add("partition " + p + ": " + first.bytes.size() + " bytes in " + first.framePositions.size()
          + " batches of leader epochs " + first.epochs());
    }
    assertThat(problems).as("replica logs below the high watermarks %s", Arrays.toString(highWatermarks))
        .isEmpty();
    return String.join("; ", compared);
  }

  /** One replica's batches below the high watermark, as stored. */
  private record Replica(int node, int partition, ByteString bytes, List<int[]> framePositions, long end,
      long logEndOffset) {
    @Override
    public String toString() {
      return "node " + node + "'s replica of partition " + partition + " (" + bytes.size() + " bytes, "
          + framePositions.size() + " batches)";
    }

    java.util.SortedSet<Integer> epochs() {
      java.util.SortedSet<Integer> out = new java.util.TreeSet<>();
      ByteBuffer b = bytes.asReadOnlyByteBuffer();
      for (int[] f : framePositions) out.add(StoredBatch.leaderEpoch(b, f[0]));
      return out;
    }

    String frame(int i) {
      ByteBuffer b = bytes.asReadOnlyByteBuffer();
      int pos = framePositions.get(i)[0];
      return "batch at byte " + pos + ": offsets " + StoredBatch.baseOffset(b, pos) + ".." + StoredBatch.lastOffset(b, pos)
          + ", leader epoch " + StoredBatch.leaderEpoch(b, pos) + ", " + framePositions.get(i)[1] + " bytes, crc "
          + Integer.toHexString(StoredBatch.crc(b, pos));
    }
  }

  private Replica readReplica(int node, int partition, long highWatermark) throws Exception {
    Path dir = cluster.dataDir(node).resolve("logs").resolve(TOPIC + "-" + partition);
    ByteString.Output bytes = ByteString.newOutput();
    List<int[]> frames = new ArrayList<>();
    long next;
    long logEnd;
    try (PartitionLog log = PartitionLog.open(dir, LogConfig.defaults(), System::currentTimeMillis)) {
      assertThat(log.logStartOffset()).as("log start offset of %s", dir).isZero();
      logEnd = log.logEndOffset();
      next = 0;
      while (next < highWatermark) {
        ReadResult r = log.read(next, 1 << 20, highWatermark);
        if (r.records().isEmpty()) break;
        assertThat(r.firstBatchOffset()).as("first batch read from %s at offset %d", dir, next).isEqualTo(next);
        ByteBuffer b = r.records().asReadOnlyByteBuffer();
        int pos = 0;
        while (pos < b.limit()) {
          int size = StoredBatch.frameSizeAt(b, pos, b.limit());
          assertThat(size).as("frame at byte %d of a read of %s", pos, dir).isPositive();
          assertThat(StoredBatch.isValid(b, pos, size)).as("CRC and format of the batch at offset %d of %s",
              StoredBatch.baseOffset(b, pos), dir).isTrue();
          frames.add(new int[] {bytes.size() + pos, size});
          next = StoredBatch.lastOffset(b, pos) + 1;
          pos += size;
        }
        r.records().writeTo(bytes);
      }
    }
    return new Replica(node, partition, bytes.toByteString(), frames, next, logEnd);
  }

  private static String firstDifference(Replica a, Replica b) {
    int n = Math.min(a.framePositions.size(), b.framePositions.size());
    for (int i = 0; i < n; i++) {
      int[] fa = a.framePositions.get(i);
      int[] fb = b.framePositions.get(i);
      if (fa[0] != fb[0] || fa[1] != fb[1]
          || !a.bytes.substring(fa[0], fa[0] + fa[1]).equals(b.bytes.substring(fb[0], fb[0] + fb[1]))) {
        return a + " and " + b + " differ first at batch " + i + ": " + a.frame(i) + " vs " + b.frame(i);
      }
    }
    return a + " and " + b + " differ in length: the first " + n + " batches are identical";
  }

  private static void log(String what, long t0) {
    System.out.printf("[%6.1f s] %s%n", (System.nanoTime() - t0) / 1e9, what);
  }

  /** An acknowledgement: the record with sequence number {@code seq} is at (partition, offset). */
  private record Ack(long seq, int partition, long offset) {}

  /**
   * One producer with its own thread, sending "p{id}-k{n}" = "p{id}-{seq}" records with acks=all,
   * at most {@link #WINDOW} unanswered, and keeping every acknowledgement.
   */
  private final class LoadProducer {
    final int id;
    final Producer<String, String> producer;
    final Thread thread;
    final AtomicBoolean stop = new AtomicBoolean();
    final Semaphore window = new Semaphore(WINDOW);
    final AtomicLong sent = new AtomicLong();
    final AtomicLong acked = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final Map<String, AtomicLong> failures = new ConcurrentHashMap<>();
    final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
    volatile Throwable crashed;

    LoadProducer(int id, String bootstrap) {
      this.id = id;
      ProducerConfig pc = ProducerConfig.builder()
          .bootstrapServers(bootstrap)
          .clientId("failover-p" + id)
          .acks("all")
          .lingerMs(5)
          // One produce request at a time per broker: a retried batch cannot be overtaken by a
          // later one of the same partition, so acknowledged offsets follow send order.
          .maxInFlightRequests(1)
          .retries(Integer.MAX_VALUE)
          .retryBackoffMs(100)
          // A request to a broker that died without closing its connection is retried after 10 s;
          // a record is given up after 60 s, far more than a failover takes.
          .requestTimeoutMs(10_000)
          .deliveryTimeoutMs(60_000)
          .build();
      this.producer = new Producer<>(pc, Serdes.stringSerializer(), Serdes.stringSerializer());
      this.thread = new Thread(this::run, "failover-producer-" + id);
      thread.setDaemon(true);
    }

    String key(long seq) {
      return "p" + id + "-k" + (seq % KEYS);
    }

    String value(long seq) {
      return "p" + id + "-" + seq;
    }

    void start() {
      thread.start();
    }

    private void run() {
      try {
        for (long seq = 0; !stop.get(); ) {
          if (!window.tryAcquire(100, TimeUnit.MILLISECONDS)) continue;
          long s = seq++;
          sent.incrementAndGet();
          producer.send(new ProducerRecord<>(TOPIC, key(s), value(s))).whenComplete((RecordMetadata md, Throwable e) -> {
            if (e == null) {
              acks.add(new Ack(s, md.partition(), md.offset()));
              acked.incrementAndGet();
            } else {
              failed.incrementAndGet();
              failures.computeIfAbsent(reason(e), k -> new AtomicLong()).incrementAndGet();
            }
            window.release();
          });
        }
      } catch (Throwable t) {
        crashed = t;
      }
    }

    private static String reason(Throwable e) {
      Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
      String message = String.valueOf(cause.getMessage());
      return cause.getClass().getSimpleName() + ": " + (message.length() > 100 ? message.substring(0, 100) : message);
    }

    void stopSending() {
      stop.set(true);
    }

    /** Waits for the sending thread, then for every outstanding send to complete, and closes. */
    void finish() throws InterruptedException {
      thread.join(TimeUnit.SECONDS.toMillis(10));
      assertThat(thread.isAlive()).as("producer %d's thread still running", id).isFalse();
      assertThat(crashed).as("producer %d's thread failed", id).isNull();
      await("producer " + id + "'s outstanding sends complete").atMost(Duration.ofSeconds(70))
          .pollInterval(Duration.ofMillis(100)).until(() -> window.availablePermits() == WINDOW);
      producer.close(Duration.ofSeconds(10));
    }

    /** Stops at once (test teardown). */
    void abort() {
      stop.set(true);
      producer.close(Duration.ZERO);
    }
  }
}
