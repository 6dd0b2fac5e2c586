package dev.brook.broker.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.broker.replica.Partition;
import dev.brook.proto.v1.Acks;
import dev.brook.proto.v1.AdminServiceGrpc;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.NewTopic;
import dev.brook.proto.v1.PartitionProduceResult;
import dev.brook.proto.v1.ProduceResponse;
import dev.brook.quorum.PartitionImage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The producer acknowledgement levels and min.insync.replicas against three real in-process
 * brokers (plus two quorum-only voters, so that two brokers can be down while the metadata quorum
 * keeps its majority), through the raw gRPC API.
 *
 * <p>Followers are held back with the replica manager's test hook that pauses their fetchers:
 * once paused, a follower's log cannot grow, which makes "the followers do not have the records"
 * a fact rather than a race. What a broker holds "at the moment of the ack" is read in the
 * client's response callback, before the test thread sees the response: log end offsets only
 * grow here (no leader changes while it matters), and a paused follower's not at all.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class AcksClusterTest {
  /** Short, so that a follower that stopped fetching leaves the ISR within seconds. */
  private static final long LAG_TIME_MS = 3000;
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir
  Path dir;

  private InProcessCluster cluster;

  @BeforeEach
  void start() throws Exception {
    cluster = InProcessCluster.start(dir, 3, 2, Map.of(
        "replica.lag.time.max.ms", String.valueOf(LAG_TIME_MS),
        "controlled.shutdown.timeout.ms", "10000"));
  }

  @AfterEach
  void stop() {
    if (cluster != null) cluster.close();
  }

  // -----------------------------------------------------------------------------------------------
  // Helpers

  /**
   * Creates a topic with one partition on all three brokers and waits until its leader leads it
   * locally with the full ISR, and every follower has reported a position (after one acks=all
   * produce, which is returned).
   */
  private PartitionProduceResult createTopic(String topic, Map<String, String> configs) throws Exception {
    var created = AdminServiceGrpc.newBlockingStub(cluster.channel(1)).withDeadlineAfter(30, TimeUnit.SECONDS)
        .createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
            .setName(topic).setPartitions(1).setReplicationFactor(3).putAllConfigs(configs)).build());
    assertThat(created.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
    await().atMost(WAIT).until(() -> {
      PartitionImage p = cluster.partition(topic, 0);
      if (p == null || p.leaderId() <= 0 || p.isr().size() != 3) return false;
      Partition local = partition(p.leaderId(), topic);
      return local != null && local.isLeader() && local.isr().size() == 3;
    });
    return produceAcked(topic, "warm-up", 2);
  }

  private int leader(String topic) {
    return cluster.partition(topic, 0).leaderId();
  }

  private List<Integer> followers(String topic) {
    PartitionImage p = cluster.partition(topic, 0);
    return p.replicas().stream().filter(r -> r != p.leaderId()).toList();
  }

  /** Node {@code id}'s replica of {@code topic}-0, or null when the node is down or has none yet. */
  private Partition partition(int id, String topic) {
    return cluster.node(id) == null ? null : cluster.node(id).replicaManager().partition(topic, 0);
  }

  private long logEnd(int id, String topic) {
    return partition(id, topic).log().logEndOffset();
  }

  private void pauseFetchers(List<Integer> ids) {
    for (int id : ids) cluster.node(id).replicaManager().setReplicaFetchersPaused(true);
  }

  private void resumeFetchers(List<Integer> ids) {
    for (int id : ids) cluster.node(id).replicaManager().setReplicaFetchersPaused(false);
  }

  /** What the brokers held when a response reached the client. */
  record AckView(long leaderHighWatermark, List<Integer> leaderIsr, Map<Integer, Long> logEnds) {}

  /** A snapshot of {@code topic}-0 on every running broker, taken as seen from {@code leader}. */
  private AckView view(int leader, String topic) {
    Partition lp = partition(leader, topic);
    Map<Integer, Long> ends = new TreeMap<>();
    for (int id = 1; id <= cluster.brokers(); id++) {
      Partition p = partition(id, topic);
      if (p != null) ends.put(id, p.log().logEndOffset());
    }
    return new AckView(lp.highWatermark(), lp.isr(), ends);
  }

  /**
   * acks=all's promise, checked at the ack: the high watermark covers the records and every member
   * of the leader's ISR has them.
   */
  private static void assertAckedByTheIsr(AckView v, long lastOffset) {
    assertThat(v.leaderHighWatermark()).as("high watermark at the ack (%s)", v).isGreaterThan(lastOffset);
    for (int member : v.leaderIsr()) {
      assertThat(v.logEnds().get(member)).as("log end of ISR member %d at the ack (%s)", member, v)
          .isGreaterThan(lastOffset);
    }
  }

  /**
   * Produces one acks=all batch to the current leader until acknowledged (leadership and ISR may
   * be moving); checks the ack against the ISR as it was then.
   */
  private PartitionProduceResult produceAcked(String topic, String tag, int records) {
    PartitionProduceResult[] acked = new PartitionProduceResult[1];
    await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> {
      int leader = leader(topic);
      if (leader <= 0 || partition(leader, topic) == null) return false;
      Map<Long, AckView> views = new ConcurrentHashMap<>();
      try (RawClient.ProduceStream s = new RawClient.ProduceStream(cluster.channel(leader),
          r -> views.put(r.getCorrelationId(), view(leader, topic)))) {
        long id = s.send(Acks.ACKS_ALL, 10_000, topic, 0, RawClient.batch(tag, records));
        PartitionProduceResult r = s.response(id, WAIT).getTopics(0).getPartitions(0);
        if (r.getError().getCode() != ErrorCode.NONE) {
          assertThat(r.getError().getCode()).isIn(ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.REQUEST_TIMED_OUT,
              ErrorCode.NOT_LEADER, ErrorCode.LEADER_NOT_AVAILABLE);
          return false;
        }
        assertAckedByTheIsr(views.get(id), r.getBaseOffset() + records - 1);
        acked[0] = r;
        return true;
      }
    });
    return acked[0];
  }

  private static PartitionProduceResult only(ProduceResponse r) {
    return r.getTopics(0).getPartitions(0);
  }

  /** Every record value below the high watermark of the current leader, by offset. */
  private TreeMap<Long, String> consume(String topic) throws Exception {
    return RawClient.consumeAll(cluster.channel(leader(topic)), topic, 0).values();
  }

  /**
   * Waits until a consumer of the current leader reads {@code expected} (and whatever else
   * {@code more} checks): a leadership that moved after the last ack (preferred leader restored)
   * serves what was committed only once its followers reported in.
   */
  private void awaitConsumed(String topic, Map<Long, String> expected,
      java.util.function.Consumer<TreeMap<Long, String>> more) {
    await().atMost(WAIT).untilAsserted(() -> {
      TreeMap<Long, String> read = consume(topic);
      assertThat(read).containsAllEntriesOf(expected);
      more.accept(read);
    });
  }

  private static Map<Long, String> values(long base, String tag, int records) {
    Map<Long, String> m = new LinkedHashMap<>();
    for (int i = 0; i < records; i++) m.put(base + i, tag + "/" + i);
    return m;
  }

  // -----------------------------------------------------------------------------------------------
  // acks=0

  @Test
  void acksNoneGetsNoAnswerYetItsRecordsAreAppendedAndReplicated() throws Exception {
    String topic = "acks-none";
    long base = createTopic(topic, Map.of()).getBaseOffset() + 2;
    int leader = leader(topic);
    List<Integer> followers = followers(topic);

    try (RawClient.ProduceStream s = new RawClient.ProduceStream(cluster.channel(leader))) {
      s.send(Acks.ACKS_NONE, 5000, topic, 0, RawClient.batch("none", 4));
      long second = s.send(Acks.ACKS_LEADER, 5000, topic, 0, RawClient.batch("one", 2));
      // Responses come in request order: the first event answering the second request proves
      // there is no answer to the first, and the stream ends with nothing else.
      PartitionProduceResult r = only(s.response(second, WAIT));
      assertThat(r.getError().getCode()).isEqualTo(ErrorCode.NONE);
      assertThat(r.getBaseOffset()).as("after the acks=0 batch").isEqualTo(base + 4);
      s.halfClose();
      assertThat(s.poll(WAIT)).isSameAs(RawClient.ProduceStream.COMPLETED);
    }

    // No answer even when the request fails: acks=0 to a follower (NOT_LEADER) is dropped silently.
    int follower = followers.get(0);
    try (RawClient.ProduceStream s = new RawClient.ProduceStream(cluster.channel(follower))) {
      s.send(Acks.ACKS_NONE, 5000, topic, 0, RawClient.batch("misdirected", 1));
      long second = s.send(Acks.ACKS_LEADER, 5000, topic, 0, RawClient.batch("misdirected-too", 1));
      assertThat(only(s.response(second, WAIT)).getError().getCode()).isEqualTo(ErrorCode.NOT_LEADER);
      s.halfClose();
      assertThat(s.poll(WAIT)).isSameAs(RawClient.ProduceStream.COMPLETED);
    }

    // Replicated to every follower and committed: below the high watermark, so a consumer reads it.
    long end = base + 6;
    await().atMost(WAIT).untilAsserted(() -> {
      for (int id = 1; id <= 3; id++) {
        assertThat(logEnd(id, topic)).as("log end of broker %d", id).isEqualTo(end);
        assertThat(partition(id, topic).highWatermark()).as("high watermark of broker %d", id).isEqualTo(end);
      }
    });
    Map<Long, String> expected = new LinkedHashMap<>(values(base, "none", 4));
    expected.putAll(values(base + 4, "one", 2));
    awaitConsumed(topic, expected, read -> assertThat(read).hasSize((int) end).doesNotContainValue("misdirected/0"));
  }

  // -----------------------------------------------------------------------------------------------
  // acks=1 and acks=all while the followers cannot replicate

  @Test
  void acksLeaderIsAnsweredOnAppendWhileAcksAllWaitsUntilTheIsrShrinks() throws Exception {
    String topic = "acks-leader";
    createTopic(topic, Map.of("min.insync.replicas", "1"));
    int leader = leader(topic);
    List<Integer> followers = followers(topic);
    long before = logEnd(leader, topic);
    pauseFetchers(followers);

    // acks=1: answered once the leader has the batch, though no follower can have it
    Map<Long, AckView> views = new ConcurrentHashMap<>();
    try (RawClient.ProduceStream s = new RawClient.ProduceStream(cluster.channel(leader),
        r -> views.put(r.getCorrelationId(), view(leader, topic)))) {
      long id = s.send(Acks.ACKS_LEADER, 60_000, topic, 0, RawClient.batch("leader-only", 3));
      PartitionProduceResult r = only(s.response(id, WAIT));
      assertThat(r.getError().getCode()).isEqualTo(ErrorCode.NONE);
      assertThat(r.getBaseOffset()).isEqualTo(before);
      AckView v = views.get(id);
      assertThat(v.logEnds().get(leader)).as("leader at the ack: %s", v).isEqualTo(before + 3);
      for (int f : followers) {
        assertThat(v.logEnds().get(f)).as("follower %d at the ack: %s", f, v).isLessThanOrEqualTo(before);
      }
    }

    // acks=all in the same situation: appended at once, answered only when the ISR no longer
    // holds a replica without the records, i.e. after replica.lag.time.max.ms shrank it to the
    // leader (min.insync.replicas=1 allows that)
    try (RawClient.ProduceStream s = new RawClient.ProduceStream(cluster.channel(leader),
        r -> views.put(r.getCorrelationId(), view(leader, topic)))) {
      long sentAt = System.nanoTime();
      long id = s.send(Acks.ACKS_ALL, 60_000, topic, 0, RawClient.batch("all", 2));
      await().atMost(WAIT).until(() -> logEnd(leader, topic) == before + 5);
      PartitionProduceResult r = only(s.response(id, WAIT));
      long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sentAt);
      assertThat(r.getError().getCode()).isEqualTo(ErrorCode.NONE);
      assertThat(r.getBaseOffset()).isEqualTo(before + 3);
      AckView v = views.get(id);
      assertThat(v.leaderIsr()).as("leader's ISR at the ack (after %d ms): %s", waitedMs, v).containsExactly(leader);
      for (int f : followers) {
        assertThat(v.logEnds().get(f)).as("follower %d at the ack: %s", f, v).isLessThanOrEqualTo(before);
      }
      assertAckedByTheIsr(v, before + 4);
    }
    assertThat(cluster.partition(topic, 0).isr()).as("ISR in the quorum").containsExactly(leader);

    // Replicating again, the followers catch up and rejoin; nothing acknowledged is lost.
    resumeFetchers(followers);
    await().atMost(WAIT).until(() -> cluster.partition(topic, 0).isr().size() == 3);
    long base = produceAcked(topic, "after", 2).getBaseOffset();
    Map<Long, String> expected = new LinkedHashMap<>(values(before, "leader-only", 3));
    expected.putAll(values(before + 3, "all", 2));
    expected.putAll(values(base, "after", 2));
    awaitConsumed(topic, expected, read -> {});
  }

  // -----------------------------------------------------------------------------------------------
  // acks=all

  @Test
  void acksAllIsAnsweredOnlyOnceEveryIsrMemberHasTheRecords() throws Exception {
    String topic = "acks-all";
    // min.insync.replicas=1: under load a follower may drop out of the ISR (3 s of lag), which
    // must not fail the test; what is checked holds for whatever the ISR was at each ack.
    createTopic(topic, Map.of("min.insync.replicas", "1"));
    int leader = leader(topic);
    List<Integer> followers = followers(topic);
    Map<Long, AckView> views = new ConcurrentHashMap<>();

    // Many requests in flight on one stream, followers replicating freely: each answer comes in
    // request order, and when it comes the whole ISR has the batch.
    try (RawClient.ProduceStream s = new RawClient.ProduceStream(cluster.channel(leader),
        r -> views.put(r.getCorrelationId(), view(leader, topic)))) {
      long next = logEnd(leader, topic);
      List<Long> ids = new ArrayList<>();
      for (int i = 0; i < 30; i++) ids.add(s.send(Acks.ACKS_ALL, 30_000, topic, 0, RawClient.batch("burst" + i, 3)));
      for (long id : ids) {
        PartitionProduceResult r = only(s.response(id, WAIT));
        assertThat(r.getError().getCode()).as("request %d", id).isEqualTo(ErrorCode.NONE);
        assertThat(r.getBaseOffset()).isEqualTo(next);
        assertAckedByTheIsr(views.get(id), next + 2);
        next += 3;
      }
    }

    // Followers held back: the batch is in the leader's log, but the answer waits for them.
    pauseFetchers(followers);
    try (RawClient.ProduceStream s = new RawClient.ProduceStream(cluster.channel(leader),
        r -> views.put(r.getCorrelationId(), view(leader, topic)))) {
      long before = logEnd(leader, topic);
      long id = s.send(Acks.ACKS_ALL, 60_000, topic, 0, RawClient.batch("held", 4));
      await().atMost(WAIT).until(() -> logEnd(leader, topic) == before + 4);
      resumeFetchers(followers);
      PartitionProduceResult r = only(s.response(id, WAIT));
      assertThat(r.getError().getCode()).isEqualTo(ErrorCode.NONE);
      assertThat(r.getBaseOffset()).isEqualTo(before);
      assertAckedByTheIsr(views.get(id), before + 3);
      awaitConsumed(topic, values(before, "held", 4), read -> {});
    }
  }

  // -----------------------------------------------------------------------------------------------
  // min.insync.replicas

  @Test
  void minInsyncReplicasRefusesAcksAllWithoutAppendingButAcksLeaderStillWorks() throws Exception {
    String topic = "min-isr";
    createTopic(topic, Map.of("min.insync.replicas", "2"));
    int leader = leader(topic);
    List<Integer> followers = followers(topic);

    // Both followers stop; controlled shutdown has the quorum take them out of the ISR.
    for (int f : followers) cluster.stop(f);
    await().atMost(WAIT).until(() -> {
      PartitionImage p = cluster.partition(topic, 0);
      return p.leaderId() == leader && p.isr().equals(List.of(leader))
          && partition(leader, topic).isr().equals(List.of(leader));
    });

    long end = logEnd(leader, topic);
    long highWatermark = partition(leader, topic).highWatermark();
    PartitionProduceResult refused = RawClient.produce(cluster.channel(leader), Acks.ACKS_ALL, 10_000, topic, 0,
        RawClient.batch("refused", 3));
    assertThat(refused.getError().getCode()).isEqualTo(ErrorCode.NOT_ENOUGH_REPLICAS);
    assertThat(refused.getBaseOffset()).isEqualTo(-1);
    assertThat(logEnd(leader, topic)).as("nothing appended").isEqualTo(end);
    assertThat(partition(leader, topic).highWatermark()).isEqualTo(highWatermark);

    PartitionProduceResult accepted = RawClient.produce(cluster.channel(leader), Acks.ACKS_LEADER, 10_000, topic, 0,
        RawClient.batch("accepted", 3));
    assertThat(accepted.getError().getCode()).isEqualTo(ErrorCode.NONE);
    assertThat(accepted.getBaseOffset()).as("right where the log ended: the refused batch is not there").isEqualTo(end);
    assertThat(logEnd(leader, topic)).isEqualTo(end + 3);

    // One follower back in the ISR makes two: exactly min.insync.replicas, enough for acks=all.
    int first = followers.get(0);
    cluster.restart(first);
    await().atMost(WAIT).until(() -> cluster.partition(topic, 0).isr().contains(first));
    long second = produceAcked(topic, "two-in-sync", 2).getBaseOffset();

    int last = followers.get(1);
    cluster.restart(last);
    await().atMost(WAIT).until(() -> cluster.partition(topic, 0).isr().size() == 3);
    long third = produceAcked(topic, "three-in-sync", 2).getBaseOffset();

    Map<Long, String> expected = new LinkedHashMap<>(values(end, "accepted", 3));
    expected.putAll(values(second, "two-in-sync", 2));
    expected.putAll(values(third, "three-in-sync", 2));
    // Every offset holds a record (retried produces may have added some), the refused batch none.
    awaitConsumed(topic, expected,
        read -> assertThat(read).hasSize((int) (third + 2)).doesNotContainValue("refused/0"));
    await().atMost(WAIT).untilAsserted(() -> {
      for (int id = 1; id <= 3; id++) assertThat(logEnd(id, topic)).as("broker %d", id).isEqualTo(third + 2);
    });
  }
}
