package dev.brook.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.brook.broker.server.BrookNode;
import dev.brook.broker.server.NodeConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code topics create} and {@code topics describe} against a real single-node cluster: the
 * replication health marks, the filter options, and the warning for unclean leader election.
 * (Under-replicated partitions of a multi-broker cluster are covered by the process tests.)
 */
@Timeout(60)
class TopicsDescribeCommandTest {
  @TempDir
  static Path dir;

  private static BrookNode node;

  private record Run(int exitCode, String out, String err) {}

  @BeforeAll
  static void startNode() throws Exception {
    node = BrookNode.start(NodeConfig.dev(dir, 0, Map.of()));
    node.awaitReady(30_000);
    assertThat(run("topics", "create", "--topic", "healthy", "--partitions", "2").exitCode()).isZero();
    assertThat(run("topics", "create", "--topic", "strict", "--partitions", "2",
        "--config", "min.insync.replicas=2").exitCode()).isZero();
  }

  @AfterAll
  static void stopNode() throws Exception {
    if (node != null) node.close();
  }

  private static Run run(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--bootstrap-server");
    all.add(node.brokerAddress());
    CommandLine cl = BrookCli.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(all.toArray(String[]::new));
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void describeMarksPartitionsWithFewerInSyncReplicasThanMinInsync() {
    Run r = run("topics", "describe");
    assertThat(r.exitCode()).isZero();
    assertThat(r.out()).contains("Topic: healthy\t", "Topic: strict\t");
    assertThat(r.out().lines().filter(l -> l.contains("Partition:") && l.contains("Topic: healthy")))
        .hasSize(2).noneMatch(l -> l.contains("("));
    assertThat(r.out().lines().filter(l -> l.contains("Partition:") && l.contains("Topic: strict")))
        .hasSize(2).allMatch(l -> l.endsWith("(under-min-isr)"));
  }

  @Test
  void filtersPrintOnlyTheSelectedPartitions() throws Exception {
    Run r = run("topics", "describe", "--under-replicated");
    assertThat(r.exitCode()).isZero();
    assertThat(r.out()).as("a single-replica partition is fully replicated").isEmpty();

    r = run("topics", "describe", "--unavailable");
    assertThat(r.out()).isEmpty();

    r = run("topics", "describe", "--under-min-isr");
    assertThat(r.out().lines().toList()).hasSize(2)
        .allMatch(l -> l.startsWith("\tTopic: strict\tPartition: "))
        .allMatch(l -> l.endsWith("(under-min-isr)"));

    r = run("topics", "describe", "--under-min-isr", "--topic", "healthy", "--output", "json");
    assertThat(new ObjectMapper().readTree(r.out())).isEmpty();

    r = run("topics", "describe", "--under-min-isr", "--topic", "strict", "--output", "json");
    JsonNode partitions = new ObjectMapper().readTree(r.out()).get(0).get("partitions");
    assertThat(partitions).hasSize(2).allSatisfy(p -> {
      assertThat(p.get("underMinIsr").asBoolean()).isTrue();
      assertThat(p.get("underReplicated").asBoolean()).isFalse();
      assertThat(p.get("offline").asBoolean()).isFalse();
    });
  }

  @Test
  void enablingUncleanElectionWarnsButCreatesTheTopic() {
    Run r = run("topics", "create", "--topic", "risky", "--config", "unclean.leader.election.enable=true");
    assertThat(r.exitCode()).isZero();
    assertThat(r.err()).startsWith("warning: unclean.leader.election.enable=true").contains("lost");
    assertThat(run("topics", "describe", "--topic", "risky").out()).contains("unclean.leader.election.enable=true");

    r = run("topics", "create", "--topic", "careful", "--config", "unclean.leader.election.enable=false");
    assertThat(r.err()).isEmpty();
  }
}
