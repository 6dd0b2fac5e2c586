package dev.brook.broker.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.Acks;
import dev.brook.proto.v1.AdminServiceGrpc;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.FetchPartition;
import dev.brook.proto.v1.FetchPartitionResult;
import dev.brook.proto.v1.FetchRequest;
import dev.brook.proto.v1.FetchResponse;
import dev.brook.proto.v1.FetchServiceGrpc;
import dev.brook.proto.v1.FetchTopic;
import dev.brook.proto.v1.ListOffsetsPartition;
import dev.brook.proto.v1.ListOffsetsRequest;
import dev.brook.proto.v1.ListOffsetsTopic;
import dev.brook.proto.v1.NewTopic;
import dev.brook.proto.v1.PartitionProduceData;
import dev.brook.proto.v1.PartitionProduceResult;
import dev.brook.proto.v1.ProduceRequest;
import dev.brook.proto.v1.ProduceResponse;
import dev.brook.proto.v1.ProduceServiceGrpc;
import dev.brook.proto.v1.Record;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordBatchList;
import dev.brook.proto.v1.RecordList;
import dev.brook.proto.v1.TopicProduceData;
import dev.brook.protocol.StoredBatch;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input over the raw gRPC API, as a client in another language would send it: every case
 * gets its error code and leaves the log unchanged.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BrokerBadInputTest {
  @TempDir
  static Path dataDir;

  private BrookNode node;
  private ManagedChannel channel;
  private AdminServiceGrpc.AdminServiceBlockingStub admin;

  @BeforeAll
  void start() throws Exception {
    node = BrookNode.start(NodeConfig.dev(dataDir, 0, Map.of("message.max.bytes", "10000")));
    channel = ManagedChannelBuilder.forTarget(node.brokerAddress()).usePlaintext().build();
    admin = AdminServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    assertThat(create("good", 2)).isEqualTo(ErrorCode.NONE);
  }

  @AfterAll
  void stop() throws Exception {
    if (channel != null) channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    if (node != null) node.close();
  }

  private ErrorCode create(String name, int partitions) {
    return admin.createTopics(CreateTopicsRequest.newBuilder()
        .addTopics(NewTopic.newBuilder().setName(name).setPartitions(partitions)).build())
        .getTopics(0).getError().getCode();
  }

  @Test
  void topicCreationIsValidated() {
    assertThat(create("bad name", 1)).isEqualTo(ErrorCode.INVALID_TOPIC);
    assertThat(create("x".repeat(250), 1)).isEqualTo(ErrorCode.INVALID_TOPIC);
    assertThat(create("negative", -1)).isEqualTo(ErrorCode.INVALID_PARTITIONS);
    assertThat(create("good", 1)).isEqualTo(ErrorCode.TOPIC_ALREADY_EXISTS);
    assertThat(admin.createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
        .setName("too-many-replicas").setPartitions(1).setReplicationFactor(3)).build())
        .getTopics(0).getError().getCode()).isEqualTo(ErrorCode.INVALID_REPLICATION_FACTOR);
    assertThat(admin.createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder()
        .setName("bad-config").setPartitions(1).putConfigs("retention.ms", "soon")).build())
        .getTopics(0).getError().getCode()).isEqualTo(ErrorCode.INVALID_CONFIG);
  }

  private static RecordBatch batch(int valueSize) {
    ByteString records = RecordList.newBuilder().addRecords(Record.newBuilder().setOffsetDelta(0)
        .setValue(ByteString.copyFrom(new byte[valueSize]))).build().toByteString();
    RecordBatch b = RecordBatch.newBuilder().setRecordCount(1).setBaseTimestamp(1).setMaxTimestamp(1)
        .setProducerId(-1).setProducerEpoch(-1).setBaseSequence(-1).setRecords(records).build();
    return b.toBuilder().setCrc(StoredBatch.computeCrc(b)).build();
  }

  private PartitionProduceResult produce(String topic, int partition, RecordBatch batch) throws Exception {
    LinkedBlockingQueue<ProduceResponse> responses = new LinkedBlockingQueue<>();
    StreamObserver<ProduceRequest> stream = ProduceServiceGrpc.newStub(channel).produce(new StreamObserver<>() {
      @Override public void onNext(ProduceResponse r) { responses.add(r); }
      @Override public void onError(Throwable t) {}
      @Override public void onCompleted() {}
    });
    stream.onNext(ProduceRequest.newBuilder().setCorrelationId(7).setAcks(Acks.ACKS_LEADER)
        .addTopics(TopicProduceData.newBuilder().setTopic(topic).addPartitions(
            PartitionProduceData.newBuilder().setPartition(partition).addBatches(batch))).build());
    ProduceResponse r = responses.poll(30, TimeUnit.SECONDS);
    stream.onCompleted();
    assertThat(r).isNotNull();
    assertThat(r.getCorrelationId()).isEqualTo(7);
    return r.getTopics(0).getPartitions(0);
  }

  private long latest(String topic, int partition) {
    return FetchServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
        .listOffsets(ListOffsetsRequest.newBuilder().addTopics(ListOffsetsTopic.newBuilder().setTopic(topic)
            .addPartitions(ListOffsetsPartition.newBuilder().setPartition(partition).setTimestamp(-1))).build())
        .getTopics(0).getPartitions(0).getOffset();
  }

  @Test
  void badBatchesAreRejectedAndNothingIsWritten() throws Exception {
    PartitionProduceResult ok = produce("good", 1, batch(10));
    assertThat(ok.getError().getCode()).isEqualTo(ErrorCode.NONE);
    long end = latest("good", 1);
    assertThat(end).isEqualTo(ok.getBaseOffset() + 1);

    RecordBatch corrupt = batch(10).toBuilder().setCrc(12345).build();
    assertThat(produce("good", 1, corrupt).getError().getCode()).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(produce("good", 1, batch(20_000)).getError().getCode()).isEqualTo(ErrorCode.RECORD_TOO_LARGE);
    assertThat(produce("good", 7, batch(10)).getError().getCode()).isEqualTo(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assertThat(produce("missing", 0, batch(10)).getError().getCode()).isEqualTo(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assertThat(latest("good", 1)).isEqualTo(end);
  }

  @Test
  void fetchOutOfRangeNamesTheValidRange() throws Exception {
    assertThat(produce("good", 0, batch(10)).getError().getCode()).isEqualTo(ErrorCode.NONE);
    long end = latest("good", 0);
    LinkedBlockingQueue<FetchResponse> responses = new LinkedBlockingQueue<>();
    StreamObserver<FetchRequest> stream = FetchServiceGrpc.newStub(channel).fetch(new StreamObserver<>() {
      @Override public void onNext(FetchResponse r) { responses.add(r); }
      @Override public void onError(Throwable t) {}
      @Override public void onCompleted() {}
    });
    stream.onNext(fetch(1, end + 100));
    FetchPartitionResult r = responses.poll(30, TimeUnit.SECONDS).getTopics(0).getPartitions(0);
    assertThat(r.getError().getCode()).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE);
    assertThat(r.getError().getMessage()).contains(String.valueOf(end));
    assertThat(r.getLogStartOffset()).isZero();
    assertThat(r.getHighWatermark()).isEqualTo(end);

    stream.onNext(fetch(2, 0));
    FetchPartitionResult ok = responses.poll(30, TimeUnit.SECONDS).getTopics(0).getPartitions(0);
    assertThat(ok.getError().getCode()).isEqualTo(ErrorCode.NONE);
    RecordBatchList batches = RecordBatchList.parseFrom(ok.getRecords());
    assertThat(batches.getBatchesCount()).isPositive();
    assertThat(batches.getBatches(0).getBaseOffset()).isZero();
    assertThat(StoredBatch.computeCrc(batches.getBatches(0))).isEqualTo(batches.getBatches(0).getCrc());
    stream.onCompleted();
  }

  private static FetchRequest fetch(long correlationId, long offset) {
    return FetchRequest.newBuilder().setCorrelationId(correlationId).setMaxWaitMs(100)
        .addTopics(FetchTopic.newBuilder().setTopic("good").addPartitions(
            FetchPartition.newBuilder().setPartition(0).setFetchOffset(offset).setCurrentLeaderEpoch(-1)))
        .build();
  }
}
