package dev.brook.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.client.Admin;
import dev.brook.client.Consumer;
import dev.brook.client.ConsumerConfig;
import dev.brook.client.ConsumerRecord;
import dev.brook.client.NewTopic;
import dev.brook.client.Producer;
import dev.brook.client.ProducerConfig;
import dev.brook.client.ProducerRecord;
import dev.brook.client.TopicPartition;
import dev.brook.client.serialization.Serdes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of a node under produce load loses no acknowledged record: after a restart on the same
 * data dir every acknowledged record is at the offset it was acknowledged with, and offsets stay
 * dense and ordered.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class KillNineTest {
  private static final int PARTITIONS = 3;

  @TempDir
  Path dir;

  @Test
  void acknowledgedRecordsSurviveKillNine() throws Exception {
    Path data = dir.resolve("data");
    Map<String, long[]> acked = new ConcurrentHashMap<>();
    try (BrookProcess first = BrookProcess.startDev(data)) {
      try (Admin admin = Admin.create(first.brokerAddress())) {
        admin.createTopics(List.of(new NewTopic("durable", PARTITIONS, 1, Map.of()))).all().get(30, TimeUnit.SECONDS);
      }
      ProducerConfig pc = ProducerConfig.builder().bootstrapServers(first.brokerAddress()).acks("1")
          .lingerMs(1).retries(0).deliveryTimeoutMs(5_000).requestTimeoutMs(5_000).maxBlockMs(5_000).build();
      AtomicBoolean stop = new AtomicBoolean();
      Producer<String, String> producer = new Producer<>(pc, Serdes.stringSerializer(), Serdes.stringSerializer());
      Thread load = new Thread(() -> {
        for (int i = 0; !stop.get(); i++) {
          String value = "v" + i;
          try {
            producer.send(new ProducerRecord<>("durable", "k" + (i % 50), value)).whenComplete((md, e) -> {
              if (e == null) acked.put(value, new long[] {md.partition(), md.offset()});
            });
          } catch (RuntimeException e) {
            return; // the node is gone: send refuses once buffers are full or the client fails
          }
        }
      }, "load");
      load.start();
      await().atMost(Duration.ofSeconds(60)).until(() -> acked.size() >= 20_000);
      first.kill9();
      stop.set(true);
      load.join(TimeUnit.SECONDS.toMillis(30));
      producer.close(Duration.ofSeconds(10));
    }
    Map<String, long[]> ackedBeforeKill = Map.copyOf(acked);
    assertThat(ackedBeforeKill.size()).isGreaterThanOrEqualTo(20_000);

    try (BrookProcess second = BrookProcess.startDev(data)) {
      ConsumerConfig cc = ConsumerConfig.builder().bootstrapServers(second.brokerAddress())
          .autoOffsetReset("earliest").maxPollRecords(10_000).build();
      try (Consumer<String, String> consumer = new Consumer<>(cc, Serdes.stringDeserializer(), Serdes.stringDeserializer())) {
        List<TopicPartition> tps = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) tps.add(new TopicPartition("durable", p));
        consumer.assign(tps);
        consumer.seekToBeginning(tps);
        Map<TopicPartition, Long> ends = consumer.endOffsets(tps);
        long total = ends.values().stream().mapToLong(Long::longValue).sum();
        assertThat(total).isGreaterThanOrEqualTo(ackedBeforeKill.size());
        Map<String, long[]> found = new ConcurrentHashMap<>();
        long[] next = new long[PARTITIONS];
        long read = 0;
        while (read < total) {
          for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
            assertThat(r.offset()).isEqualTo(next[r.partition()]);
            next[r.partition()]++;
            found.put(r.value(), new long[] {r.partition(), r.offset()});
            read++;
          }
        }
        for (Map.Entry<String, long[]> e : ackedBeforeKill.entrySet()) {
          assertThat(found.get(e.getKey())).as("acknowledged record %s", e.getKey()).containsExactly(e.getValue());
        }
      }
    }
  }
}
