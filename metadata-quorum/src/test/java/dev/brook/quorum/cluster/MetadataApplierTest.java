package dev.brook.quorum.cluster;

import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.TopicImage;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.proto.v1.CreateTopicResult;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.DeleteTopicsRequest;
import dev.brook.proto.v1.DeleteTopicsResponse;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.NewTopic;
import dev.brook.quorum.proto.BrokerChange;
import dev.brook.quorum.proto.ControllerBatch;
import dev.brook.quorum.proto.MetadataCommand;
import dev.brook.quorum.proto.RegisterBrokerRequest;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The state machine core without Ratis, sockets or disks: the leader's validation turns requests
 * into commands, the applier applies them to images. Scripted like a log: each step is one entry.
 */
@Timeout(30)
class MetadataApplierTest {
  private final AtomicInteger ids = new AtomicInteger();
  private final RequestValidator validator =
      new RequestValidator(1, 1, () -> String.format("%032x", ids.incrementAndGet()), () -> 1_000L);
  private final MetadataApplier applier = new MetadataApplier();
  private MetadataImage image = MetadataImage.EMPTY;
  private long index;
  private StoreDelta lastDelta;

  private com.google.protobuf.ByteString apply(MetadataCommand command) {
    MetadataApplier.Result r = applier.apply(image, command, ++index);
    image = r.image();
    lastDelta = r.delta();
    return r.reply();
  }

  /** Registers and unfences (as the controller would after their first heartbeat). */
  private void registerBrokers(int... ids) {
    for (int id : ids) {
      apply(validator.registerBroker(RegisterBrokerRequest.newBuilder().setNodeId(id).setAddress("h:" + id).build()));
      apply(MetadataCommand.newBuilder().setControllerBatch(ControllerBatch.newBuilder().addBrokers(BrokerChange.newBuilder()
          .setNodeId(id).setBrokerEpoch(image.brokers().get(id).brokerEpoch()).setFenced(false))).build());
    }
  }

  private CreateTopicsResponse create(NewTopic... topics) throws Exception {
    return CreateTopicsResponse.parseFrom(
        apply(validator.createTopics(CreateTopicsRequest.newBuilder().addAllTopics(List.of(topics)).build(), image)));
  }

  private static NewTopic topic(String name, int partitions, int rf) {
    return NewTopic.newBuilder().setName(name).setPartitions(partitions).setReplicationFactor(rf).build();
  }

  @Test
  void initializeClusterKeepsTheFirstId() {
    apply(validator.initializeCluster());
    String first = image.clusterId();
    assertThat(first).hasSize(32);
    apply(validator.initializeCluster());
    assertThat(image.clusterId()).isEqualTo(first);
    assertThat(lastDelta.isEmpty()).isTrue();
    assertThat(image.version()).isEqualTo(1);
  }

