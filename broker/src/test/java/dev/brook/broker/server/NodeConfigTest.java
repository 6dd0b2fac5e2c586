package dev.brook.broker.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.broker.replica.ReplicationConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(10)
class NodeConfigTest {
  @TempDir
  Path dir;

  private static Map<String, String> valid() {
    Map<String, String> p = new HashMap<>();
    p.put("node.id", "2");
    p.put("roles", "quorum,broker");
    p.put("broker.address", "127.0.0.1:19092");
    p.put("quorum.address", "127.0.0.1:19093");
    p.put("quorum.voters", "1@127.0.0.1:9093,2@127.0.0.1:19093,3@127.0.0.1:29093");
    p.put("data.dir", "/tmp/brook-2");
    return p;
  }

  private static String errorFor(String key, String value) {
    Map<String, String> p = valid();
    if (value == null) p.remove(key); else p.put(key, value);
    try {
      NodeConfig.of(p);
      return null;
    } catch (ConfigException e) {
      return e.getMessage();
    }
  }

  @Test
  void parsesTheExampleFileIncludingTrailingComments() throws Exception {
    Path f = dir.resolve("node.properties");
    Files.writeString(f, "node.id=1\nroles=quorum,broker                 # both\nbroker.address=127.0.0.1:9092\n"
        + "quorum.address=127.0.0.1:9093\nquorum.voters=1@127.0.0.1:9093,2@127.0.0.1:19093,3@127.0.0.1:29093\n"
        + "data.dir=/var/lib/brook/1\nrack=eu-1a\n");
    NodeConfig c = NodeConfig.load(f);
    assertThat(c.nodeId()).isEqualTo(1);
    assertThat(c.roles()).containsExactlyInAnyOrder(NodeConfig.Role.QUORUM, NodeConfig.Role.BROKER);
    assertThat(c.voters()).hasSize(3);
    assertThat(c.rack()).isEqualTo("eu-1a");
    assertThat(c.sessionTimeoutMs()).isEqualTo(6000);
    assertThat(c.topicDefaults()).containsEntry("max.message.bytes", "1048576").containsEntry("num.partitions", "1")
        .containsEntry("unclean.leader.election.enable", "false");
    assertThat(c.replication()).isEqualTo(ReplicationConfig.defaults());
    assertThat(c.flushSchedulerIntervalMs()).isEqualTo(1000);
  }

  @Test
  void replicaSettingsReachTheReplicationConfig() {
    Map<String, String> p = valid();
    p.put("replica.lag.time.max.ms", "4000");
    p.put("replica.fetch.wait.max.ms", "100");
    p.put("replica.fetch.min.bytes", "10");
    p.put("replica.fetch.max.bytes", "2097152");
    p.put("replica.fetch.response.max.bytes", "4194304");
    p.put("replica.fetch.backoff.ms", "50");
    p.put("replica.socket.timeout.ms", "5000");
    p.put("replica.disconnect.timeout.ms", "700");
    assertThat(NodeConfig.of(p).replication()).isEqualTo(new ReplicationConfig(4000, 100, 10, 4194304, 2097152, 50, 5000, 700));
    p.put("replica.disconnect.timeout.ms", "100");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> NodeConfig.of(p)).hasMessageContaining("replica.disconnect.timeout.ms");
  }

  @Test
  void everyBadKeyIsNamed() {
    assertThat(errorFor("node.id", null)).contains("node.id");
    assertThat(errorFor("node.id", "x")).contains("node.id");
    assertThat(errorFor("roles", "quorum,zookeeper")).contains("roles");
    assertThat(errorFor("broker.address", "nope")).contains("broker.address");
    assertThat(errorFor("quorum.voters", "1@h:1,2@h:2")).contains("quorum.voters").contains("1, 3 or 5");
    assertThat(errorFor("quorum.voters", "1@h:1,1@h:2,3@h:3")).contains("twice");
    assertThat(errorFor("quorum.address", "127.0.0.1:4444")).contains("quorum.address");
    assertThat(errorFor("data.dir", null)).contains("data.dir");
    assertThat(errorFor("log.retention.ms", "soon")).contains("log.retention.ms");
    assertThat(errorFor("auto.create.topics.enable", "yes")).contains("auto.create.topics.enable");
    assertThat(errorFor("broker.session.timeout.ms", "1500")).contains("broker.session.timeout.ms");
    assertThat(errorFor("unknown.key", "1")).contains("unknown.key");
    assertThat(errorFor("unclean.leader.election.enable", "maybe")).contains("unclean.leader.election.enable");
    assertThat(errorFor("replica.fetch.wait.max.ms", "10000")).contains("replica.fetch.wait.max.ms")
        .contains("replica.lag.time.max.ms");
    assertThat(errorFor("replica.fetch.max.bytes", "-1")).contains("replica.fetch.max.bytes");
    assertThat(errorFor("log.flush.scheduler.interval.ms", "0")).contains("log.flush.scheduler.interval.ms");
    assertThat(errorFor("rack", "r1")).isNull();
  }

  @Test
  void brokerOnlyNodesNeedNoQuorumAddressButANodeWithTheQuorumRoleMustBeAVoter() {
    Map<String, String> p = valid();
    p.put("roles", "broker");
    p.remove("quorum.address");
    p.put("node.id", "7");
    assertThat(NodeConfig.of(p).quorumAddress()).isNull();
    p.put("roles", "quorum");
    p.put("quorum.address", "127.0.0.1:5555");
    assertThatThrownBy(() -> NodeConfig.of(p)).hasMessageContaining("no entry for node.id 7");
  }
}
