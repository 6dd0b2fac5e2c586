package dev.brook.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What an operator sees when starting a second node with the node.id of a live one (issue 8,
 * item 5): {@code brook server} exits non-zero with one {@code error: ...} line that names the
 * node id and both incarnations, and the live node keeps serving.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DuplicateNodeIdProcessTest {
  @TempDir
  Path dir;

  private BrookProcess live;
  private Process impostor;

  @AfterEach
  void tearDown() {
    if (impostor != null) impostor.destroyForcibly();
    if (live != null) live.kill9();
  }

  @Test
  void aSecondNodeWithALiveNodesIdExitsWithOneErrorLine() throws Exception {
    int quorumPort = ProcessCluster.freePort();
    String voters = "1@127.0.0.1:" + quorumPort;
    Path liveConfig = Files.writeString(dir.resolve("node1.properties"), String.join("\n",
        "node.id=1", "roles=quorum,broker", "broker.address=127.0.0.1:" + ProcessCluster.freePort(),
        "quorum.address=127.0.0.1:" + quorumPort, "quorum.voters=" + voters, "data.dir=" + dir.resolve("data1"), ""));
    live = BrookProcess.startServer(liveConfig, dir.resolve("node1.log")).awaitReady();
    String incarnation = Files.readAllLines(dir.resolve("data1").resolve("meta.properties")).stream()
        .filter(l -> l.startsWith("incarnation.id=")).findFirst().orElseThrow().substring("incarnation.id=".length());

    Path impostorConfig = Files.writeString(dir.resolve("impostor.properties"), String.join("\n",
        "node.id=1", "roles=broker", "broker.address=127.0.0.1:" + ProcessCluster.freePort(),
        "quorum.voters=" + voters, "data.dir=" + dir.resolve("impostor"), ""));
    impostor = startCli(List.of("server", "--config", impostorConfig.toString()), dir.resolve("impostor.out"));
    assertThat(impostor.waitFor(90, TimeUnit.SECONDS)).as("the impostor exits by itself").isTrue();
    assertThat(impostor.exitValue()).isNotZero();
    String output = Files.readString(dir.resolve("impostor.out"), StandardCharsets.UTF_8);
    System.out.println("DuplicateNodeIdProcessTest: the impostor's output:\n" + output);
    assertThat(output).as("no stack trace for an expected refusal").doesNotContain("\tat ");
    List<String> errors = output.lines().filter(l -> l.startsWith("error: ")).toList();
    assertThat(errors).hasSize(1);
    assertThat(errors.get(0)).contains("node.id 1 is in use by a live node", incarnation);
    assertThat(live.isAlive()).isTrue();
    assertThat(Files.readString(dir.resolve("node1.log"))).contains("refused (NODE_ID_IN_USE)");
  }

  /** {@code brook ARGS} from this test's class path, stdout and stderr into {@code out}. */
  private static Process startCli(List<String> args, Path out) throws IOException {
    List<String> cmd = new java.util.ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m", "-XX:TieredStopAtLevel=1",
        "-cp", System.getProperty("java.class.path"), "dev.brook.cli.BrookCli"));
    cmd.addAll(args);
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
  }
}
