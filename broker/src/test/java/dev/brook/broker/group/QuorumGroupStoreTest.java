package dev.brook.broker.group;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.broker.group.ConsumerGroup.Heartbeat;
import dev.brook.broker.group.ConsumerGroup.Outcome;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.NewTopic;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.GroupPlacement;
import dev.brook.quorum.MetadataClient;
import dev.brook.quorum.MetadataQuorum;
import dev.brook.quorum.QuorumConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator over the quorum's group domain, on a real single-voter quorum with broker 1
 * registered: groups survive a new coordinator (as after a failover), a zombie's commits and a
 * deposed broker's writes are refused, commits of many groups share writes.
 */
@Timeout(120)
class QuorumGroupStoreTest {
  private static final long SESSION_MS = 45_000;

  @TempDir
  Path dataDir;

  private MetadataQuorum quorum;
  private MetadataClient client;
  private long brokerEpoch;
  private final AtomicLong clock = new AtomicLong(1_000);

  @BeforeEach
  void start() throws Exception {
    quorum = MetadataQuorum.start(QuorumConfig.builder().nodeId(1).quorumAddress("127.0.0.1:0").dataDir(dataDir)
        .requestTimeoutMs(10_000).brokerSessionTimeoutMs(60_000).build());
    client = quorum.client();
    brokerEpoch = client.registerBroker(1, "127.0.0.1:9092", "").get(15, TimeUnit.SECONDS);
    assertThat(client.heartbeat(1, brokerEpoch, false).get(15, TimeUnit.SECONDS).error()).isEqualTo(ErrorCode.NONE);
    await().atMost(Duration.ofSeconds(15)).until(() -> {
      BrokerImage b = client.image().brokers().get(1);
      return b != null && b.brokerEpoch() == brokerEpoch && !b.fenced();
    });
    client.createTopics(CreateTopicsRequest.newBuilder()
        .addTopics(NewTopic.newBuilder().setName("t").setPartitions(4).setReplicationFactor(1)).build()).get(10, TimeUnit.SECONDS);
    assertThat(GroupPlacement.coordinator("g", client.image())).isEqualTo(1);
  }

  @AfterEach
  void stop() {
    if (quorum != null) quorum.close();
  }

  private GroupCoordinator coordinator(QuorumGroupStore store) {
    return new GroupCoordinator(store, Assignors.builtIn(), SESSION_MS, clock::get, () -> Map.of("t", 4));
  }

  private QuorumGroupStore store(long epoch) {
    return new QuorumGroupStore(client.groups(), 1, () -> epoch);
  }

  private static Heartbeat join(String member) {
    return new Heartbeat(member, 0, "static-" + member, "client-" + member, "/10.0.0.1", Set.of("t"), "range", 30_000, Set.of());
  }

  private static Heartbeat beat(String member, int epoch, Set<TopicPartition> owned) {
    return new Heartbeat(member, epoch, null, null, null, null, null, 30_000, owned);
  }

  @Test
  void aNewCoordinatorContinuesTheGroupFromTheQuorum() throws Exception {
    GroupCoordinator first = coordinator(store(brokerEpoch));
    Outcome a = first.heartbeat("g", join("a")).get(10, TimeUnit.SECONDS);
    Outcome b = first.heartbeat("g", join("b")).get(10, TimeUnit.SECONDS);
    // a gives up what b gets: converge both.
    Outcome a2 = first.heartbeat("g", beat("a", a.member().memberEpoch(), a.member().assigned())).get(10, TimeUnit.SECONDS);
    Set<TopicPartition> kept = new TreeSet<>(a2.member().assigned());
    Outcome a3 = first.heartbeat("g", beat("a", a2.member().memberEpoch(), kept)).get(10, TimeUnit.SECONDS);
    ConsumerGroup before = first.loaded("g");

    // Another coordinator (a failover) loads exactly the same durable group.
    GroupCoordinator next = coordinator(store(brokerEpoch));
    Outcome resumed = next.heartbeat("g", beat("a", a3.member().memberEpoch(), a3.member().assigned())).get(10, TimeUnit.SECONDS);
    assertThat(resumed.error()).isEqualTo(ErrorCode.NONE);
    ConsumerGroup after = next.loaded("g");
    assertThat(after.groupEpoch()).isEqualTo(before.groupEpoch());
    assertThat(after.targetAssignment()).isEqualTo(before.targetAssignment());
    assertThat(after.members()).isEqualTo(before.members());
    assertThat(after.members().get("a").instanceId()).isEqualTo("static-a");
    assertThat(after.members().get("b").assignor()).isEqualTo("range");
    assertThat(b.member()).isNotNull();
  }

