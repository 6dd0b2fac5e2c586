package dev.brook.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.broker.server.BrookNode;
import dev.brook.broker.server.NodeConfig;
import dev.brook.client.Admin;
import dev.brook.client.BrookException;
import dev.brook.client.NewTopic;
import dev.brook.client.Producer;
import dev.brook.client.ProducerConfig;
import dev.brook.client.ProducerRecord;
import dev.brook.client.serialization.Serdes;
import dev.brook.proto.v1.ErrorCode;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Operator input against a real single-node cluster with auto.create.topics.enable=false: counts
 * of 0 are errors, a missing topic or a dead broker fails within seconds with one line, an
 * out-of-range offset is reset with a warning, a port in use and a bad config line are named.
 */
@Timeout(120)
class OperatorInputTest {
  /** "Fails in seconds": generous for a loaded machine, far below the 30-60 s client timeouts. */
  private static final long FAST_MS = 15_000;

  @TempDir
  static Path dir;

  private static BrookNode node;

  private record Run(int exitCode, String out, String err, long millis) {
    /** The one-line error contract. */
    Run failedWith(String... parts) {
      assertThat(exitCode).as("exit code of a failure, stderr: %s", err).isEqualTo(1);
      assertThat(err.strip()).startsWith("error: ").doesNotContain("\n").contains(parts);
      return this;
    }

    Run fast() {
      assertThat(millis).as("milliseconds to fail").isLessThan(FAST_MS);
      return this;
    }
  }

  @BeforeAll
  static void startNode() throws Exception {
    node = BrookNode.start(NodeConfig.dev(dir.resolve("node"), 0, Map.of("auto.create.topics.enable", "false",
        "num.partitions", "3")));
    node.awaitReady(30_000);
  }

  @AfterAll
  static void stopNode() {
    if (node != null) node.close();
  }

  private static Run run(String... args) {
    return runWithStdin("", args);
  }

  private static Run runWithStdin(String stdin, String... args) {
    CommandLine cl = BrookCli.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    InputStream in = System.in;
    System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
    long start = System.nanoTime();
    try {
      int code = cl.execute(args);
      return new Run(code, out.toString(), err.toString(), (System.nanoTime() - start) / 1_000_000);
    } finally {
      System.setIn(in);
    }
  }

  private static String[] at(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--bootstrap-server");
    all.add(node.brokerAddress());
    return all.toArray(String[]::new);
  }

