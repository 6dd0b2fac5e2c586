package dev.brook.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.broker.server.BrookNode;
import dev.brook.broker.server.NodeConfig;
import dev.brook.client.Admin;
import dev.brook.client.Consumer;
import dev.brook.client.ConsumerConfig;
import dev.brook.client.ConsumerRecord;
import dev.brook.client.NewTopic;
import dev.brook.client.Producer;
import dev.brook.client.ProducerConfig;
import dev.brook.client.ProducerRecord;
import dev.brook.client.RecordMetadata;
import dev.brook.client.TopicPartition;
import dev.brook.client.serialization.Serdes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole node in-process (quorum and broker), driven through the Java SDK: keyed records go to
 * stable partitions, come back in per-partition order, and survive a restart of the node.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SingleNodeEndToEndTest {
  private static final int RECORDS = 100_000;
  private static final int KEYS = 1_000;

  @TempDir
  Path dataDir;

  private BrookNode node;

  @AfterEach
  void stop() {
    if (node != null) node.close();
  }

  private BrookNode start() throws Exception {
    return BrookNode.start(NodeConfig.dev(dataDir, 0, Map.of()));
  }

  @Test
  void keyedRecordsComeBackInPartitionOrderAndSurviveRestart() throws Exception {
    node = start();
    try (Admin admin = Admin.create(node.brokerAddress())) {
      admin.createTopics(List.of(new NewTopic("events", 3, 1, Map.of()))).values().get("events").get(30, TimeUnit.SECONDS);
    }

    Map<String, Integer> partitionOfKey = new HashMap<>();
    ProducerConfig pc = ProducerConfig.builder().bootstrapServers(node.brokerAddress()).acks("all")
        .lingerMs(5).batchSize(16384).build();
    try (Producer<String, String> producer = new Producer<>(pc, Serdes.stringSerializer(), Serdes.stringSerializer())) {
      List<CompletableFuture<RecordMetadata>> sends = new ArrayList<>(RECORDS);
      for (int i = 0; i < RECORDS; i++) {
        sends.add(producer.send(new ProducerRecord<>("events", "key-" + (i % KEYS), Integer.toString(i))));
      }
      producer.flush();
      for (int i = 0; i < RECORDS; i++) {
        RecordMetadata md = sends.get(i).get(30, TimeUnit.SECONDS);
        Integer previous = partitionOfKey.putIfAbsent("key-" + (i % KEYS), md.partition());
        if (previous != null) {
          assertThat(md.partition()).as("partition of key-%d", i % KEYS).isEqualTo(previous);
        }
      }
    }
    assertThat(partitionOfKey.values()).as("keys spread over partitions").contains(0, 1, 2);

    verifyAllRecords(partitionOfKey);

    node.close();
    node = start();
    verifyAllRecords(partitionOfKey);
  }

  /** Reads every partition from the beginning and checks count, order and key placement. */
  private void verifyAllRecords(Map<String, Integer> partitionOfKey) {
    ConsumerConfig cc = ConsumerConfig.builder().bootstrapServers(node.brokerAddress())
        .autoOffsetReset("earliest").maxPollRecords(5000).build();
    try (Consumer<String, String> consumer = new Consumer<>(cc, Serdes.stringDeserializer(), Serdes.stringDeserializer())) {
      List<TopicPartition> tps = List.of(new TopicPartition("events", 0), new TopicPartition("events", 1),
          new TopicPartition("events", 2));
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      long[] nextOffset = new long[3];
      Map<String, Integer> lastValueOfKey = new HashMap<>();
      int received = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (received < RECORDS) {
        assertThat(System.nanoTime()).as("all records arrive in time (got %d)", received).isLessThan(deadline);
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          assertThat(r.offset()).as("offsets of partition %d are dense and ordered", r.partition())
              .isEqualTo(nextOffset[r.partition()]);
          nextOffset[r.partition()]++;
          assertThat(r.partition()).isEqualTo(partitionOfKey.get(r.key()));
          int value = Integer.parseInt(r.value());
          Integer last = lastValueOfKey.put(r.key(), value);
          if (last != null) {
            assertThat(value).as("values of %s in send order", r.key()).isGreaterThan(last);
          }
          received++;
        }
      }
      assertThat(received).isEqualTo(RECORDS);
      assertThat(nextOffset[0] + nextOffset[1] + nextOffset[2]).isEqualTo(RECORDS);
      for (TopicPartition tp : tps) {
        assertThat(consumer.position(tp)).isEqualTo(nextOffset[tp.partition()]);
      }
    }
  }
}