  @Test
  void theFirstCoordinatorCannotWriteOnceTheNextOneDid() throws Exception {
    GroupCoordinator first = coordinator(store(brokerEpoch));
    first.heartbeat("g", join("a")).get(10, TimeUnit.SECONDS);
    GroupCoordinator next = coordinator(store(brokerEpoch));
    next.heartbeat("g", join("b")).get(10, TimeUnit.SECONDS);
    // first decides on a version that is no longer the group's: refused, and it must reload.
    assertThatThrownBy(() -> first.heartbeat("g", join("c")).get(10, TimeUnit.SECONDS))
        .satisfies(e -> assertThat(GroupCoordinator.codeOf(e.getCause())).isEqualTo(ErrorCode.NOT_COORDINATOR));
    Outcome reloaded = first.heartbeat("g", join("c")).get(10, TimeUnit.SECONDS);
    assertThat(reloaded.error()).isEqualTo(ErrorCode.NONE);
    assertThat(first.loaded("g").members()).containsOnlyKeys("a", "b", "c");
  }

  @Test
  void aBrokerWithAStaleEpochIsNoCoordinator() {
    GroupCoordinator stale = coordinator(store(brokerEpoch - 1));
    assertThatThrownBy(() -> stale.heartbeat("g", join("a")).get(10, TimeUnit.SECONDS))
        .satisfies(e -> assertThat(GroupCoordinator.codeOf(e.getCause())).isEqualTo(ErrorCode.NOT_COORDINATOR));
  }

  @Test
  void commitsAreFencedByMemberEpochAndSurviveTheCoordinator() throws Exception {
    QuorumGroupStore store = store(brokerEpoch);
    GroupCoordinator c = coordinator(store);
    Outcome a = c.heartbeat("g", join("a")).get(10, TimeUnit.SECONDS);
    TopicPartition tp = a.member().assigned().first();
    assertThat(c.commitOffsets("g", "a", a.member().memberEpoch(), Map.of(tp, new OffsetAndMetadata(17, 2, "x", 0)))
        .get(10, TimeUnit.SECONDS)).isEqualTo(ErrorCode.NONE);
    // The durable epoch decides even when the coordinator's own check passes (a racing removal).
    assertThatThrownBy(() -> store.commitOffsets("g", "a", a.member().memberEpoch() - 1,
        Map.of(tp, new OffsetAndMetadata(99, 2, "", 0))).get(10, TimeUnit.SECONDS))
        .satisfies(e -> assertThat(GroupCoordinator.codeOf(e.getCause())).isEqualTo(ErrorCode.STALE_MEMBER_EPOCH));
    assertThatThrownBy(() -> store.commitOffsets("g", "zombie", 7, Map.of(tp, new OffsetAndMetadata(99, 2, "", 0)))
        .get(10, TimeUnit.SECONDS))
        .satisfies(e -> assertThat(GroupCoordinator.codeOf(e.getCause())).isEqualTo(ErrorCode.UNKNOWN_MEMBER_ID));

    Map<TopicPartition, OffsetAndMetadata> read = coordinator(store(brokerEpoch)).fetchOffsets("g", Set.of()).get(10, TimeUnit.SECONDS);
    assertThat(read).containsOnlyKeys(tp);
    assertThat(read.get(tp).offset()).isEqualTo(17);
    assertThat(read.get(tp).leaderEpoch()).isEqualTo(2);
    assertThat(read.get(tp).metadata()).isEqualTo("x");
  }

