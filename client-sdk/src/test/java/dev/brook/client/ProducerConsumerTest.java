package dev.brook.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.client.serialization.Serdes;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.Record;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ProducerConsumerTest {
  private FakeCluster cluster;
  private final List<AutoCloseable> clients = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    cluster = new FakeCluster(2);
    cluster.createTopic("events", 3, 1);
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : clients) c.close();
    cluster.close();
  }

  private ProducerConfig.Builder producerConfig() {
    return ProducerConfig.builder().bootstrapServers(cluster.bootstrap()).channelFactory(cluster.channelFactory())
        .retryBackoffMs(10).lingerMs(1);
  }

  private Producer<String, String> producer(ProducerConfig.Builder b) {
    Producer<String, String> p = new Producer<>(b.build(), Serdes.stringSerializer(), Serdes.stringSerializer());
    clients.add(p);
    return p;
  }

  private Consumer<String, String> consumer(ConsumerConfig.Builder b) {
    Consumer<String, String> c = new Consumer<>(b.bootstrapServers(cluster.bootstrap())
        .channelFactory(cluster.channelFactory()).fetchMaxWaitMs(50).retryBackoffMs(10).build(),
        Serdes.stringDeserializer(), Serdes.stringDeserializer());
    clients.add(c);
    return c;
  }

  private static List<ConsumerRecord<String, String>> pollUntil(Consumer<String, String> c, int count) {
    List<ConsumerRecord<String, String>> out = new ArrayList<>();
    await().atMost(Duration.ofSeconds(20)).until(() -> {
      c.poll(Duration.ofMillis(100)).forEach(out::add);
      return out.size() >= count;
    });
    return out;
  }

  @Test
  void producedRecordsAreConsumedInOrderPerPartitionOnKafkasPartitions() throws Exception {
    Producer<String, String> p = producer(producerConfig().batchSize(2048));
    List<CompletableFuture<RecordMetadata>> futures = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      futures.add(p.send(new ProducerRecord<>("events", "key-" + (i % 17), "value-" + i)));
    }
    p.flush();
    assertThat(futures).allMatch(CompletableFuture::isDone);
    Map<Integer, Long> lastOffset = new HashMap<>();
    for (int i = 0; i < 1000; i++) {
      RecordMetadata md = futures.get(i).join();
      byte[] key = ("key-" + (i % 17)).getBytes(StandardCharsets.UTF_8);
      assertThat(md.partition()).isEqualTo((DefaultPartitioner.murmur2(key) & 0x7fffffff) % 3);
      assertThat(md.offset()).isGreaterThan(lastOffset.getOrDefault(md.partition(), -1L));
      lastOffset.put(md.partition(), md.offset());
    }

    Consumer<String, String> c = consumer(ConsumerConfig.builder().autoOffsetReset("earliest").maxPollRecords(100));
    c.assign(List.of(new TopicPartition("events", 0), new TopicPartition("events", 1), new TopicPartition("events", 2)));
    List<ConsumerRecord<String, String>> got = pollUntil(c, 1000);
    assertThat(got).hasSize(1000);
    Map<Integer, Long> next = new HashMap<>();
    for (ConsumerRecord<String, String> r : got) {
      assertThat(r.offset()).isEqualTo(next.getOrDefault(r.partition(), 0L));
      next.put(r.partition(), r.offset() + 1);
      int i = Integer.parseInt(r.value().substring("value-".length()));
      assertThat(r.key()).isEqualTo("key-" + (i % 17));
      assertThat(futures.get(i).join().offset()).isEqualTo(r.offset());
    }
  }

  @Test
  void roundRobinPartitionerSpreadsEvenlyOverEveryPartitionThroughTheProducer() throws Exception {
    // KAFKA-9965: the producer asks the partitioner again when the chosen partition has no open
    // batch; counting that second call skipped every other partition (0 and 2 of 4 never chosen).
    cluster.createTopic("rr", 4, 1);
    // Small batches and a short linger: new batches open all the time, on every partition.
    Producer<String, String> p = producer(producerConfig().partitioner(new RoundRobinPartitioner()).batchSize(256));
    List<CompletableFuture<RecordMetadata>> futures = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      futures.add(p.send(new ProducerRecord<>("rr", null, "value-" + i)));
      if (i % 50 == 49) p.flush();   // every partition's batch is sent: the next record opens a new one
    }
    p.flush();
    int[] perPartition = new int[4];
    for (int i = 0; i < 400; i++) {
      int partition = futures.get(i).get().partition();
      assertThat(partition).as("record %d", i).isEqualTo(i % 4);
      perPartition[partition]++;
    }
    assertThat(perPartition).containsExactly(100, 100, 100, 100);
    for (int i = 0; i < 4; i++) assertThat(cluster.records("rr", i)).hasSize(100);
  }

  @Test
  void everyCodecRoundTrips() throws Exception {
    for (String codec : List.of("gzip", "snappy", "lz4", "zstd")) {
      String topic = "c-" + codec;
      cluster.createTopic(topic, 1, 1);
      Producer<String, String> p = producer(producerConfig().compression(codec));
      for (int i = 0; i < 50; i++) p.send(new ProducerRecord<>(topic, null, "v" + i));
      p.flush();
      Consumer<String, String> c = consumer(ConsumerConfig.builder().autoOffsetReset("earliest"));
      c.assign(List.of(new TopicPartition(topic, 0)));
      assertThat(pollUntil(c, 50)).extracting(ConsumerRecord::value).startsWith("v0", "v1").hasSize(50);
    }
  }

  @Test
  void notLeaderAnswerRedirectsToTheNamedLeaderAndRetries() throws Exception {
    Producer<String, String> p = producer(producerConfig());
    assertThat(p.send(new ProducerRecord<>("events", 0, null, "before")).get().offset()).isZero();
    // The leader moves; the producer's cached metadata still names broker 1.
    cluster.moveLeader("events", 0, 2);
    RecordMetadata md = p.send(new ProducerRecord<>("events", 0, null, "after")).get();
    assertThat(md.offset()).isEqualTo(1);
    assertThat(cluster.notLeaderAnswers.get()).isGreaterThanOrEqualTo(1);

    // The consumer follows the leader the same way.
    Consumer<String, String> c = consumer(ConsumerConfig.builder().autoOffsetReset("earliest"));
    TopicPartition tp = new TopicPartition("events", 0);
    c.assign(List.of(tp));
    assertThat(c.position(tp)).isZero();
    cluster.moveLeader("events", 0, 1);
    assertThat(pollUntil(c, 2)).extracting(ConsumerRecord::value).containsExactly("before", "after");
  }

  @Test
  void retriableErrorsAreRetriedAndNonRetriableOnesSurface() throws Exception {
    Producer<String, String> p = producer(producerConfig());
    cluster.partition("events", 1).produceErrors.add(ErrorCode.NOT_ENOUGH_REPLICAS);
    cluster.partition("events", 1).produceErrors.add(ErrorCode.REQUEST_TIMED_OUT);
    assertThat(p.send(new ProducerRecord<>("events", 1, null, "x")).get().offset()).isZero();

    cluster.partition("events", 1).produceErrors.add(ErrorCode.CORRUPT_RECORD);
    CompletableFuture<RecordMetadata> f = p.send(new ProducerRecord<>("events", 1, null, "y"));
    assertThatThrownBy(f::join).isInstanceOf(CompletionException.class).cause()
        .isInstanceOfSatisfying(BrookException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
          assertThat(e.retriable()).isFalse();
        });
  }

  @Test
  void recordTooLargeFailsWithoutSendingOrFromTheBroker() throws Exception {
    Producer<String, String> p = producer(producerConfig().maxRequestSize(10_000));
    int before = cluster.produceRequests.get();
    CompletableFuture<RecordMetadata> f = p.send(new ProducerRecord<>("events", "k", "x".repeat(20_000)));
    assertThat(f).isCompletedExceptionally();
    assertThatThrownBy(f::join).cause().isInstanceOfSatisfying(BrookException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.RECORD_TOO_LARGE));
    assertThat(cluster.produceRequests.get()).isEqualTo(before);

    cluster.maxBatchBytes = 1000;
    CompletableFuture<RecordMetadata> g = p.send(new ProducerRecord<>("events", "k", "x".repeat(5_000)));
    assertThatThrownBy(g::join).cause().isInstanceOfSatisfying(BrookException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.RECORD_TOO_LARGE));
    // Small records still go through.
    assertThat(p.send(new ProducerRecord<>("events", "k", "ok")).get().offset()).isGreaterThanOrEqualTo(0);
  }

  @Test
  void severalRequestsInFlightKeepPartitionOrder() throws Exception {
    cluster.holdProduceAnswers = 4;
    Producer<String, String> p = producer(producerConfig().batchSize(256).lingerMs(0).maxInFlightRequests(5));
    List<CompletableFuture<RecordMetadata>> futures = new ArrayList<>();
    for (int i = 0; i < 400; i++) futures.add(p.send(new ProducerRecord<>("events", 2, null, "value-" + i)));
    p.flush();
    assertThat(cluster.maxPendingProduce.get()).isGreaterThan(1);
    for (int i = 0; i < 400; i++) assertThat(futures.get(i).join().offset()).isEqualTo(i);
    List<Record> log = cluster.records("events", 2);
    for (int i = 0; i < 400; i++) assertThat(log.get(i).getValue().toStringUtf8()).isEqualTo("value-" + i);
  }

  @Test
  void acksZeroCompletesWithoutOffsets() throws Exception {
    Producer<String, String> p = producer(producerConfig().acks("0"));
    RecordMetadata md = p.send(new ProducerRecord<>("events", 0, null, "fire")).get();
    assertThat(md.offset()).isEqualTo(-1);
    await().atMost(Duration.ofSeconds(5)).until(() -> cluster.partition("events", 0).logEnd == 1);
  }

  @Test
  void unknownTopicAndInvalidNamesFail() {
    Producer<String, String> p = producer(producerConfig().maxBlockMs(2000));   // long enough for a first answer on a loaded machine
    assertThatThrownBy(() -> p.send(new ProducerRecord<>("bad name!", "x")).join()).cause()
        .isInstanceOfSatisfying(BrookException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_TOPIC));
    assertThatThrownBy(() -> p.send(new ProducerRecord<>("missing", "x")).join()).cause()
        .isInstanceOfSatisfying(BrookException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    Consumer<String, String> c = consumer(ConsumerConfig.builder());
    assertThatThrownBy(() -> c.partitionsFor("missing")).isInstanceOfSatisfying(BrookException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    assertThat(c.partitionsFor("events")).hasSize(3).allMatch(pi -> "broker-1:9092".equals(pi.leaderAddress()));
  }

  @Test
  void boundedTopicLookupsFailAtOnceForAMissingTopicInsteadOfWaitingForItsCreation() {
    Producer<String, String> p = producer(producerConfig());   // maxBlockMs 60 s: send() would wait that long
    long start = System.nanoTime();
    assertThatThrownBy(() -> p.partitionsFor("missing", Duration.ofSeconds(30)))
        .isInstanceOfSatisfying(BrookException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    Consumer<String, String> c = consumer(ConsumerConfig.builder());
    assertThatThrownBy(() -> c.partitionsFor("missing", Duration.ofSeconds(30)))
        .isInstanceOfSatisfying(BrookException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
    assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(15_000);
    assertThat(p.partitionsFor("events", Duration.ofSeconds(30))).hasSize(3);
    assertThatThrownBy(() -> p.partitionsFor("bad name!", Duration.ofSeconds(30)))
        .isInstanceOfSatisfying(BrookException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_TOPIC));
  }

  @Test
  void aMetadataAnswerOlderThanTheAppliedViewIsAskedAgainNotTakenAsNothing() throws Exception {
    cluster.metadataVersion = 10;
    Producer<String, String> p = producer(producerConfig());
    p.send(new ProducerRecord<>("events", 0, null, "x")).get();   // the client's view is at version 10
    cluster.metadataVersion = 5;   // now every broker answers from an older view (they lag behind)
    cluster.createTopic("late", 1, 1);
    java.util.concurrent.ScheduledExecutorService timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      timer.schedule(() -> cluster.metadataVersion = 11, 300, TimeUnit.MILLISECONDS);   // the brokers catch up
      // Used to fail at once with a NullPointerException: the older answer listed the topic but was not applied.
      assertThat(p.send(new ProducerRecord<>("late", null, "y")).get(20, TimeUnit.SECONDS).partition()).isZero();
    } finally {
      timer.shutdownNow();
    }
  }

  @Test
  void consumerSkipsRecordsBelowAMidBatchPosition() throws Exception {
    Producer<String, String> p = producer(producerConfig().lingerMs(60_000));
    for (int i = 0; i < 10; i++) p.send(new ProducerRecord<>("events", 0, null, "v" + i));
    p.flush();
    assertThat(cluster.partition("events", 0).snapshot()).hasSize(1);   // one batch of 10
    Consumer<String, String> c = consumer(ConsumerConfig.builder().maxPollRecords(3));
    TopicPartition tp = new TopicPartition("events", 0);
    c.assign(List.of(tp));
    c.seek(tp, 4);
    List<ConsumerRecord<String, String>> first = new ArrayList<>();
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      c.poll(Duration.ofMillis(100)).forEach(first::add);
      return !first.isEmpty();
    });
    assertThat(first).extracting(ConsumerRecord::offset).containsExactly(4L, 5L, 6L);   // maxPollRecords
    assertThat(c.position(tp)).isEqualTo(7);
    List<ConsumerRecord<String, String>> rest = pollUntil(c, 3);
    assertThat(rest).extracting(ConsumerRecord::value).containsExactly("v7", "v8", "v9");
  }

  @Test
  void resetPolicies() throws Exception {
    Producer<String, String> p = producer(producerConfig());
    for (int i = 0; i < 10; i++) p.send(new ProducerRecord<>("events", 0, null, "v" + i));
    p.flush();
    TopicPartition tp = new TopicPartition("events", 0);

    Consumer<String, String> latest = consumer(ConsumerConfig.builder());
    latest.assign(List.of(tp));
    assertThat(latest.position(tp)).isEqualTo(10);
    latest.seekToBeginning(List.of(tp));
    assertThat(latest.position(tp)).isZero();
    latest.seekToEnd(List.of());
    assertThat(latest.position(tp)).isEqualTo(10);
    assertThat(latest.beginningOffsets(List.of(tp))).containsEntry(tp, 0L);
    assertThat(latest.endOffsets(List.of(tp))).containsEntry(tp, 10L);

    Consumer<String, String> none = consumer(ConsumerConfig.builder().autoOffsetReset("none"));
    none.assign(List.of(tp));
    assertThatThrownBy(() -> none.poll(Duration.ofMillis(10))).isInstanceOf(BrookException.class);
    none.seek(tp, 50);   // beyond the log end: OFFSET_OUT_OF_RANGE from the broker
    assertThatThrownBy(() -> {
      while (true) none.poll(Duration.ofMillis(100));
    }).isInstanceOfSatisfying(BrookException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE));

    // Retention moved the log start: an old position resets to the earliest offset still there.
    synchronized (cluster.partition("events", 0)) {
      cluster.partition("events", 0).logStart = 5;
    }
    Consumer<String, String> earliest = consumer(ConsumerConfig.builder().autoOffsetReset("earliest"));
    earliest.assign(List.of(tp));
    earliest.seek(tp, 2);
    List<ConsumerRecord<String, String>> got = pollUntil(earliest, 5);
    assertThat(got).extracting(ConsumerRecord::offset).containsExactly(5L, 6L, 7L, 8L, 9L);
  }

  @Test
  void anOutOfRangePositionIsResetVisiblyAndWithPolicyNoneIsAnErrorNamingTheRange() throws Exception {
    Producer<String, String> p = producer(producerConfig());
    for (int i = 0; i < 10; i++) p.send(new ProducerRecord<>("events", 0, null, "v" + i));
    p.flush();
    TopicPartition tp = new TopicPartition("events", 0);
    synchronized (cluster.partition("events", 0)) {
      cluster.partition("events", 0).logStart = 3;   // retention deleted offsets 0-2
    }

    List<OffsetResetEvent> resets = new java.util.concurrent.CopyOnWriteArrayList<>();
    Consumer<String, String> earliest = consumer(ConsumerConfig.builder().autoOffsetReset("earliest")
        .offsetResetListener(resets::add));
    earliest.assign(List.of(tp));
    earliest.seek(tp, 1);   // below the log start
    assertThat(pollUntil(earliest, 7)).extracting(ConsumerRecord::offset).startsWith(3L).hasSize(7);
    assertThat(resets).containsExactly(new OffsetResetEvent(tp, 1, 3, 10, ConsumerConfig.OffsetReset.EARLIEST, 3));
    assertThat(resets.get(0).describe())
        .isEqualTo("partition events-0: offset 1 is out of range [3, 10]; reset to offset 3 (earliest, per the reset policy)");

    resets.clear();
    Consumer<String, String> latest = consumer(ConsumerConfig.builder().autoOffsetReset("latest")
        .offsetResetListener(resets::add));
    latest.assign(List.of(tp));
    latest.seek(tp, 50);   // beyond the high watermark
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      latest.poll(Duration.ofMillis(50));
      return !resets.isEmpty();
    });
    assertThat(resets).containsExactly(new OffsetResetEvent(tp, 50, 3, 10, ConsumerConfig.OffsetReset.LATEST, 10));
    assertThat(latest.position(tp)).isEqualTo(10);
    // A position set by seek() is not reported: only resets of out-of-range positions are.
    latest.seekToBeginning(List.of(tp));
    assertThat(latest.position(tp)).isEqualTo(3);
    assertThat(resets).hasSize(1);

    Consumer<String, String> none = consumer(ConsumerConfig.builder().autoOffsetReset("none")
        .offsetResetListener(resets::add));
    none.assign(List.of(tp));
    none.seek(tp, 50);
    assertThatThrownBy(() -> {
      while (true) none.poll(Duration.ofMillis(100));
    }).isInstanceOfSatisfying(BrookException.class, e -> {
      assertThat(e.code()).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE);
      assertThat(e.getMessage()).contains("events-0", "offset 50", "[3, 10]", "none");
    });
    assertThat(resets).hasSize(1);   // nothing was reset
  }

  @Test
  void offsetsForTimesPauseAndWakeup() throws Exception {
    Producer<String, String> p = producer(producerConfig());
    for (int i = 0; i < 5; i++) p.send(new ProducerRecord<>("events", 0, 1000L + i * 10, null, "v" + i, null));
    p.flush();
    TopicPartition tp = new TopicPartition("events", 0);
    Consumer<String, String> c = consumer(ConsumerConfig.builder().autoOffsetReset("earliest"));
    c.assign(List.of(tp));
    assertThat(c.offsetsForTimes(Map.of(tp, 1015L))).containsEntry(tp, new OffsetAndTimestamp(2, 1020));
    assertThat(c.offsetsForTimes(Map.of(tp, 9999L)).get(tp)).isNull();

    c.pause(List.of(tp));
    assertThat(c.poll(Duration.ofMillis(50)).isEmpty()).isTrue();
    c.resume(List.of(tp));
    assertThat(pollUntil(c, 5)).hasSize(5);

    c.wakeup();
    assertThatThrownBy(() -> c.poll(Duration.ofSeconds(10))).isInstanceOf(WakeupException.class);
    // A poll blocked on an empty partition is woken from another thread.
    Thread waker = new Thread(() -> {
      await().pollDelay(Duration.ofMillis(50)).until(() -> true);
      c.wakeup();
    });
    waker.start();
    assertThatThrownBy(() -> c.poll(Duration.ofSeconds(30))).isInstanceOf(WakeupException.class);
    waker.join();
  }

  @Test
  void closeFlushesBufferedRecords() throws Exception {
    Producer<String, String> p = new Producer<>(producerConfig().lingerMs(60_000).build(),
        Serdes.stringSerializer(), Serdes.stringSerializer());
    CompletableFuture<RecordMetadata> f = p.send(new ProducerRecord<>("events", 0, null, "last"));
    p.close();
    assertThat(f.join().offset()).isZero();
    assertThatThrownBy(() -> p.send(new ProducerRecord<>("events", "x"))).isInstanceOf(IllegalStateException.class);
  }
}
