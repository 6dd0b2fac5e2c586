package dev.brook.broker.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A port in use is one line naming the config key and address, and the data dir stays untouched. */
@Timeout(60)
class PortInUseTest {
  @TempDir
  Path dir;

  private static ServerSocket occupy() throws Exception {
    ServerSocket s = new ServerSocket();
    s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
    return s;
  }

  private static ServerSocket occupyWithFreePredecessor() throws Exception {
    while (true) {
      ServerSocket s = occupy();
      try (ServerSocket before = new ServerSocket()) {
        before.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), s.getLocalPort() - 1));
        return s;
      } catch (java.io.IOException e) {
        s.close();   // the port below is taken too: try another
      }
    }
  }

  private static NodeConfig config(Path dataDir, int brokerPort, int quorumPort) {
    return NodeConfig.of(Map.of("node.id", "1", "roles", "quorum,broker",
        "broker.address", "127.0.0.1:" + brokerPort, "quorum.address", "127.0.0.1:" + quorumPort,
        "quorum.voters", "1@127.0.0.1:" + quorumPort, "data.dir", dataDir.toString()));
  }

  @Test
  void theBrokerPortInUseNamesBrokerAddressAndCreatesNothing() throws Exception {
    Path data = dir.resolve("data");
    try (ServerSocket taken = occupy()) {
      int port = taken.getLocalPort();
      assertThatThrownBy(() -> BrookNode.start(config(data, port, 0)))
          .isInstanceOfSatisfying(ConfigException.class, e -> {
            assertThat(e.key()).isEqualTo("broker.address");
            assertThat(e.getMessage()).isEqualTo("broker.address 127.0.0.1:" + port
                + " is already in use (another Brook node, or another program, listens there)");
          });
    }
    assertThat(Files.exists(data)).isFalse();
  }

  @Test
  void theQuorumPortInUseNamesQuorumAddressAndCreatesNothing() throws Exception {
    Path data = dir.resolve("data");
    try (ServerSocket taken = occupy()) {
      int port = taken.getLocalPort();
      assertThatThrownBy(() -> BrookNode.start(config(data, 0, port)))
          .isInstanceOfSatisfying(ConfigException.class, e -> {
            assertThat(e.key()).isEqualTo("quorum.address");
            assertThat(e.getMessage()).startsWith("quorum.address 127.0.0.1:" + port + " is already in use")
                .doesNotContain("\n");
          });
    }
    assertThat(Files.exists(data)).isFalse();
  }

  @Test
  void devPortsInUseAndTheSamePortTwiceAreRefusedBeforeStarting() throws Exception {
    Path data = dir.resolve("dev");
    try (ServerSocket taken = occupy()) {
      int port = taken.getLocalPort();
      assertThatThrownBy(() -> BrookNode.start(NodeConfig.dev(data, port, Map.of())))
          .isInstanceOf(ConfigException.class).hasMessageStartingWith("broker.address 127.0.0.1:" + port);
    }
    // dev's quorum peer uses the next port: hold a port whose predecessor is free.
    try (ServerSocket taken = occupyWithFreePredecessor()) {
      int port = taken.getLocalPort();
      assertThatThrownBy(() -> BrookNode.start(NodeConfig.dev(data, port - 1, Map.of())))
          .isInstanceOf(ConfigException.class).hasMessageStartingWith("quorum.address 127.0.0.1:" + port);
    }
    assertThat(Files.exists(data)).isFalse();
    assertThatThrownBy(() -> BrookNode.start(config(data, 19999, 19999)))
        .isInstanceOf(ConfigException.class).hasMessageContaining("same port");
    assertThat(Files.exists(data)).isFalse();
  }
}