  @Test
  void commitsOfManyGroupsGoTogether() throws Exception {
    QuorumGroupStore store = store(brokerEpoch);
    List<String> groups = new ArrayList<>();
    for (int i = 0; groups.size() < 20; i++) {
      if (GroupPlacement.coordinator("g" + i, client.image()) == 1) groups.add("g" + i);
    }
    long before = quorum.client().status().getCommitIndex();
    List<CompletableFuture<Void>> all = new ArrayList<>();
    for (String g : groups) {
      for (int p = 0; p < 4; p++) {
        all.add(store.commitOffsets(g, "", -1, Map.of(new TopicPartition("t", p), new OffsetAndMetadata(p + 1, -1, "", 0))));
      }
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    long entries = quorum.client().status().getCommitIndex() - before;
    assertThat(entries).isLessThan(all.size()); // batched while a write was in flight
    for (String g : groups) {
      assertThat(store.fetchOffsets(g, Set.of(new TopicPartition("t", 3))).get(10, TimeUnit.SECONDS).get(new TopicPartition("t", 3))
          .offset()).isEqualTo(4);
    }
  }

  @Test
  void commitsOfOnePartitionLandInTheOrderTheyArrived() throws Exception {
    QuorumGroupStore store = store(brokerEpoch);
    String group = null;
    for (int i = 0; group == null; i++) {
      if (GroupPlacement.coordinator("o" + i, client.image()) == 1) group = "o" + i;
    }
    TopicPartition tp = new TopicPartition("t", 0);
    List<CompletableFuture<Void>> all = new ArrayList<>();
    // Arrive one after another without waiting, as a consumer's async commits do: the first goes
    // out at once, the rest queue behind it and fill the next writes; the last one must win.
    for (int offset = 1; offset <= 300; offset++) {
      all.add(store.commitOffsets(group, "", -1, Map.of(tp, new OffsetAndMetadata(offset, -1, "", 0))));
      if (offset % 50 == 0) {
        all.add(store.commitOffsets("o-other-" + offset, "", -1, Map.of(tp, new OffsetAndMetadata(offset, -1, "", 0))));
      }
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    assertThat(store.fetchOffsets(group, Set.of(tp)).get(10, TimeUnit.SECONDS).get(tp).offset()).isEqualTo(300);
  }

  @Test
  void onlyAGroupWithoutMembersIsDeletedWithItsOffsets() throws Exception {
    GroupCoordinator c = coordinator(store(brokerEpoch));
    Outcome a = c.heartbeat("g", join("a")).get(10, TimeUnit.SECONDS);
    TopicPartition tp = a.member().assigned().first();
    c.commitOffsets("g", "a", a.member().memberEpoch(), Map.of(tp, new OffsetAndMetadata(5, -1, "", 0))).get(10, TimeUnit.SECONDS);
    assertThat(c.delete("g").get(10, TimeUnit.SECONDS)).isEqualTo(ErrorCode.NON_EMPTY_GROUP);
    assertThat(c.describe("g").get(10, TimeUnit.SECONDS).members()).containsOnlyKeys("a");

    c.heartbeat("g", beat("a", -1, Set.of())).get(10, TimeUnit.SECONDS); // a leaves
    assertThat(c.delete("g").get(10, TimeUnit.SECONDS)).isEqualTo(ErrorCode.NONE);
    assertThat(c.describe("g").get(10, TimeUnit.SECONDS)).isNull();
    assertThat(c.fetchOffsets("g", Set.of()).get(10, TimeUnit.SECONDS)).isEmpty();
    assertThat(c.delete("g").get(10, TimeUnit.SECONDS)).isEqualTo(ErrorCode.GROUP_ID_NOT_FOUND);
  }
}