  @Test
  void createsTopicsWithPlacementAndRecords() throws Exception {
    registerBrokers(1, 2, 3);
    CreateTopicsResponse r = create(topic("orders", 3, 2));
    assertThat(r.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
    TopicImage t = image.topic("orders");
    assertThat(t.topicId()).isEqualTo(r.getTopics(0).getTopicId());
    assertThat(t.partitions()).hasSize(3).allSatisfy(p -> {
      assertThat(p.replicas()).hasSize(2).doesNotHaveDuplicates();
      assertThat(p.leaderId()).isEqualTo(p.replicas().get(0));
      assertThat(p.isr()).isEqualTo(p.replicas());
      assertThat(p.leaderEpoch()).isZero();
    });
    assertThat(t.partitions()).extracting(PartitionImage::leaderId).containsExactlyInAnyOrder(1, 2, 3);
    assertThat(lastDelta.topicPuts).hasSize(1);
    assertThat(lastDelta.partitionPuts).hasSize(3);
    assertThat(image.version()).isEqualTo(index);
  }

  @Test
  void rejectsEachBadTopicOnItsOwn() throws Exception {
    registerBrokers(1);
    create(topic("exists", 1, 1));
    CreateTopicsResponse r = create(
        NewTopic.newBuilder().setName("ok").build(),   // counts unset: the cluster defaults
        topic("exists", 1, 1),
        topic("bad name!", 1, 1),
        topic("neg", -1, 1),
        topic("rf", 1, 2),
        NewTopic.newBuilder().setName("cfg").putConfigs("retention.ms", "soon").build(),
        NewTopic.newBuilder().setName("cfg2").putConfigs("no.such.key", "1").build(),
        topic("ok", 1, 1),
        topic("zero", 0, 1),   // an explicit 0 is not "the default"
        topic("zero-rf", 1, 0));
    assertThat(r.getTopicsList()).extracting(x -> x.getError().getCode()).containsExactly(
        ErrorCode.NONE, ErrorCode.TOPIC_ALREADY_EXISTS, ErrorCode.INVALID_TOPIC, ErrorCode.INVALID_PARTITIONS,
        ErrorCode.INVALID_REPLICATION_FACTOR, ErrorCode.INVALID_CONFIG, ErrorCode.INVALID_CONFIG,
        ErrorCode.TOPIC_ALREADY_EXISTS, ErrorCode.INVALID_PARTITIONS, ErrorCode.INVALID_REPLICATION_FACTOR);
    assertThat(r.getTopics(0).getPartitions()).isEqualTo(1);
    assertThat(r.getTopics(0).getReplicationFactor()).isEqualTo(1);
    assertThat(r.getTopics(8).getError().getMessage()).contains("got 0");
    assertThat(r.getTopicsList()).extracting(CreateTopicResult::getName).containsExactly(
        "ok", "exists", "bad name!", "neg", "rf", "cfg", "cfg2", "ok", "zero", "zero-rf");
    assertThat(image.topics().keySet()).containsExactly("exists", "ok");
  }

  @Test
  void applyRechecksWhatChangedSinceValidation() throws Exception {
    registerBrokers(1);
    // Two creations of the same name validated against the same image: the second loses at apply.
    MetadataImage before = image;
    MetadataCommand first = validator.createTopics(CreateTopicsRequest.newBuilder().addTopics(topic("t", 1, 1)).build(), before);
    MetadataCommand second = validator.createTopics(CreateTopicsRequest.newBuilder().addTopics(topic("t", 2, 1)).build(), before);
    apply(first);
    CreateTopicsResponse r = CreateTopicsResponse.parseFrom(apply(second));
    assertThat(r.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.TOPIC_ALREADY_EXISTS);
    assertThat(image.topic("t").partitions()).hasSize(1);
  }

  @Test
  void deleteRemovesTopicAndReportsUnknownNames() throws Exception {
    registerBrokers(1);
    create(topic("a", 2, 1), topic("b", 1, 1));
    String aId = image.topic("a").topicId();
    DeleteTopicsResponse r = DeleteTopicsResponse.parseFrom(
        apply(validator.deleteTopics(DeleteTopicsRequest.newBuilder().addNames("a").addNames("zzz").addNames("a").build())));
    assertThat(r.getTopicsList()).extracting(x -> x.getError().getCode())
        .containsExactly(ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assertThat(image.topics().keySet()).containsExactly("b");
    assertThat(lastDelta.topicDeletes).containsExactly(new StoreDelta.DeletedTopic("a", aId));
  }

  @Test
  void reRegistrationBumpsTheBrokerEpoch() {
    registerBrokers(4);
    long epoch = image.brokers().get(4).brokerEpoch();
    apply(validator.registerBroker(RegisterBrokerRequest.newBuilder().setNodeId(4).setAddress("h:4").build()));
    assertThat(image.brokers().get(4).brokerEpoch()).isGreaterThan(epoch);
    // A (re)registered broker starts fenced: its first heartbeat with the new epoch unfences it.
    assertThat(image.brokers().get(4).fenced()).isTrue();
  }

  @Test
  void sameLogGivesSameImage() throws Exception {
    registerBrokers(1, 2);
    MetadataCommand c = validator.createTopics(CreateTopicsRequest.newBuilder().addTopics(topic("x", 4, 2)).build(), image);
    MetadataImage base = image;
    MetadataImage a = applier.apply(base, c, 10).image();
    MetadataImage b = applier.apply(base, c, 10).image();
    assertThat(a).isEqualTo(b);
    assertThat(a.topic("x").configs()).isEqualTo(Map.of());
  }

  @Test
  void validateOnlyWritesNothing() {
    registerBrokers(1);
    CreateTopicsResponse r = validator.validateOnly(
        CreateTopicsRequest.newBuilder().setValidateOnly(true).addTopics(topic("v", 3, 1)).build(), image);
    assertThat(r.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
    assertThat(r.getTopics(0).getTopicId()).isEmpty();
    assertThat(r.getTopics(0).getPartitions()).isEqualTo(3);
  }
}
