package dev.brook.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.proto.v1.BrokerMetadata;
import dev.brook.proto.v1.CompressionCodec;
import dev.brook.proto.v1.MetadataResponse;
import dev.brook.proto.v1.PartitionMetadata;
import dev.brook.proto.v1.TopicMetadata;
import dev.brook.protocol.StoredBatch;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RecordAccumulatorTest {
  private static final TopicPartition TP = new TopicPartition("t", 0);
  private final AtomicInteger wakeups = new AtomicInteger();
  private final BufferPool pool = new BufferPool(1 << 20, 1024);
  private final ChannelPool channels = new ChannelPool(a -> {
    throw new IllegalStateException("no network in this test");
  }, 1, 1);
  private final Metadata metadata = new Metadata(List.of("b:1"), channels, 1000, 100, false);

  RecordAccumulatorTest() {
    metadata.update(MetadataResponse.newBuilder()
        .addBrokers(BrokerMetadata.newBuilder().setNodeId(1).setAddress("b:1"))
        .addTopics(TopicMetadata.newBuilder().setName("t")
            .addPartitions(PartitionMetadata.newBuilder().setPartition(0).setLeaderId(1))
            .addPartitions(PartitionMetadata.newBuilder().setPartition(1).setLeaderId(-1)))
        .build());
  }

  @AfterEach
  void close() {
    channels.close();
  }

  private RecordAccumulator accumulator(long lingerMs) {
    return new RecordAccumulator(1024, lingerMs, 120_000, CompressionCodec.COMPRESSION_NONE, pool,
        wakeups::incrementAndGet);
  }

  private static CompletableFuture<RecordMetadata> append(RecordAccumulator acc, TopicPartition tp, long now)
      throws InterruptedException {
    return acc.append(tp, now, null, new byte[100], List.of(), 1000, false, now);
  }

  @Test
  void batchIsReadyWhenFullEvenBeforeLinger() throws Exception {
    RecordAccumulator acc = accumulator(10_000);
    int appended = 0;
    while (acc.ready(metadata, 0).readyByLeader().isEmpty()) {
      append(acc, TP, 0);
      appended++;
    }
    // ~104 bytes per record into 1024: the 10th record opens a second batch.
    assertThat(appended).isEqualTo(10);
    assertThat(wakeups.get()).isEqualTo(2);
    List<ProducerBatch> drained = acc.drain(List.of(TP), 1 << 20, 0);
    assertThat(drained).hasSize(1);
    assertThat(drained.get(0).recordCount()).isEqualTo(9);
    assertThat(drained.get(0).wire().getCrc()).isEqualTo(StoredBatch.computeCrc(drained.get(0).wire()));
    // The second batch waits for its linger.
    assertThat(acc.ready(metadata, 0).readyByLeader()).isEmpty();
    assertThat(acc.drain(List.of(TP), 1 << 20, 0)).isEmpty();
  }

  @Test
  void batchIsReadyAfterLinger() throws Exception {
    RecordAccumulator acc = accumulator(5);
    append(acc, TP, 100);
    append(acc, TP, 102);
    RecordAccumulator.ReadyCheck early = acc.ready(metadata, 104);
    assertThat(early.readyByLeader()).isEmpty();
    assertThat(early.nextCheckDelayMs()).isEqualTo(1);
    assertThat(acc.ready(metadata, 105).readyByLeader()).containsOnlyKeys("b:1");
    List<ProducerBatch> drained = acc.drain(List.of(TP), 1 << 20, 105);
    assertThat(drained).singleElement().extracting(ProducerBatch::recordCount).isEqualTo(2);
  }

  @Test
  void flushMakesBatchesReadyAndUnknownLeadersAreReported() throws Exception {
    RecordAccumulator acc = accumulator(10_000);
    append(acc, TP, 0);
    append(acc, new TopicPartition("t", 1), 0);
    assertThat(acc.ready(metadata, 1).readyByLeader()).isEmpty();
    acc.beginFlush();
    RecordAccumulator.ReadyCheck r = acc.ready(metadata, 1);
    assertThat(r.readyByLeader()).containsOnlyKeys("b:1");
    assertThat(r.unknownLeaderTopics()).containsExactly("t");
    acc.endFlush();
  }

  @Test
  void retriedBatchGoesBackInOrderAfterBackoff() throws Exception {
    RecordAccumulator acc = accumulator(0);
    CompletableFuture<RecordMetadata> first = append(acc, TP, 0);
    ProducerBatch b1 = acc.drain(List.of(TP), 1 << 20, 0).get(0);
    append(acc, TP, 0);
    ProducerBatch b2 = acc.drain(List.of(TP), 1 << 20, 0).get(0);
    append(acc, TP, 0);
    acc.reenqueue(b2, 50);
    acc.reenqueue(b1, 50);
    assertThat(acc.drain(List.of(TP), 1 << 20, 10)).isEmpty();   // backoff holds the partition
    assertThat(acc.drain(List.of(TP), 1 << 20, 50)).containsExactly(b1);
    assertThat(acc.drain(List.of(TP), 1 << 20, 50)).containsExactly(b2);
    assertThat(acc.drain(List.of(TP), 1 << 20, 50)).hasSize(1);
    acc.complete(b1, 7);
    assertThat(first.get().offset()).isEqualTo(7);
  }

  @Test
  void withGuaranteedOrderAPartitionHasOneBatchInFlight() throws Exception {
    RecordAccumulator acc = new RecordAccumulator(1024, 0, 120_000, CompressionCodec.COMPRESSION_NONE, pool,
        wakeups::incrementAndGet, true);
    append(acc, TP, 0);
    ProducerBatch b1 = acc.drain(List.of(TP), 1 << 20, 0).get(0);
    append(acc, TP, 0);
    // b1 is unanswered (its leader may have moved meanwhile): b2 must not overtake it.
    assertThat(acc.isMuted(TP)).isTrue();
    assertThat(acc.ready(metadata, 1).readyByLeader()).isEmpty();
    assertThat(acc.drain(List.of(TP), 1 << 20, 1)).isEmpty();
    // Refused (e.g. NOT_LEADER) and put back: it goes out again first, after the backoff.
    int before = wakeups.get();
    acc.reenqueue(b1, 50);
    assertThat(wakeups.get()).isGreaterThan(before);
    assertThat(acc.drain(List.of(TP), 1 << 20, 10)).isEmpty();
    assertThat(acc.drain(List.of(TP), 1 << 20, 50)).containsExactly(b1);
    assertThat(acc.drain(List.of(TP), 1 << 20, 50)).isEmpty();
    before = wakeups.get();
    acc.complete(b1, 0);
    assertThat(wakeups.get()).as("an answer unmutes the partition and wakes the sender").isGreaterThan(before);
    assertThat(acc.ready(metadata, 50).readyByLeader()).containsOnlyKeys("b:1");
    ProducerBatch b2 = acc.drain(List.of(TP), 1 << 20, 50).get(0);
    append(acc, TP, 50);
    assertThat(acc.drain(List.of(TP), 1 << 20, 60)).isEmpty();
    acc.finish(b2, new BrookException(dev.brook.proto.v1.ErrorCode.RECORD_TOO_LARGE, "failed"));
    assertThat(acc.isMuted(TP)).isFalse();
    assertThat(acc.drain(List.of(TP), 1 << 20, 60)).hasSize(1);
  }

  @Test
  void withoutGuaranteedOrderPartitionsAreNotMuted() throws Exception {
    RecordAccumulator acc = accumulator(0);
    append(acc, TP, 0);
    assertThat(acc.drain(List.of(TP), 1 << 20, 0)).hasSize(1);
    append(acc, TP, 0);
    assertThat(acc.isMuted(TP)).isFalse();
    assertThat(acc.drain(List.of(TP), 1 << 20, 0)).hasSize(1);
  }

  @Test
  void memoryIsReservedUntilCompletion() throws Exception {
    RecordAccumulator acc = accumulator(0);
    long before = pool.availableMemory();
    append(acc, TP, 0);
    assertThat(pool.availableMemory()).isEqualTo(before - 1024);
    ProducerBatch b = acc.drain(List.of(TP), 1 << 20, 0).get(0);
    assertThat(pool.availableMemory()).isEqualTo(before - 1024);
    acc.complete(b, 0);
    assertThat(pool.availableMemory()).isEqualTo(before);
    assertThat(acc.hasIncomplete()).isFalse();
  }
}
