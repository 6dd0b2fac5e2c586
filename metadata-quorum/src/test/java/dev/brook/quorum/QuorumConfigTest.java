package dev.brook.quorum;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class QuorumConfigTest {
  private static QuorumConfig.Builder base() {
    return QuorumConfig.builder().nodeId(1).quorumAddress("127.0.0.1:9093").dataDir(Path.of("/tmp/x"));
  }

  @Test
  void defaultsToASingleVoter() {
    QuorumConfig c = base().build();
    assertThat(c.voters()).containsExactly(new QuorumConfig.Voter(1, "127.0.0.1", 9093));
    assertThat(c.snapshotThresholdEntries()).isEqualTo(10_000);
    assertThat(c.requestTimeoutMs()).isEqualTo(10_000);
    assertThat(c.defaultPartitions()).isEqualTo(1);
  }

  @Test
  void parsesVoters() {
    List<QuorumConfig.Voter> voters = QuorumConfig.parseVoters("2@h2:19093, 1@127.0.0.1:9093,3@h3:29093");
    QuorumConfig c = base().voters(voters).build();
    assertThat(c.voters()).extracting(QuorumConfig.Voter::id).containsExactly(1, 2, 3);
  }

  @Test
  void rejectsBadValuesNamingTheKey() {
    assertThatThrownBy(() -> QuorumConfig.builder().quorumAddress("h:1").dataDir(Path.of("/x")).build())
        .hasMessageContaining("node.id");
    assertThatThrownBy(() -> base().quorumAddress("nohost").build()).hasMessageContaining("quorum.address");
    assertThatThrownBy(() -> base().voters(QuorumConfig.parseVoters("2@h:1")).build()).hasMessageContaining("quorum.voters");
    assertThatThrownBy(() -> base().voters(QuorumConfig.parseVoters("1@127.0.0.1:9093,1@h:2")).build())
        .hasMessageContaining("quorum.voters");
    assertThatThrownBy(() -> base().quorumAddress("127.0.0.1:0")
        .voters(QuorumConfig.parseVoters("1@127.0.0.1:0,2@h:2")).build()).hasMessageContaining("port 0");
    assertThatThrownBy(() -> base().dataDir(null).build()).hasMessageContaining("data.dir");
    assertThatThrownBy(() -> base().clusterDefaults(Map.of("num.partitions", "0")).build()).hasMessageContaining("num.partitions");
    assertThatThrownBy(() -> base().clusterDefaults(Map.of("retention.ms", "x")).build()).hasMessageContaining("retention.ms");
  }
}