  /** A port nothing listens on. */
  private static int deadPort() throws Exception {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
      return s.getLocalPort();
    }
  }

  private static List<String> topics() {
    try (Admin admin = Admin.create(node.brokerAddress())) {
      return List.copyOf(admin.listTopics().join());
    }
  }

  @Test
  void zeroOrNegativeCountsAreErrorsNotTheDefault() {
    run(at("topics", "create", "--topic", "zero", "--partitions", "0"))
        .failedWith("--partitions must be at least 1, got 0", "INVALID_PARTITIONS");
    run(at("topics", "create", "--topic", "zero", "--partitions", "-2"))
        .failedWith("--partitions must be at least 1, got -2", "INVALID_PARTITIONS");
    run(at("topics", "create", "--topic", "zero", "--replication-factor", "0"))
        .failedWith("--replication-factor must be at least 1, got 0", "INVALID_REPLICATION_FACTOR");
    run(at("topics", "create", "--topic", "zero", "--replication-factor", "-1"))
        .failedWith("INVALID_REPLICATION_FACTOR");
    assertThat(topics()).doesNotContain("zero");
    // Omitted, the cluster defaults apply (num.partitions=3 here).
    assertThat(run(at("topics", "create", "--topic", "defaults")).exitCode()).isZero();
    assertThat(run(at("topics", "describe", "--topic", "defaults")).out()).contains("PartitionCount: 3");
  }

  @Test
  void theClusterRefusesAnExplicitZeroFromAnyClientToo() {
    try (Admin admin = Admin.create(node.brokerAddress())) {
      assertThatThrownBy(() -> admin.createTopics(List.of(new NewTopic("sdk-zero", 0, 1))).values().get("sdk-zero").join())
          .isInstanceOf(CompletionException.class).cause().isInstanceOfSatisfying(BrookException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_PARTITIONS));
      assertThatThrownBy(() -> admin.createTopics(List.of(new NewTopic("sdk-zero", 1, 0))).values().get("sdk-zero").join())
          .isInstanceOf(CompletionException.class).cause().isInstanceOfSatisfying(BrookException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REPLICATION_FACTOR));
      assertThatThrownBy(() -> admin.createTopics(List.of(new NewTopic("sdk-zero", -1, 1))).values().get("sdk-zero").join())
          .cause().isInstanceOfSatisfying(BrookException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_PARTITIONS));
      admin.createTopics(List.of(NewTopic.withDefaults("sdk-defaults", Map.of()))).all().join();
      assertThat(admin.describeTopics(List.of("sdk-defaults")).join().get("sdk-defaults").partitions()).hasSize(3);
    }
    assertThat(topics()).doesNotContain("sdk-zero");
  }

  @Test
  void aDeadBrokerFailsEveryClientCommandWithinSeconds() throws Exception {
    String dead = "127.0.0.1:" + deadPort();
    String reason = "cannot reach any bootstrap server (" + dead + "): connection refused";
    run("topics", "list", "--bootstrap-server", dead).failedWith(reason).fast();
    run("topics", "create", "--topic", "t", "--bootstrap-server", dead).failedWith(reason).fast();
    run("cluster", "describe", "--bootstrap-server", dead).failedWith(reason).fast();
    run("consume", "--topic", "t", "--bootstrap-server", dead).failedWith(reason).fast();
    runWithStdin("a\n", "produce", "--topic", "t", "--bootstrap-server", dead).failedWith(reason).fast();
    run("perf", "consume", "--topic", "t", "--num-records", "1", "--bootstrap-server", dead).failedWith(reason).fast();
    run("perf", "produce", "--topic", "t", "--num-records", "1", "--record-size", "10", "--throughput", "-1",
        "--bootstrap-server", dead).failedWith(reason).fast();
  }

  @Test
  void anUnknownTopicFailsWithinSecondsWhenTheClusterDoesNotCreateTopics() {
    run(at("consume", "--topic", "nosuch")).failedWith("topic 'nosuch' does not exist").fast();
    runWithStdin("a\n", at("produce", "--topic", "nosuch"))
        .failedWith("topic 'nosuch' does not exist and the cluster did not create it", "auto.create.topics.enable")
        .fast();
    run(at("perf", "produce", "--topic", "nosuch", "--num-records", "1", "--record-size", "10", "--throughput", "-1"))
        .failedWith("topic 'nosuch' does not exist").fast();
    assertThat(topics()).doesNotContain("nosuch");
  }

  @Test
  void aPartitionThatDoesNotExistIsNamed() {
    assertThat(run(at("topics", "create", "--topic", "two", "--partitions", "2")).exitCode()).isZero();
    runWithStdin("a\n", at("produce", "--topic", "two", "--partition", "2"))
        .failedWith("topic 'two' has 2 partition(s) (0 to 1); there is no partition 2").fast();
    run(at("consume", "--topic", "two", "--partition", "5")).failedWith("there is no partition 5").fast();
  }

  @Test
  void perfCommitLeavesItsWarmUpCommitsOutOfTheFigures() {
    assertThat(run(at("topics", "create", "--topic", "committed", "--partitions", "2")).exitCode()).isZero();
    Run r = run(at("perf", "commit", "--topic", "committed", "--groups", "2", "--partitions-per-commit", "2",
        "--warmup-commits", "7", "--num-commits", "5"));
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out()).startsWith("5 commits (10 offsets), ");
    run(at("perf", "commit", "--topic", "committed", "--warmup-commits", "-1", "--num-commits", "5"))
        .failedWith("--warmup-commits must be >= 0").fast();
  }

  @Test
  void anOutOfRangeOffsetIsResetWithAWarningNamingPartitionOffsetRangeAndNewPosition() throws Exception {
    assertThat(run(at("topics", "create", "--topic", "ranged", "--partitions", "1")).exitCode()).isZero();
    try (Producer<String, String> p = new Producer<>(ProducerConfig.builder().bootstrapServers(node.brokerAddress())
        .build(), Serdes.stringSerializer(), Serdes.stringSerializer())) {
      for (int i = 0; i < 3; i++) p.send(new ProducerRecord<>("ranged", 0, null, null, "v" + i, null)).get(30, TimeUnit.SECONDS);
    }
    Run r = run(at("consume", "--topic", "ranged", "--partition", "0", "--offset", "50", "--timeout-ms", "500"));
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.err()).contains(
        "warning: partition ranged-0: offset 50 is out of range [0, 3]; reset to offset 3 (latest, per the reset policy)");
    r = run(at("consume", "--topic", "ranged", "--partition", "0", "--offset", "50", "--from-beginning",
        "--max-messages", "3"));
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.err()).contains("warning: partition ranged-0: offset 50 is out of range [0, 3]; reset to offset 0 (earliest");
  }

  @Test
  void devWithItsPortInUseNamesTheOptionAndCreatesNothing() throws Exception {
    Path data = dir.resolve("second-dev");
    int taken = Integer.parseInt(node.brokerAddress().substring(node.brokerAddress().lastIndexOf(':') + 1));
    run("dev", "--port", String.valueOf(taken), "--data-dir", data.toString())
        .failedWith("port " + taken + " (--port, the broker) on 127.0.0.1 is already in use").fast();
    assertThat(Files.exists(data)).isFalse();
  }

  @Test
  void serverNamesTheConfigFileLineOfABadValueAndOfAPortInUse() throws Exception {
    Path data = dir.resolve("second-server");
    Path config = dir.resolve("node2.properties");
    Files.writeString(config, "# a second node\nnode.id=1\nroles=quorum,broker\nbroker.address=" + node.brokerAddress()
        + "\nquorum.address=127.0.0.1:0\nquorum.voters=1@127.0.0.1:0\ndata.dir=" + data + "\n");
    run("server", "--config", config.toString())
        .failedWith(config + ":4: broker.address " + node.brokerAddress() + " is already in use").fast();
    assertThat(Files.exists(data)).isFalse();
    Files.writeString(config, "node.id=1\nroles=quorum,broker\nbroker.address=127.0.0.1:0\nquorum.address=127.0.0.1:0\n"
        + "quorum.voters=1@127.0.0.1:0\ndata.dir=" + data + "\nbroker.heartbeat.interval.ms=soon\n");
    run("server", "--config", config.toString())
        .failedWith(config + ":7: broker.heartbeat.interval.ms must be a whole number, got 'soon'");
    assertThat(Files.exists(data)).isFalse();
  }
}
