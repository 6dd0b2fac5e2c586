package dev.brook.broker.replica;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.Record;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordList;
import dev.brook.protocol.StoredBatch;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.TopicImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replica manager against hand-built images: the cases where following metadata naively
 * would delete data (a not-yet-real image, a topic deleted and re-created in one step, logs left
 * behind while the broker was down).
 */
@Timeout(30)
class ReplicaManagerImageTest {
  private static final String CLUSTER = "c0ffee";
  private static final BrokerImage ME = new BrokerImage(1, "127.0.0.1:1", "", false, 1, false);

  @TempDir
  Path dataDir;

  private final AtomicLong clock = new AtomicLong(1_000_000);
  private ReplicaManager replicas;

  @AfterEach
  void close() {
    if (replicas != null) replicas.close();
  }

  private ReplicaManager open() throws Exception {
    replicas = new ReplicaManager(1, dataDir, Map.of(), clock::get);
    return replicas;
  }

  private static TopicImage topic(String name, String id, int partitions) {
    PartitionImage[] ps = new PartitionImage[partitions];
    for (int p = 0; p < partitions; p++) ps[p] = new PartitionImage(p, 1, 0, List.of(1), List.of(1), 0);
    return new TopicImage(name, id, Map.of(), List.of(ps));
  }

  private static MetadataImage image(long version, TopicImage... topics) {
    return MetadataImage.of(version, CLUSTER, List.of(topics), List.of(ME));
  }

  private static RecordBatch batch(String value) {
    ByteString records = RecordList.newBuilder().addRecords(Record.newBuilder().setOffsetDelta(0)
        .setValue(ByteString.copyFromUtf8(value))).build().toByteString();
    RecordBatch b = RecordBatch.newBuilder().setRecordCount(1).setBaseTimestamp(1).setMaxTimestamp(1)
        .setProducerId(-1).setProducerEpoch(-1).setBaseSequence(-1).setRecords(records).build();
    return b.toBuilder().setCrc(StoredBatch.computeCrc(b)).build();
  }

  private void produce(String topic, int n) throws Exception {
    Partition p = replicas.partition(topic, 0);
    for (int i = 0; i < n; i++) p.appendAsLeader(List.of(batch("v" + i)), false);
  }

  @Test
  void aRegisteringBrokerAppliesNoImageOlderThanItsRegistration() throws Exception {
    AtomicLong epoch = new AtomicLong(-1);
    replicas = new ReplicaManager(1, dataDir, Map.of(), clock::get, ReplicationConfig.defaults(), null, epoch::get);
    // Its own stale copy of the metadata still says it leads "t" in epoch 0.
    replicas.onImage(image(5, topic("t", "id-1", 1)));
    assertThat(replicas.partition("t", 0)).as("not registered yet").isNull();
    epoch.set(12);
    replicas.onImage(image(11, topic("t", "id-1", 1)));
    assertThat(replicas.partition("t", 0)).as("still before its registration").isNull();
    assertThat(replicas.image()).isNull();
    // The registration's own image: another broker leads now, in epoch 1.
    TopicImage movedOn = new TopicImage("t", "id-1", Map.of(),
        List.of(new PartitionImage(0, 2, 1, List.of(1, 2), List.of(2), 3)));
    BrokerImage other = new BrokerImage(2, "127.0.0.1:2", "", false, 3, false);
    replicas.onImage(MetadataImage.of(12, CLUSTER, List.of(movedOn), List.of(ME, other)));
    assertThat(replicas.partition("t", 0)).isNotNull();
    assertThat(replicas.partition("t", 0).isLeader()).isFalse();
    // From then on every image applies, also after a later re-registration.
    epoch.set(40);
    replicas.onImage(MetadataImage.of(13, CLUSTER, List.of(topic("t", "id-1", 1)), List.of(ME, other)));
    assertThat(replicas.image().version()).isEqualTo(13);
  }

  /** Writes 40 single-record batches in 1 KiB segments, stops cleanly, flips a byte in the second segment and forgets the recovery point. */
  private void damagedLogOnDisk(TopicImage t, MetadataImage first) throws Exception {
    open().onImage(first);
    Partition p = replicas.partition("t", 0);
    for (int i = 0; i < 40; i++) p.log().append(List.of(batch("value-" + i + "-".repeat(40))), 0);
    replicas.close();
    replicas = null;
    Path dir = dataDir.resolve("logs/t-0");
    Files.deleteIfExists(dir.resolve(".clean-shutdown"));
    Files.deleteIfExists(dir.resolve("recovery-point"));
    List<Path> segments;
    try (var files = Files.list(dir)) {
      segments = files.filter(f -> f.toString().endsWith(".log")).sorted().toList();
    }
    assertThat(segments.size()).isGreaterThan(2);
    byte[] bytes = Files.readAllBytes(segments.get(1));
    bytes[bytes.length / 2] ^= 0x20;
    Files.write(segments.get(1), bytes);
  }

