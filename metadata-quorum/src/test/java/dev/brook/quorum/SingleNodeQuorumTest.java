package dev.brook.quorum;

import dev.brook.quorum.raft.SnapshotStore;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.DeleteTopicsRequest;
import dev.brook.proto.v1.DeleteTopicsResponse;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.NewTopic;
import dev.brook.proto.v1.QuorumStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class SingleNodeQuorumTest {
  @TempDir
  Path dataDir;

  private MetadataQuorum quorum;

  @AfterEach
  void close() {
    if (quorum != null) quorum.close();
  }

  private QuorumConfig config(long snapshotThreshold) {
    return QuorumConfig.builder().nodeId(1).quorumAddress("127.0.0.1:0").dataDir(dataDir)
        .snapshotThresholdEntries(snapshotThreshold).requestTimeoutMs(10_000).brokerSessionTimeoutMs(60_000).build();
  }

  private static NewTopic topic(String name, int partitions, int rf) {
    return NewTopic.newBuilder().setName(name).setPartitions(partitions).setReplicationFactor(rf).build();
  }

  private static CreateTopicsRequest request(NewTopic... topics) {
    return CreateTopicsRequest.newBuilder().addAllTopics(List.of(topics)).build();
  }

  @Test
  void createDeleteAndErrors() throws Exception {
    quorum = MetadataQuorum.start(config(10_000));
    MetadataClient client = quorum.client();
    assertThat(quorum.port()).isPositive();
    assertThat(client.image().clusterId()).hasSize(32);
    QuorumTestSupport.registerAndUnfence(client, 1, "127.0.0.1:9092", "");

    CreateTopicsResponse r = client.createTopics(request(
        topic("orders", 3, 1),
        topic("orders", 1, 1),
        topic("bad/name", 1, 1),
        topic("negative", -1, 1),
        topic("too-many-replicas", 1, 3),
        NewTopic.newBuilder().setName("badcfg").putConfigs("cleanup.policy", "shred").build()))
        .get(10, TimeUnit.SECONDS);
    assertThat(r.getTopicsList()).extracting(t -> t.getError().getCode()).containsExactly(
        ErrorCode.NONE, ErrorCode.TOPIC_ALREADY_EXISTS, ErrorCode.INVALID_TOPIC, ErrorCode.INVALID_PARTITIONS,
        ErrorCode.INVALID_REPLICATION_FACTOR, ErrorCode.INVALID_CONFIG);
    // The future completes after this node applied the entry: read-your-writes.
    TopicImage orders = client.image().topic("orders");
    assertThat(orders.topicId()).isEqualTo(r.getTopics(0).getTopicId());
    assertThat(orders.partitions()).hasSize(3).allSatisfy(p -> assertThat(p.replicas()).containsExactly(1));

    CreateTopicsResponse again = client.createTopics(request(topic("orders", 1, 1))).get(10, TimeUnit.SECONDS);
    assertThat(again.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.TOPIC_ALREADY_EXISTS);

    CreateTopicsResponse validateOnly = client.createTopics(request(topic("dry", 2, 1)).toBuilder().setValidateOnly(true).build())
        .get(10, TimeUnit.SECONDS);
    assertThat(validateOnly.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
    assertThat(client.image().topic("dry")).isNull();

    DeleteTopicsResponse d = client.deleteTopics(DeleteTopicsRequest.newBuilder().addNames("orders").addNames("nope").build())
        .get(10, TimeUnit.SECONDS);
    assertThat(d.getTopicsList()).extracting(t -> t.getError().getCode())
        .containsExactly(ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assertThat(client.image().topics()).isEmpty();

    QuorumStatus status = client.status();
    assertThat(status.getLeaderId()).isEqualTo(1);
    assertThat(status.getVotersList()).extracting(v -> v.getNodeId()).containsExactly(1);
    assertThat(status.getAppliedIndex()).isGreaterThanOrEqualTo(client.image().version());
    assertThat(status.getTerm()).isPositive();
  }

  @Test
  void listenersSeeEveryImageInOrder() throws Exception {
    quorum = MetadataQuorum.start(config(10_000));
    MetadataClient client = quorum.client();
    List<MetadataImage> seen = new CopyOnWriteArrayList<>();
    client.addListener(seen::add);
    QuorumTestSupport.registerAndUnfence(client, 1, "127.0.0.1:9092", "rack-a");
    for (int i = 0; i < 5; i++) {
      client.createTopics(request(topic("t" + i, 1, 1))).get(10, TimeUnit.SECONDS);
    }
    long last = client.image().version();
    await().atMost(Duration.ofSeconds(10)).until(() -> !seen.isEmpty() && seen.get(seen.size() - 1).version() == last);
    assertThat(seen.get(0).clusterId()).isNotNull();
    for (int i = 1; i < seen.size(); i++) {
      assertThat(seen.get(i).version()).isGreaterThan(seen.get(i - 1).version());
    }
    // Every change appears in its own image: register, unfence, 5 topics after the first image.
    assertThat(seen).hasSize(8);
    assertThat(seen.get(seen.size() - 1).topics().keySet()).containsExactly("t0", "t1", "t2", "t3", "t4");
    assertThat(seen.get(1).brokers().get(1).rack()).isEqualTo("rack-a");
    assertThat(client.awaitVersion(last).get(5, TimeUnit.SECONDS).version()).isEqualTo(last);
  }

  @Test
  void stateSurvivesRestartWithAndWithoutSnapshot() throws Exception {
    quorum = MetadataQuorum.start(config(10_000));
    MetadataClient client = quorum.client();
    QuorumTestSupport.registerAndUnfence(client, 1, "127.0.0.1:9092", "");
    client.createTopics(request(topic("before-snapshot", 2, 1))).get(10, TimeUnit.SECONDS);
    long snapshotIndex = quorum.raftClient().getSnapshotManagementApi().create(1, 10_000).getLogIndex();
    assertThat(snapshotIndex).isPositive();
    Path sm = dataDir.resolve("quorum/raft").resolve(MetadataQuorum.GROUP_ID.getUuid().toString()).resolve("sm");
    try (Stream<Path> files = Files.list(sm)) {
      assertThat(files.map(p -> p.getFileName().toString())).anyMatch(n -> n.matches("snapshot\\.\\d+_\\d+"));
    }
    client.createTopics(request(topic("after-snapshot", 1, 1),
        NewTopic.newBuilder().setName("configured").putConfigs("retention.ms", "1000").build())).get(10, TimeUnit.SECONDS);
    MetadataImage before = client.image();
    quorum.close();

    quorum = MetadataQuorum.start(config(10_000));
    MetadataImage after = quorum.client().image();
    assertThat(after).isEqualTo(before);
    assertThat(after.version()).isEqualTo(before.version());
    assertThat(after.clusterId()).isEqualTo(before.clusterId());
    assertThat(after.topic("configured").configs()).containsEntry("retention.ms", "1000");
    // And it keeps working.
    CreateTopicsResponse r = quorum.client().createTopics(request(topic("after-restart", 1, 1))).get(10, TimeUnit.SECONDS);
    assertThat(r.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
    assertThat(quorum.client().image().topics()).containsKeys("before-snapshot", "after-snapshot", "after-restart");
  }

  @Test
  void automaticSnapshotsByThreshold() throws Exception {
    quorum = MetadataQuorum.start(config(3));
    MetadataClient client = quorum.client();
    QuorumTestSupport.registerAndUnfence(client, 1, "127.0.0.1:9092", "");
    for (int i = 0; i < 8; i++) {
      client.createTopics(request(topic("auto" + i, 1, 1))).get(10, TimeUnit.SECONDS);
    }
    Path sm = dataDir.resolve("quorum/raft").resolve(MetadataQuorum.GROUP_ID.getUuid().toString()).resolve("sm");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      try (Stream<Path> files = Files.list(sm)) {
        List<String> names = files.map(p -> p.getFileName().toString()).filter(n -> n.matches("snapshot\\.\\d+_\\d+")).toList();
        assertThat(names).isNotEmpty().hasSizeLessThanOrEqualTo(SnapshotStore.RETAINED);
      }
    });
    MetadataImage before = client.image();
    quorum.close();
    quorum = MetadataQuorum.start(config(3));
    assertThat(quorum.client().image()).isEqualTo(before);
  }
}
