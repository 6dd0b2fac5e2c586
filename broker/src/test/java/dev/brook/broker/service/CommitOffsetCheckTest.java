package dev.brook.broker.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.broker.group.TopicPartition;
import dev.brook.broker.service.CommitOffsetCheck.LocalReplica;
import dev.brook.proto.v1.Error;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.TopicImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Which bound an offset commit is checked against, with a hand-built image and fake replicas. */
@Timeout(30)
class CommitOffsetCheckTest {
  private static final int ME = 1;
  private static final TopicPartition T0 = new TopicPartition("t", 0);

  /** Addresses the check asked, in order. */
  private final List<String> asked = new ArrayList<>();
  private long leaderHighWatermark = 1_000;
  private LocalReplica local;

  private static MetadataImage image(int leader, List<Integer> isr) {
    TopicImage t = new TopicImage("t", "id-t", Map.of(),
        List.of(new PartitionImage(0, leader, 3, List.of(1, 2, 3), isr, 5)));
    List<BrokerImage> brokers = List.of(new BrokerImage(1, "127.0.0.1:1", "", false, 10, false),
        new BrokerImage(2, "127.0.0.1:2", "", false, 11, false), new BrokerImage(3, "127.0.0.1:3", "", false, 12, false));
    return MetadataImage.of(7, "c0ffee", List.of(t), brokers);
  }

  private Error check(MetadataImage image, long offset) throws Exception {
    CommitOffsetCheck c = new CommitOffsetCheck(() -> image, (topic, p) -> local, ME, (address, partitions) -> {
      asked.add(address);
      return CompletableFuture.completedFuture(Map.of(T0, leaderHighWatermark));
    });
    return c.check(Map.of(T0, offset)).get(5, TimeUnit.SECONDS);
  }

  @Test
  void aLeaderWithAWholeLogBoundsTheOffsetByItsLogEndWithoutAsking() throws Exception {
    local = new LocalReplica(500, true);
    assertThat(check(image(ME, List.of(1, 2)), 500)).isNull();
    Error beyond = check(image(ME, List.of(1, 2)), 501);
    assertThat(beyond.getCode()).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE);
    assertThat(beyond.getMessage()).contains("offset 501 of t-0", "(500)");
    assertThat(asked).isEmpty();
  }

  @Test
  void aLeaderWhoseLogWasCutToRepairDamageBoundsNothing() throws Exception {
    // Restarted after a crash with its log cut far back, and still (or again) named leader: what
    // consumers read from the previous leader is well beyond its end, and must stay committable.
    local = new LocalReplica(5_704, false);
    assertThat(check(image(ME, List.of(1, 2)), 85_541)).isNull();
    assertThat(asked).isEmpty();
  }

  @Test
  void anInSyncFollowerBoundsWhatItHasAndAsksTheLeaderBeyond() throws Exception {
    local = new LocalReplica(500, true);
    assertThat(check(image(2, List.of(1, 2)), 400)).isNull();
    assertThat(asked).isEmpty();
    assertThat(check(image(2, List.of(1, 2)), 900)).isNull();
    assertThat(asked).containsExactly("127.0.0.1:2");
    assertThat(check(image(2, List.of(1, 2)), 1_001).getCode()).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE);
  }

  @Test
  void aFollowerWithACutLogOrNoReplicaAsksTheLeader() throws Exception {
    local = new LocalReplica(10_000, false); // its end says nothing, even below it
    assertThat(check(image(2, List.of(1, 2)), 900)).isNull();
    local = null;
    assertThat(check(image(3, List.of(3)), 900)).isNull();
    assertThat(asked).containsExactly("127.0.0.1:2", "127.0.0.1:3");
    leaderHighWatermark = 800;
    assertThat(check(image(3, List.of(3)), 900).getCode()).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE);
  }

  @Test
  void aPartitionWithoutALeaderCannotBeCheckedAndAnUnknownOneIsRefused() throws Exception {
    local = null;
    assertThat(check(image(-1, List.of()), 1_000_000)).isNull();
    assertThat(asked).isEmpty();
    CommitOffsetCheck c = new CommitOffsetCheck(() -> image(2, List.of(2)), (topic, p) -> null, ME,
        (address, partitions) -> CompletableFuture.completedFuture(Map.of()));
    Error unknown = c.check(Map.of(new TopicPartition("t", 4), 1L)).get(5, TimeUnit.SECONDS);
    assertThat(unknown.getCode()).isEqualTo(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assertThat(c.check(Map.of(new TopicPartition("nope", 0), 1L)).get(5, TimeUnit.SECONDS).getCode())
        .isEqualTo(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assertThat(Set.copyOf(asked)).isEmpty();
  }
}
