package dev.brook.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.client.Admin;
import dev.brook.client.Consumer;
import dev.brook.client.ConsumerConfig;
import dev.brook.client.ConsumerRecord;
import dev.brook.client.NewTopic;
import dev.brook.client.PartitionInfo;
import dev.brook.client.Producer;
import dev.brook.client.ProducerConfig;
import dev.brook.client.ProducerRecord;
import dev.brook.client.TopicDescription;
import dev.brook.client.TopicPartition;
import dev.brook.client.serialization.Serdes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three separate node processes (quorum and broker each), as an operator runs them from config
 * files: replicas and leaders spread over the brokers; kill -9 of the broker leading partition 0
 * moves its leadership to another in-sync replica with a higher epoch; producing and consuming
 * through a surviving node keeps working and loses no acknowledged record; the killed node comes
 * back and takes its preferred leaderships back.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ThreeNodeProcessClusterTest {
  @TempDir
  Path dir;

  private ProcessCluster cluster;
  /** A fourth node with the broker role only: it follows the quorum remotely. */
  private BrookProcess brokerOnly;

  @AfterEach
  void stopAll() {
    if (cluster != null) cluster.close();
    if (brokerOnly != null) brokerOnly.kill9();
  }

  @Test
  void leaderFailoverKeepsAcknowledgedRecordsAndServesThroughSurvivors() throws Exception {
    cluster = new ProcessCluster(dir, Map.of(
        "min.insync.replicas", "2",
        "leader.imbalance.check.interval.ms", "1000"));
    Path brokerOnlyConfig = cluster.writeBrokerOnlyConfig(4);
    cluster.start();
    String all = cluster.bootstrap();

    // A broker-only node joins through the voters and serves the whole cluster's metadata.
    brokerOnly = BrookProcess.startServer(brokerOnlyConfig).awaitReady();
    try (Admin viaBrokerOnly = Admin.create(brokerOnly.brokerAddress())) {
      dev.brook.client.ClusterDescription c = viaBrokerOnly.describeCluster().get(30, TimeUnit.SECONDS);
      assertThat(c.quorumLeaderId()).isIn(1, 2, 3);
      assertThat(c.brokers()).extracting(dev.brook.client.BrokerNode::id).containsExactly(1, 2, 3, 4);
    }
    brokerOnly.close();
    brokerOnly = null;
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
      try (Admin a = Admin.create(all)) {
        assertThat(a.describeCluster().get(10, TimeUnit.SECONDS).brokers())
            .filteredOn(b -> b.id() == 4).allSatisfy(b -> assertThat(b.state()).isNotEqualTo("active"));
      }
    });

    try (Admin admin = Admin.create(all)) {
      admin.createTopics(List.of(new NewTopic("r", 6, 3, Map.of()))).all().get(60, TimeUnit.SECONDS);
      TopicDescription r = describe(admin);
      Map<Integer, Long> leadersPerBroker = r.partitions().stream()
          .collect(Collectors.groupingBy(PartitionInfo::leaderId, Collectors.counting()));
      assertThat(leadersPerBroker).as("leaders spread evenly").containsOnlyKeys(1, 2, 3).containsValues(2L);

      Map<String, long[]> acked = produce(all, "before", 3000);

      PartitionInfo p0 = r.partitions().get(0);
      int victim = p0.leaderId();
      cluster.kill9(victim);
      String survivors = cluster.bootstrapWithout(victim);

      try (Admin viaSurvivor = Admin.create(survivors)) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
          PartitionInfo now = describe(viaSurvivor).partitions().get(0);
          assertThat(now.leaderId()).isNotEqualTo(victim).isPositive();
          assertThat(now.leaderEpoch()).isGreaterThan(p0.leaderEpoch());
        });
      }
      acked.putAll(produce(survivors, "after", 3000));
      assertAllPresent(survivors, acked);

      cluster.restart(victim);
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
        for (PartitionInfo p : describe(admin).partitions()) {
          assertThat(p.isr()).as("ISR of partition %d", p.partition()).hasSize(3);
          assertThat(p.leaderId()).as("preferred leader of partition %d", p.partition()).isEqualTo(p.replicas().get(0));
        }
      });
      assertAllPresent(cluster.node(victim).brokerAddress(), acked);
    }
  }

  private static TopicDescription describe(Admin admin) throws Exception {
    return admin.describeTopics(List.of("r")).get(30, TimeUnit.SECONDS).get("r");
  }

  /** Sends {@code n} keyed records with acks=all and returns value -> {partition, offset}. */
  private static Map<String, long[]> produce(String bootstrap, String prefix, int n) throws Exception {
    Map<String, long[]> acked = new HashMap<>();
    ProducerConfig pc = ProducerConfig.builder().bootstrapServers(bootstrap).acks("all").lingerMs(2).build();
    try (Producer<String, String> producer = new Producer<>(pc, Serdes.stringSerializer(), Serdes.stringSerializer())) {
      List<java.util.concurrent.CompletableFuture<dev.brook.client.RecordMetadata>> sends = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        sends.add(producer.send(new ProducerRecord<>("r", "k" + (i % 60), prefix + i)));
      }
      for (int i = 0; i < n; i++) {
        dev.brook.client.RecordMetadata md = sends.get(i).get(60, TimeUnit.SECONDS);
        acked.put(prefix + i, new long[] {md.partition(), md.offset()});
      }
    }
    return acked;
  }

  /** Reads the whole topic through {@code bootstrap}: every acknowledged record is where it was acknowledged. */
  private static void assertAllPresent(String bootstrap, Map<String, long[]> acked) {
    ConsumerConfig cc = ConsumerConfig.builder().bootstrapServers(bootstrap).autoOffsetReset("earliest")
        .maxPollRecords(5000).build();
    try (Consumer<String, String> consumer = new Consumer<>(cc, Serdes.stringDeserializer(), Serdes.stringDeserializer())) {
      List<TopicPartition> tps = new ArrayList<>();
      for (int p = 0; p < 6; p++) tps.add(new TopicPartition("r", p));
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      Map<String, long[]> found = new HashMap<>();
      Set<String> missing = new HashSet<>(acked.keySet());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!missing.isEmpty() && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
          found.put(r.value(), new long[] {r.partition(), r.offset()});
          missing.remove(r.value());
        }
      }
      assertThat(missing).as("acknowledged records missing").isEmpty();
      for (Map.Entry<String, long[]> e : acked.entrySet()) {
        assertThat(found.get(e.getKey())).as("position of %s", e.getKey()).containsExactly(e.getValue());
      }
    }
  }
}