  @Test
  void aReplicaWhoseRecoveryCutItsLogDoesNotLeadEvenWhenElected() throws Exception {
    BrokerImage two = new BrokerImage(2, "127.0.0.1:2", "", false, 2, false);
    BrokerImage three = new BrokerImage(3, "127.0.0.1:3", "", false, 3, false);
    TopicImage t = new TopicImage("t", "id-1", Map.of("segment.bytes", "1024"),
        List.of(new PartitionImage(0, 1, 0, List.of(1, 2, 3), List.of(1, 2, 3), 0)));
    damagedLogOnDisk(t, MetadataImage.of(5, CLUSTER, List.of(t), List.of(ME, two, three)));

    // Back up while 2 and 3 are down: still in the ISR (no quorum could change it), so this replica is elected.
    BrokerImage twoDown = new BrokerImage(2, "127.0.0.1:2", "", true, 2, false);
    BrokerImage threeDown = new BrokerImage(3, "127.0.0.1:3", "", true, 3, false);
    TopicImage elected = new TopicImage("t", "id-1", Map.of("segment.bytes", "1024"),
        List.of(new PartitionImage(0, 1, 1, List.of(1, 2, 3), List.of(1, 2, 3), 1)));
    open().onImage(MetadataImage.of(9, CLUSTER, List.of(elected), List.of(ME, twoDown, threeDown)));
    Partition p = replicas.partition("t", 0);
    assertThat(p).as("cut, since other in-sync replicas hold the data").isNotNull();
    assertThat(p.log().recoveryCutAt()).isPositive();
    assertThat(p.mustCatchUp()).isTrue();
    assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(PartitionException.class,
        () -> p.appendAsLeader(List.of(batch("x")), false)).code()).isEqualTo(dev.brook.proto.v1.ErrorCode.LEADER_NOT_AVAILABLE);
    assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(dev.brook.broker.log.LogException.class,
        () -> p.read(0, 1 << 20)).code()).isEqualTo(dev.brook.proto.v1.ErrorCode.LEADER_NOT_AVAILABLE);
    // Followers coming back must not truncate to this shorter log: it does not answer them as leader.
    assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(PartitionException.class,
        () -> p.readForFollower(2, 2, 1, 40, 0, 1 << 20)).code()).isEqualTo(dev.brook.proto.v1.ErrorCode.NOT_LEADER);
  }

  @Test
  void damageFoundAtRecoveryIsLeftAloneWhenThisReplicaIsTheOnlyInSyncOne() throws Exception {
    BrokerImage two = new BrokerImage(2, "127.0.0.1:2", "", false, 2, false);
    TopicImage t = new TopicImage("t", "id-1", Map.of("segment.bytes", "1024"),
        List.of(new PartitionImage(0, 1, 0, List.of(1, 2), List.of(1), 0)));
    MetadataImage image = MetadataImage.of(5, CLUSTER, List.of(t), List.of(ME, two));
    damagedLogOnDisk(t, image);
    open().onImage(image);
    assertThat(replicas.partition("t", 0)).isNull();
    assertThat(replicas.offline("t", 0).damaged()).isTrue();
    assertThat(replicas.offline("t", 0).reason()).contains("bin/brook log repair");
  }

  @Test
  void damageLeftAloneIsSetAsideOnceAnEligibleLeaderReplicaHoldsTheDataAndLeadershipGoesThere() throws Exception {
    BrokerImage two = new BrokerImage(2, "127.0.0.1:2", "", false, 2, false);
    TopicImage t = new TopicImage("t", "id-1", Map.of("segment.bytes", "1024"),
        List.of(new PartitionImage(0, 1, 0, List.of(1, 2), List.of(1, 2), 0)));
    damagedLogOnDisk(t, MetadataImage.of(5, CLUSTER, List.of(t), List.of(ME, two)));
    List<dev.brook.quorum.AlterPartitionRequest> sent = new java.util.concurrent.CopyOnWriteArrayList<>();
    dev.brook.quorum.MetadataClient quorum = (dev.brook.quorum.MetadataClient) java.lang.reflect.Proxy.newProxyInstance(
        getClass().getClassLoader(), new Class<?>[] {dev.brook.quorum.MetadataClient.class}, (proxy, method, args) -> {
          if (!method.getName().equals("alterPartition")) throw new UnsupportedOperationException(method.getName());
          sent.add((dev.brook.quorum.AlterPartitionRequest) args[0]);
          return new java.util.concurrent.CompletableFuture<>(); // the quorum never answers here
        });
    replicas = new ReplicaManager(1, dataDir, Map.of(), clock::get, ReplicationConfig.defaults(), quorum, () -> 1L);

    // Back while 2 is fenced, alone in the ISR and nobody in the ELR: the damage is left alone.
    BrokerImage twoDown = new BrokerImage(2, "127.0.0.1:2", "", true, 2, false);
    TopicImage alone = new TopicImage("t", "id-1", Map.of("segment.bytes", "1024"),
        List.of(new PartitionImage(0, 1, 1, List.of(1, 2), List.of(1), 1)));
    replicas.onImage(MetadataImage.of(9, CLUSTER, List.of(alone), List.of(ME, twoDown)));
    assertThat(replicas.partition("t", 0)).isNull();
    assertThat(replicas.offline("t", 0).damaged()).isTrue();

    // 2 left the ISR below min.insync.replicas, so it is an eligible leader replica and holds
    // every committed record: the log may be cut now, and once 2 is active this replica, which
    // may miss committed records, hands leadership to it.
    TopicImage withElr = new TopicImage("t", "id-1", Map.of("segment.bytes", "1024"),
        List.of(new PartitionImage(0, 1, 1, List.of(1, 2), List.of(1), 2, List.of(2))));
    replicas.onImage(MetadataImage.of(10, CLUSTER, List.of(withElr), List.of(ME, twoDown)));
    Partition p = replicas.partition("t", 0);
    assertThat(p).isNotNull();
    assertThat(replicas.offline("t", 0)).isNull();
    assertThat(p.log().recoveryCutAt()).isPositive();
    assertThat(p.mustCatchUp()).isTrue();
    assertThat(sent).as("nobody active to hand over to yet").isEmpty();
    replicas.onImage(MetadataImage.of(11, CLUSTER, List.of(withElr), List.of(ME, two)));
    assertThat(sent).singleElement().satisfies(r -> {
      assertThat(r.leaderId()).isEqualTo(1);
      assertThat(r.newIsr()).containsExactly(2);
      assertThat(r.partitionEpoch()).isEqualTo(2);
    });
  }

  @Test
  void aFollowerThatCutItsLogDoesNotLeadBecauseAnImageShowsItInTheIsrAgain() throws Exception {
    BrokerImage two = new BrokerImage(2, "127.0.0.1:2", "", false, 2, false);
    BrokerImage three = new BrokerImage(3, "127.0.0.1:3", "", false, 3, false);
    AtomicLong version = new AtomicLong(5);
    java.util.function.BiFunction<Integer, List<Integer>, MetadataImage> at = (leader, isr) -> MetadataImage.of(
        version.incrementAndGet(), CLUSTER,
        List.of(new TopicImage("t", "id-1", Map.of("segment.bytes", "1024"),
            List.of(new PartitionImage(0, leader, leader == 1 ? 0 : 1, List.of(1, 2, 3), isr, isr.size())))),
        List.of(ME, two, three));
    open().onImage(at.apply(1, List.of(1)));
    Partition p = replicas.partition("t", 0);
    for (int i = 0; i < 40; i++) p.appendAsLeader(List.of(batch("value-" + i + "-".repeat(40))), false);
    long end = p.log().logEndOffset();
    // Now a follower of 2, out of the ISR, with a batch in a closed segment flipped on disk.
    replicas.onImage(at.apply(2, List.of(2, 3)));
    List<Path> segments;
    try (var files = Files.list(dataDir.resolve("logs/t-0"))) {
      segments = files.filter(f -> f.toString().endsWith(".log")).sorted().toList();
    }
    byte[] bytes = Files.readAllBytes(segments.get(1));
    bytes[bytes.length / 2] ^= 0x20;
    Files.write(segments.get(1), bytes);
    long damagedFrom = Long.parseLong(segments.get(1).getFileName().toString().replace(".log", ""));
    org.assertj.core.api.Assertions.catchThrowable(() -> {
      for (long o = damagedFrom; o < end; o++) p.read(o, 1 << 20);
    });
    assertThat(p.log().logEndOffset()).as("cut at the damage, to be fetched again").isLessThan(end);
    assertThat(p.mustCatchUp()).isTrue();
    replicas.onImage(at.apply(2, List.of(2, 3))); // any later image, still without it
    // An addition the leader proposed on a fetch from before the cut is applied now: the image
    // shows this replica in the ISR, which proves nothing about its log.
    replicas.onImage(at.apply(2, List.of(2, 3, 1)));
    assertThat(p.mustCatchUp()).isTrue();
    // Elected (as preferred leader, say): it serves nothing, so no follower truncates to it.
    replicas.onImage(at.apply(1, List.of(2, 3, 1)));
    assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(PartitionException.class,
        () -> p.appendAsLeader(List.of(batch("x")), false)).code()).isEqualTo(dev.brook.proto.v1.ErrorCode.LEADER_NOT_AVAILABLE);
    assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(PartitionException.class,
        () -> p.readForFollower(2, 2, 1, end, 0, 1 << 20)).code()).isEqualTo(dev.brook.proto.v1.ErrorCode.NOT_LEADER);
  }

  @Test
  void anImageThatIsNotAClusterStateYetDeletesNothing() throws Exception {
    open().onImage(image(5, topic("t", "id-1", 1)));
    produce("t", 3);
    replicas.close();

    // Restart: the first image seen is the empty one of a quorum that has not answered yet.
    open().onImage(MetadataImage.of(0, null, List.of(), List.of()));
    assertThat(Files.exists(dataDir.resolve("logs/t-0/partition.metadata"))).isTrue();
    replicas.onImage(image(5, topic("t", "id-1", 1)));
    assertThat(replicas.partition("t", 0).log().logEndOffset()).isEqualTo(3);
  }

  @Test
  void aTopicDeletedAndRecreatedInOneImageStartsEmptyAndKeepsItsNewData() throws Exception {
    open().onImage(image(5, topic("t", "id-1", 1)));
    produce("t", 3);
    replicas.onImage(image(9, topic("t", "id-2", 1)));
    Partition recreated = replicas.partition("t", 0);
    assertThat(recreated.topicId()).isEqualTo("id-2");
    assertThat(recreated.log().logEndOffset()).isZero();
    produce("t", 2);
    replicas.close();

    open().onImage(image(9, topic("t", "id-2", 1)));
    assertThat(replicas.partition("t", 0).log().logEndOffset()).isEqualTo(2);
  }

  @Test
  void logsOfTopicsDeletedWhileTheBrokerWasDownAreRemovedOthersKept() throws Exception {
    open().onImage(image(5, topic("gone", "id-g", 1), topic("kept", "id-k", 1)));
    produce("gone", 1);
    produce("kept", 1);
    replicas.close();
    Files.createDirectories(dataDir.resolve("logs/unknown-0"));

    open().onImage(image(8, topic("kept", "id-k", 1)));
    assertThat(Files.exists(dataDir.resolve("logs/gone-0"))).isFalse();
    assertThat(Files.exists(dataDir.resolve("logs/kept-0"))).isTrue();
    assertThat(Files.exists(dataDir.resolve("logs/unknown-0"))).as("unidentified: left alone").isTrue();
    assertThat(replicas.partition("kept", 0).log().logEndOffset()).isEqualTo(1);
  }

  @Test
  void aReplicatedPartitionRestartsWithItsCheckpointedHighWatermark() throws Exception {
    // Replicas 1 and 2, only 1 in sync: the leader's high watermark follows its log end.
    TopicImage t = new TopicImage("r", "id-r", Map.of(),
        List.of(new PartitionImage(0, 1, 0, List.of(1, 2), List.of(1), 0)));
    BrokerImage other = new BrokerImage(2, "127.0.0.1:2", "", false, 1, false);
    open().onImage(MetadataImage.of(5, CLUSTER, List.of(t), List.of(ME, other)));
    produce("r", 4);
    assertThat(replicas.partition("r", 0).highWatermark()).isEqualTo(4);
    replicas.close();

    open().onImage(MetadataImage.of(5, CLUSTER, List.of(t), List.of(ME, other)));
    assertThat(replicas.partition("r", 0).highWatermark()).isEqualTo(4);
  }

  @Test
  void imagesAfterCloseAreIgnored() throws Exception {
    open().onImage(image(5, topic("t", "id-1", 1)));
    replicas.close();
    replicas.onImage(image(6, topic("t", "id-1", 1), topic("u", "id-u", 1)));
    assertThat(replicas.partition("u", 0)).isNull();
    assertThat(Files.exists(dataDir.resolve("logs/u-0"))).isFalse();
  }

  @Test
  void aCallbackThatRegistersItselfAgainWaitsForTheNextFire() {
    Waiters waiters = new Waiters();
    int[] runs = new int[1];
    Runnable again = new Runnable() {
      @Override
      public void run() {
        runs[0]++;
        waiters.add(this);
      }
    };
    waiters.add(again);
    waiters.fire();
    assertThat(runs[0]).isEqualTo(1);
    waiters.fire();
    assertThat(runs[0]).isEqualTo(2);
    assertThat(waiters.size()).isEqualTo(1);
  }
}
