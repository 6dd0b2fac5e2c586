package dev.brook.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.brook.client.Admin;
import dev.brook.client.GroupDescription;
import dev.brook.client.NewTopic;
import dev.brook.client.Producer;
import dev.brook.client.ProducerConfig;
import dev.brook.client.ProducerRecord;
import dev.brook.client.serialization.Serdes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The consumer group CLI path with separate JVMs on a 3-node process cluster (issue 9's "done
 * when", smaller): three {@code consume --group} processes share a 6-partition RF 3 topic with
 * nothing missing; {@code groups describe --output json} shows three members with two partitions
 * each; after kill -9 of one consumer, then of the coordinator's node, the survivors receive
 * everything produced since; with the group stopped, {@code reset-offsets --to-earliest
 * --execute} makes a new member read everything again.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ConsumerGroupProcessTest {
  private static final String TOPIC = "t";
  private static final String GROUP = "g";
  private static final Duration WAIT = Duration.ofSeconds(90);

  @TempDir
  Path dir;

  private ProcessCluster cluster;
  private final List<Process> consumers = new ArrayList<>();
  private final List<Path> outputs = new ArrayList<>();

  @AfterEach
  void stop() {
    for (Process p : consumers) p.destroyForcibly();
    if (cluster != null) cluster.close();
  }

  private static Process cli(List<String> args, Path out) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx192m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), "dev.brook.cli.BrookCli"));
    cmd.addAll(args);
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
  }

  private String runCli(String... args) throws Exception {
    Path out = Files.createTempFile(dir, "cli", ".out");
    Process p = cli(List.of(args), out);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("brook %s finished", String.join(" ", args)).isTrue();
    String text = Files.readString(out);
    assertThat(p.exitValue()).as("brook %s: %s", String.join(" ", args), text).isZero();
    return text;
  }

  private void startConsumer(String bootstrap) throws IOException {
    Path out = dir.resolve("consumer" + consumers.size() + ".out");
    outputs.add(out);
    consumers.add(cli(List.of("consume", "--topic", TOPIC, "--group", GROUP, "--from-beginning",
        "--bootstrap-server", bootstrap), out));
  }

  /** Every value printed by the consumers whose outputs are given (warnings and errors are not values). */
  private static Set<String> seen(List<Path> files) throws IOException {
    Set<String> out = new HashSet<>();
    for (Path f : files) {
      if (!Files.exists(f)) continue;
      for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
        if (line.startsWith("v")) out.add(line);
      }
    }
    return out;
  }

  private static Set<String> values(int from, int to) {
    Set<String> out = new HashSet<>();
    IntStream.range(from, to).forEach(i -> out.add("v" + i));
    return out;
  }

  private void produce(String bootstrap, int from, int to) throws Exception {
    ProducerConfig pc = ProducerConfig.builder().bootstrapServers(bootstrap).acks("all").build();
    try (Producer<String, String> p = new Producer<>(pc, Serdes.stringSerializer(), Serdes.stringSerializer())) {
      for (int i = from; i < to; i++) p.send(new ProducerRecord<>(TOPIC, "k" + i, "v" + i));
      p.flush();
    }
  }

  @Test
  void threeConsumerProcessesShareATopicAndSurviveKillsOfAMemberAndOfTheCoordinator() throws Exception {
    cluster = new ProcessCluster(dir, Map.of(
        "group.consumer.session.timeout.ms", "6000",
        "group.consumer.heartbeat.interval.ms", "1000",
        "broker.session.timeout.ms", "4000"));
    cluster.start();
    String all = cluster.bootstrap();
    try (Admin admin = Admin.create(all)) {
      admin.createTopics(List.of(new NewTopic(TOPIC, 6, 3, Map.of()))).values().get(TOPIC).get(30, TimeUnit.SECONDS);
    }
    produce(all, 0, 6000);
    for (int i = 0; i < 3; i++) startConsumer(all);
    await().atMost(WAIT).untilAsserted(() -> assertThat(seen(outputs)).containsAll(values(0, 6000)));

    // describe --output json: three members with two partitions each, and no lag.
    await().atMost(WAIT).untilAsserted(() -> {
      JsonNode d = new ObjectMapper().readTree(runCli("groups", "describe", "--group", GROUP, "--output", "json",
          "--bootstrap-server", all));
      assertThat(d.get("members")).hasSize(3);
      d.get("members").forEach(m -> assertThat(m.get("partitions")).hasSize(2));
      d.get("offsets").forEach(o -> assertThat(o.get("lag").asLong()).isZero());
    });

    // kill -9 of one consumer: the two others take its partitions and get everything produced after.
    consumers.get(0).destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    produce(all, 6000, 9000);
    List<Path> survivors = outputs.subList(1, 3);
    await().atMost(WAIT).untilAsserted(() -> assertThat(seen(survivors)).containsAll(values(6000, 9000)));

    // kill -9 of the coordinator's node: another broker coordinates, consumption goes on.
    int coordinator;
    try (Admin admin = Admin.create(all)) {
      GroupDescription d = admin.describeGroup(GROUP).get(30, TimeUnit.SECONDS);
      coordinator = d.coordinatorId();
    }
    cluster.kill9(coordinator);
    String rest = cluster.bootstrapWithout(coordinator);
    produce(rest, 9000, 10000);
    await().atMost(WAIT).untilAsserted(() -> assertThat(seen(survivors)).containsAll(values(9000, 10000)));

    // With the group stopped, a reset to the earliest offsets makes a new member read everything.
    for (Process p : consumers) p.destroy(); // SIGTERM: the CLI commits what it printed and leaves
    for (Process p : consumers) p.waitFor(30, TimeUnit.SECONDS);
    await().atMost(WAIT).untilAsserted(() -> {
      try (Admin admin = Admin.create(rest)) {
        assertThat(admin.describeGroup(GROUP).get(30, TimeUnit.SECONDS).members()).isEmpty();
      }
    });
    String reset = runCli("groups", "reset-offsets", "--group", GROUP, "--topic", TOPIC, "--to-earliest", "--execute",
        "--bootstrap-server", rest);
    assertThat(reset).contains("Offsets of group " + GROUP + " set.");
    Path again = dir.resolve("again.out");
    Process p = cli(List.of("consume", "--topic", TOPIC, "--group", GROUP, "--max-messages", "10000", "--timeout-ms", "20000",
        "--bootstrap-server", rest), again);
    consumers.add(p);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(seen(List.of(again))).containsAll(values(0, 10000));
  }
}
