package dev.brook.broker.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.broker.server.BrookNode;
import dev.brook.broker.server.ConfigException;
import dev.brook.broker.server.NodeConfig;
import dev.brook.broker.server.NodeIdentity;
import dev.brook.quorum.BrokerImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Node identity end to end (issue 8, item 5), on a one-node cluster (quorum and broker) plus
 * broker-only nodes that reach its quorum: a second node with a node id a live node holds is
 * refused with a clear error and takes nothing over; a data dir of another cluster or another
 * node id is refused; a restart on the same data dir is accepted.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NodeIdentityClusterTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir
  Path dir;

  private InProcessCluster cluster;
  private BrookNode extra;

  @BeforeEach
  void start() throws Exception {
    cluster = InProcessCluster.start(dir.resolve("cluster"), 1, Map.of("broker.session.timeout.ms", "3000",
        "broker.heartbeat.interval.ms", "500"));
  }

  @AfterEach
  void stop() {
    if (extra != null) extra.close();
    if (cluster != null) cluster.close();
  }

  private NodeConfig brokerOnly(int nodeId, Path dataDir) {
    Map<String, String> p = new LinkedHashMap<>();
    p.put(NodeConfig.NODE_ID, String.valueOf(nodeId));
    p.put(NodeConfig.ROLES, "broker");
    p.put(NodeConfig.BROKER_ADDRESS, "127.0.0.1:0");
    p.put(NodeConfig.QUORUM_VOTERS, cluster.voters());
    p.put(NodeConfig.DATA_DIR, dataDir.toString());
    p.put("broker.heartbeat.interval.ms", "500");
    return NodeConfig.of(p);
  }

  /** The refusal {@code node}'s ready() failed with, once it failed. */
  private static Throwable refusal(BrookNode node) {
    CompletableFuture<Void> ready = node.ready();
    await("node refused").atMost(WAIT).until(ready::isDone);
    assertThat(ready).isCompletedExceptionally();
    return ready.handle((v, e) -> e).join();
  }

  @Test
  void aSecondNodeWithTheIdOfALiveNodeIsRefusedAndTakesNothingOver() throws Exception {
    BrokerImage before = cluster.image().brokers().get(1);
    String incarnation = NodeIdentity.open(cluster.dataDir(1), 1).incarnationId();
    assertThat(before.incarnationId()).isEqualTo(incarnation);

    extra = BrookNode.start(brokerOnly(1, dir.resolve("impostor")));
    Throwable e = refusal(extra);
    assertThat(e).isInstanceOf(ConfigException.class);
    assertThat(e.getMessage()).contains("node.id 1 is in use by a live node at " + cluster.node(1).brokerAddress())
        .contains(incarnation).doesNotContain("\n");

    // The live node keeps its registration, epoch and address, and stays active.
    BrokerImage after = cluster.image().brokers().get(1);
    assertThat(after.brokerEpoch()).isEqualTo(before.brokerEpoch());
    assertThat(after.address()).isEqualTo(before.address());
    assertThat(after.incarnationId()).isEqualTo(incarnation);
    assertThat(after.isActive()).isTrue();
  }

  @Test
  void aRestartOnTheSameDataDirIsAcceptedAndKeepsItsIdentity() throws Exception {
    String incarnation = NodeIdentity.open(cluster.dataDir(1), 1).incarnationId();
    String clusterId = cluster.image().clusterId();
    assertThat(NodeIdentity.open(cluster.dataDir(1), 1).clusterId()).as("stored at the first registration")
        .isEqualTo(clusterId);
    long epoch = cluster.image().brokers().get(1).brokerEpoch();
    cluster.stop(1);
    cluster.restart(1);
    BrokerImage again = cluster.image().brokers().get(1);
    assertThat(again.brokerEpoch()).isGreaterThan(epoch);
    assertThat(again.incarnationId()).isEqualTo(incarnation);
  }

  @Test
  void aNodeOnAReplacedDiskTakesOverOnceTheOldLeaseExpired() throws Exception {
    extra = BrookNode.start(brokerOnly(6, dir.resolve("old-disk")));
    extra.awaitReady(30_000);
    String oldIncarnation = cluster.image().brokers().get(6).incarnationId();
    extra.close(); // the old disk's node is gone for good
    extra = null;
    await("broker 6 fenced after its session").atMost(WAIT)
        .until(() -> cluster.image().brokers().get(6).fenced());

    extra = BrookNode.start(brokerOnly(6, dir.resolve("new-disk")));
    extra.awaitReady(30_000);
    BrokerImage now = cluster.image().brokers().get(6);
    assertThat(now.incarnationId()).isNotEqualTo(oldIncarnation)
        .isEqualTo(NodeIdentity.open(dir.resolve("new-disk"), 6).incarnationId());
    assertThat(now.isActive()).isTrue();
  }

  @Test
  void aDataDirOfAnotherClusterIsRefused() throws Exception {
    Path foreign = dir.resolve("foreign");
    Files.createDirectories(foreign);
    Files.writeString(foreign.resolve("meta.properties"),
        "version=1\nnode.id=5\nincarnation.id=0b6c1c2e-0000-4000-8000-000000000005\ncluster.id=ffffffffffffffffffffffffffffffff\n");
    extra = BrookNode.start(brokerOnly(5, foreign));
    Throwable e = refusal(extra);
    assertThat(e).isInstanceOf(ConfigException.class);
    assertThat(e.getMessage()).contains("ffffffffffffffffffffffffffffffff", cluster.image().clusterId());
    assertThat(cluster.image().brokers()).doesNotContainKey(5);
  }

  @Test
  void aDataDirOfAnotherNodeIdIsRefusedBeforeAnythingStarts() throws Exception {
    NodeIdentity.open(dir.resolve("node7"), 7);
    assertThatThrownBy(() -> BrookNode.start(brokerOnly(8, dir.resolve("node7"))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("node.id 7").hasMessageContaining("node.id 8")
        .hasMessageContaining(dir.resolve("node7").resolve("meta.properties").toString());
    assertThat(dir.resolve("node7").resolve("logs")).doesNotExist();
  }
}
