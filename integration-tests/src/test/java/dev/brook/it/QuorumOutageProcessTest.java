package dev.brook.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.client.Admin;
import dev.brook.client.NewTopic;
import dev.brook.client.PartitionInfo;
import dev.brook.client.Producer;
import dev.brook.client.ProducerConfig;
import dev.brook.client.ProducerRecord;
import dev.brook.client.serialization.Serdes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.AfterTestExecutionCallback;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Liveness after losing the metadata quorum (issue 8, item 4), with three node processes (quorum
 * and broker each): kill -9 of two nodes at once, an outage longer than every metadata client
 * timeout ({@code quorum.request.timeout.ms}, the Ratis client's RPC timeout and retries, the
 * session timeout), then one of the two comes back. The survivor is never restarted: its
 * metadata client must have kept retrying, it must register again once the new quorum leader
 * fenced it, and every partition must get a leader again and take acks=all writes, within the
 * session timeout plus 2 s of the returning node being up.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class QuorumOutageProcessTest {
  private static final String TOPIC = "outage";
  private static final int PARTITIONS = 3;
  private static final long SESSION_TIMEOUT_MS = 3000;
  private static final long REQUEST_TIMEOUT_MS = 3000;
  /** Longer than every client timeout above (and than the 7 s that broke the old client). */
  private static final Duration OUTAGE = Duration.ofSeconds(12);

  @TempDir
  Path dir;

  private ProcessCluster cluster;

  @RegisterExtension
  final AfterTestExecutionCallback logsOnFailure = context -> {
    if (context.getExecutionException().isPresent() && cluster != null) cluster.printLogTails(150);
  };

  @AfterEach
  void tearDown() {
    if (cluster != null) {
      if (Boolean.getBoolean("brook.test.printLogs")) cluster.printLogTails(400);
      cluster.close();
    }
  }

  @Test
  void twoOfThreeNodesDownLongerThanEveryTimeoutHealsWithoutRestartingTheSurvivor() throws Exception {
    cluster = new ProcessCluster(dir, Map.of(
        "broker.heartbeat.interval.ms", "500",
        "broker.session.timeout.ms", String.valueOf(SESSION_TIMEOUT_MS),
        "quorum.request.timeout.ms", String.valueOf(REQUEST_TIMEOUT_MS),
        "controlled.shutdown.timeout.ms", "3000"));
    cluster.start();
    try (Admin admin = Admin.create(cluster.bootstrap())) {
      admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, 3, Map.of()))).all().get(60, TimeUnit.SECONDS);
    }
    awaitAllPartitionsWritable(cluster.bootstrap(), Duration.ofSeconds(60));
    long survivorPid = cluster.node(1).pid();

    cluster.kill9(2);
    cluster.kill9(3);
    long killedAt = System.nanoTime();
    // The outage itself: the survivor must stay up (and keep answering) throughout.
    await("an outage of " + OUTAGE).pollDelay(OUTAGE).atMost(OUTAGE.plusSeconds(30))
        .until(() -> cluster.node(1).isAlive());

    long restartAt = System.nanoTime();
    System.out.println("QuorumOutageProcessTest: restarting node 2 at " + java.time.Instant.now());
    cluster.restart(2);
    long backAt = System.nanoTime();
    System.out.println("QuorumOutageProcessTest: node 2 ready at " + java.time.Instant.now());
    long writableAt = awaitAllPartitionsWritable(cluster.brokerAddress(1), Duration.ofSeconds(60));
    System.out.println("QuorumOutageProcessTest: every partition writable at " + java.time.Instant.now());
    double sinceStartS = (writableAt - restartAt) / 1e9;
    double sinceReadyS = (writableAt - backAt) / 1e9;
    System.out.printf("%s: outage %.1f s; acks=all on every partition again %.2f s after node 2 was started, "
            + "%.2f s after it was ready (session timeout %d ms)%n", getClass().getSimpleName(),
        (restartAt - killedAt) / 1e9, sinceStartS, sinceReadyS, SESSION_TIMEOUT_MS);

    assertThat(cluster.node(1).pid()).as("the survivor was not restarted").isEqualTo(survivorPid);
    assertThat(sinceReadyS).as("seconds from the returning node being ready to acks=all on every partition")
        .isLessThan(SESSION_TIMEOUT_MS / 1000.0 + 2);
    // Requests in flight on the broken Ratis client fail once when it is replaced; none after the
    // quorum answered again (before the fix, every heartbeat failed so for as long as it lived).
    String survivorLog = Files.readString(cluster.logFile(1));
    int healed = survivorLog.lastIndexOf("the metadata quorum answers again");
    assertThat(healed).as("node 1 logged that its metadata client reconnected").isPositive();
    assertThat(survivorLog.substring(healed)).as("node 1's output after its metadata client reconnected")
        .doesNotContain("AlreadyClosedException").doesNotContain("heartbeat to the metadata quorum failed");
  }

  /**
   * Waits until an acks=all record is acknowledged on every partition through {@code bootstrap}
   * and returns when that happened (System.nanoTime()).
   */
  private static long awaitAllPartitionsWritable(String bootstrap, Duration atMost) {
    ProducerConfig pc = ProducerConfig.builder().bootstrapServers(bootstrap).acks("all")
        .deliveryTimeoutMs(1500).requestTimeoutMs(1000).retryBackoffMs(50).lingerMs(0).build();
    try (Producer<String, String> producer = new Producer<>(pc, Serdes.stringSerializer(), Serdes.stringSerializer())) {
      boolean[] done = new boolean[PARTITIONS];
      await("acks=all on every partition through " + bootstrap).atMost(atMost).pollInterval(Duration.ofMillis(100))
          .ignoreExceptions().until(() -> {
            for (int p = 0; p < PARTITIONS; p++) {
              if (!done[p]) {
                producer.send(new ProducerRecord<>(TOPIC, p, "k", "v" + System.nanoTime())).get(3, TimeUnit.SECONDS);
                done[p] = true;
              }
            }
            return true;
          });
      return System.nanoTime();
    }
  }

  @SuppressWarnings("unused")
  private static List<PartitionInfo> describe(String bootstrap) throws Exception {
    try (Admin admin = Admin.create(bootstrap)) {
      return admin.describeTopics(List.of(TOPIC)).get(10, TimeUnit.SECONDS).get(TOPIC).partitions().stream()
          .sorted(Comparator.comparingInt(PartitionInfo::partition)).toList();
    }
  }
}
