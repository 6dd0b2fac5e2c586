package dev.brook.broker.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** data.dir/meta.properties: created once, checked at every start (issue 8, item 5). */
@Timeout(30)
class NodeIdentityTest {
  @TempDir
  Path dir;

  @Test
  void aNewDataDirGetsAnIncarnationThatARestartKeeps() throws Exception {
    Path data = dir.resolve("data");
    NodeIdentity first = NodeIdentity.open(data, 3);
    assertThat(first.incarnationId()).isNotBlank();
    assertThat(first.clusterId()).isEmpty();
    assertThat(Files.readString(data.resolve("meta.properties"))).contains("node.id=3", "incarnation.id=" + first.incarnationId());

    NodeIdentity again = NodeIdentity.open(data, 3);
    assertThat(again.incarnationId()).isEqualTo(first.incarnationId());
    assertThat(NodeIdentity.open(dir.resolve("other"), 3).incarnationId()).isNotEqualTo(first.incarnationId());
  }

  @Test
  void aDataDirOfAnotherNodeIdIsRefused() throws Exception {
    NodeIdentity.open(dir, 1);
    assertThatThrownBy(() -> NodeIdentity.open(dir, 2))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(dir.resolve("meta.properties").toString())
        .hasMessageContaining("node.id 1").hasMessageContaining("node.id 2")
        .hasMessageNotContaining("\n");
  }

  @Test
  void theClusterIdIsStoredAtTheFirstRegistrationAndAnotherOneRefused() throws Exception {
    NodeIdentity id = NodeIdentity.open(dir, 1);
    id.recordClusterId("");
    assertThat(id.clusterId()).isEmpty();
    id.recordClusterId("aaaa");
    id.recordClusterId("aaaa");
    assertThat(NodeIdentity.open(dir, 1).clusterId()).isEqualTo("aaaa");
    assertThatThrownBy(() -> NodeIdentity.open(dir, 1).recordClusterId("bbbb"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cluster.id aaaa").hasMessageContaining("bbbb")
        .hasMessageContaining(dir.resolve("meta.properties").toString());
    assertThat(NodeIdentity.open(dir, 1).clusterId()).isEqualTo("aaaa");
    assertThat(Files.exists(dir.resolve("meta.properties.tmp"))).isFalse();
  }

  @Test
  void anUnreadableOrForeignFileIsRefused() throws Exception {
    Files.writeString(dir.resolve("meta.properties"), "version=7\nnode.id=1\nincarnation.id=x\n");
    assertThatThrownBy(() -> NodeIdentity.open(dir, 1)).isInstanceOf(ConfigException.class).hasMessageContaining("version=7");
    Files.writeString(dir.resolve("meta.properties"), "version=1\nnode.id=1\n");
    assertThatThrownBy(() -> NodeIdentity.open(dir, 1)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("incarnation.id");
  }
}
