package dev.brook.broker.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Reading a node's properties file: the syntax, and errors that name the file and line. */
@Timeout(10)
class NodeConfigFileTest {
  private static final String VALID = String.join("\n",
      "# a comment",
      "! another comment",
      "",
      "node.id = 1",
      "roles: quorum,broker                 # or quorum / broker",
      "broker.address=127.0.0.1:9092   ",
      "quorum.address=127.0.0.1:9093",
      "quorum.voters=1@127.0.0.1:9093,\\",
      "    2@127.0.0.1:19093,\\",
      "    3@127.0.0.1:29093",
      "data.dir=C:\\brook\\data",
      "") + "\n";

  @TempDir
  Path dir;

  private Path write(String text) throws Exception {
    Path f = dir.resolve("node1.properties");
    Files.writeString(f, text, StandardCharsets.UTF_8);
    return f;
  }

  /** VALID with line {@code lineNo} (1-based) replaced. */
  private Path withLine(int lineNo, String line) throws Exception {
    String[] lines = VALID.split("\n", -1);
    lines[lineNo - 1] = line;
    return write(String.join("\n", lines));
  }

  private String errorOf(Path f) {
    try {
      NodeConfig.load(f);
      return null;
    } catch (ConfigException e) {
      return e.getMessage();
    }
  }

  @Test
  void commentsSeparatorsBlanksContinuationsAndBackslashesAsTheExamplesUseThem() throws Exception {
    NodeConfig c = NodeConfig.load(write(VALID));
    assertThat(c.nodeId()).isEqualTo(1);
    assertThat(c.roles()).containsExactlyInAnyOrder(NodeConfig.Role.QUORUM, NodeConfig.Role.BROKER);
    assertThat(c.brokerAddress()).isEqualTo(new HostPort("127.0.0.1", 9092));
    assertThat(c.voters()).hasSize(3);
    assertThat(c.dataDir().toString()).isEqualTo("C:\\brook\\data");
  }

  @Test
  void theShippedConfigFilesLoad() throws Exception {
    Path config = Path.of("..", "config");
    try (var files = Files.list(config)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".properties")).toList()) {
        assertThat(errorOf(f)).as(f.toString()).isNull();
      }
    }
  }

  @Test
  void aBadValueNamesTheFileAndLine() throws Exception {
    Path f = withLine(4, "node.id=one");
    assertThat(errorOf(f)).isEqualTo(f + ":4: node.id must be a whole number, got 'one'");
    f = withLine(6, "broker.address=127.0.0.1");
    assertThat(errorOf(f)).isEqualTo(f + ":6: broker.address must be host:port, got '127.0.0.1'");
    f = withLine(5, "roles=quorum,zookeeper");
    assertThat(errorOf(f)).startsWith(f + ":5: roles must list quorum and/or broker");
    // A value continued over several lines is reported at the line where it starts.
    f = withLine(9, "    2@127.0.0.1:19093,2@127.0.0.1:1,\\");
    assertThat(errorOf(f)).startsWith(f + ":8: quorum.voters");
    f = write(VALID + "broker.session.timeout.ms=1500\n");
    assertThat(errorOf(f)).startsWith(f + ":13: broker.session.timeout.ms (1500) must be at least twice");
  }

  @Test
  void unknownAndDuplicateKeysAndLinesWithoutSeparatorAreErrors() throws Exception {
    Path f = withLine(3, "brokr.address=127.0.0.1:9092");
    assertThat(errorOf(f)).isEqualTo(f + ":3: unknown config key 'brokr.address' (did you mean 'broker.address'?)");
    f = withLine(3, "node.id=2");
    assertThat(errorOf(f)).isEqualTo(f + ":4: node.id is set twice (first on line 3); remove one");
    f = withLine(3, "data.dir /var/lib/brook");
    assertThat(errorOf(f)).isEqualTo(f + ":3: expected key=value, got 'data.dir /var/lib/brook'");
    f = withLine(3, "=5");
    assertThat(errorOf(f)).isEqualTo(f + ":3: a key is missing before '='");
    f = write(VALID + "rack=a\\");
    assertThat(errorOf(f)).startsWith(f + ":13: the last line ends with '\\'");
  }

  @Test
  void aMissingKeyNamesTheFileAndAnEmptyRequiredValueItsLine() throws Exception {
    Path f = withLine(11, "# no data dir");
    assertThat(errorOf(f)).isEqualTo(f + ": missing required config key 'data.dir'");
    f = withLine(11, "data.dir=   ");
    assertThat(errorOf(f)).isEqualTo(f + ":11: missing required config key 'data.dir'");
  }

  @Test
  void unreadableFilesAreOneLineErrors() throws Exception {
    Path f = dir.resolve("latin1.properties");
    Files.write(f, new byte[] {'r', 'a', 'c', 'k', '=', (byte) 0xe9, '\n'});
    assertThat(errorOf(f)).isEqualTo(f + ": not a UTF-8 text file");
    assertThatThrownBy(() -> NodeConfig.load(dir.resolve("missing.properties")))
        .isInstanceOf(ConfigException.class).hasMessageEndingWith("missing.properties: no such file");
  }
}
