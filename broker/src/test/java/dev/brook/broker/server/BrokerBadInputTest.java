package dev.brook.broker.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.Acks;
import dev.brook.proto.v1.AdminServiceGrpc;
import dev.brook.proto.v1.CompressionCodec;
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
import dev.brook.proto.v1.ListOffsetsResponse;
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
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
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

  // ---------------------------------------------------------------------------------------------
  // The error promises of the .proto files, from a raw client

  /** A produce stream whose responses and end are collected. */
  private static final class ProduceCall implements StreamObserver<ProduceResponse> {
    final LinkedBlockingQueue<ProduceResponse> responses = new LinkedBlockingQueue<>();
    final CompletableFuture<Status> closed = new CompletableFuture<>();
    StreamObserver<ProduceRequest> requests;

    @Override public void onNext(ProduceResponse r) { responses.add(r); }
    @Override public void onError(Throwable t) { closed.complete(Status.fromThrowable(t)); }
    @Override public void onCompleted() { closed.complete(Status.OK); }

    ProduceResponse send(ProduceRequest request) throws InterruptedException {
      requests.onNext(request);
      ProduceResponse r = responses.poll(30, TimeUnit.SECONDS);
      assertThat(r).as("a response to %d", request.getCorrelationId()).isNotNull();
      assertThat(r.getCorrelationId()).isEqualTo(request.getCorrelationId());
      return r;
    }
  }

  private ProduceCall produceStream() {
    ProduceCall call = new ProduceCall();
    call.requests = ProduceServiceGrpc.newStub(channel).produce(call);
    return call;
  }

  private static ProduceRequest request(long correlationId, String topic, int partition, RecordBatch... batches) {
    PartitionProduceData.Builder data = PartitionProduceData.newBuilder().setPartition(partition);
    for (RecordBatch b : batches) data.addBatches(b);
    return ProduceRequest.newBuilder().setCorrelationId(correlationId).setAcks(Acks.ACKS_LEADER)
        .addTopics(TopicProduceData.newBuilder().setTopic(topic).addPartitions(data)).build();
  }

  private static ErrorCode code(ProduceResponse r, int topic, int partition) {
    return r.getTopics(topic).getPartitions(partition).getError().getCode();
  }

  private static RecordBatch signed(RecordBatch.Builder b) {
    return b.setCrc(StoredBatch.computeCrc(b.build())).build();
  }

  private static RecordBatch claims(int recordCount, int actual, int attributes) {
    RecordList.Builder list = RecordList.newBuilder();
    for (int i = 0; i < actual; i++) {
      list.addRecords(Record.newBuilder().setOffsetDelta(i).setValue(ByteString.copyFromUtf8("r" + i)));
    }
    return signed(RecordBatch.newBuilder().setAttributes(attributes).setRecordCount(recordCount)
        .setBaseTimestamp(5).setMaxTimestamp(5).setProducerId(-1).setProducerEpoch(-1).setBaseSequence(-1)
        .setRecords(list.build().toByteString()));
  }

  /** Reads back every record value of a partition from {@code from}, through the generated code alone. */
  private java.util.List<String> values(String topic, int partition, long from) throws Exception {
    LinkedBlockingQueue<FetchResponse> responses = new LinkedBlockingQueue<>();
    StreamObserver<FetchRequest> stream = FetchServiceGrpc.newStub(channel).fetch(new StreamObserver<>() {
      @Override public void onNext(FetchResponse r) { responses.add(r); }
      @Override public void onError(Throwable t) {}
      @Override public void onCompleted() {}
    });
    stream.onNext(FetchRequest.newBuilder().setCorrelationId(1).addTopics(FetchTopic.newBuilder().setTopic(topic)
        .addPartitions(FetchPartition.newBuilder().setPartition(partition).setFetchOffset(from).setCurrentLeaderEpoch(-1)))
        .build());
    FetchPartitionResult r = responses.poll(30, TimeUnit.SECONDS).getTopics(0).getPartitions(0);
    stream.onCompleted();
    assertThat(r.getError().getCode()).isEqualTo(ErrorCode.NONE);
    java.util.List<String> out = new java.util.ArrayList<>();
    for (RecordBatch b : RecordBatchList.parseFrom(r.getRecords()).getBatchesList()) {
      for (Record rec : RecordList.parseFrom(dev.brook.protocol.Compression.decompress(
          dev.brook.protocol.Compression.codecOf(b.getAttributes()), b.getRecords())).getRecordsList()) {
        if (b.getBaseOffset() + rec.getOffsetDelta() >= from) out.add(rec.getValue().toStringUtf8());
      }
    }
    return out;
  }

  @Test
  void eachBadBatchGetsItsCodeAndTheNextValidBatchIsStoredAndReadBack() throws Exception {
    assertThat(create("raw", 2)).isEqualTo(ErrorCode.NONE);
    ProduceCall call = produceStream();
    long end = latest("raw", 0);
    Map<String, RecordBatch> bad = new java.util.LinkedHashMap<>();
    bad.put("count 3, holds 5", claims(3, 5, 0));
    bad.put("count 5, holds 3", claims(5, 3, 0));
    bad.put("gzip bit over plain bytes", claims(3, 3, CompressionCodec.COMPRESSION_GZIP_VALUE));
    bad.put("zstd bit over plain bytes", claims(3, 3, CompressionCodec.COMPRESSION_ZSTD_VALUE));
    bad.put("bad CRC", claims(3, 3, 0).toBuilder().setCrc(1).build());
    bad.put("records not protobuf", signed(claims(3, 3, 0).toBuilder().setRecords(ByteString.copyFromUtf8("not a record list"))));
    bad.put("max timestamp too large", signed(claims(3, 3, 0).toBuilder().setMaxTimestamp(99)));
    long id = 100;
    for (Map.Entry<String, RecordBatch> e : bad.entrySet()) {
      ProduceResponse r = call.send(request(id++, "raw", 0, e.getValue()));
      assertThat(code(r, 0, 0)).as(e.getKey()).isEqualTo(ErrorCode.CORRUPT_RECORD);
      assertThat(r.getTopics(0).getPartitions(0).getError().getMessage()).as(e.getKey()).isNotBlank();
    }
    assertThat(code(call.send(request(id++, "raw", 0, claims(3, 3, 7))), 0, 0)).isEqualTo(ErrorCode.UNSUPPORTED_COMPRESSION);
    // A good batch followed by a bad one in the same partition: all or none.
    assertThat(code(call.send(request(id++, "raw", 0, claims(1, 1, 0), claims(3, 5, 0))), 0, 0))
        .isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(latest("raw", 0)).isEqualTo(end);

    // The stream is still open: a valid batch of every codec is stored and read back.
    for (CompressionCodec codec : new CompressionCodec[] {CompressionCodec.COMPRESSION_NONE, CompressionCodec.COMPRESSION_GZIP,
        CompressionCodec.COMPRESSION_SNAPPY, CompressionCodec.COMPRESSION_LZ4, CompressionCodec.COMPRESSION_ZSTD}) {
      RecordList list = RecordList.newBuilder().addRecords(Record.newBuilder().setValue(ByteString.copyFromUtf8(codec.name())))
          .build();
      RecordBatch b = signed(RecordBatch.newBuilder().setAttributes(codec.getNumber()).setRecordCount(1).setBaseTimestamp(5)
          .setMaxTimestamp(5).setProducerId(-1).setProducerEpoch(-1).setBaseSequence(-1)
          .setRecords(dev.brook.protocol.Compression.compress(codec, list.toByteString())));
      assertThat(code(call.send(request(id++, "raw", 0, b)), 0, 0)).as(codec.name()).isEqualTo(ErrorCode.NONE);
    }
    assertThat(values("raw", 0, end)).containsExactly("COMPRESSION_NONE", "COMPRESSION_GZIP", "COMPRESSION_SNAPPY",
        "COMPRESSION_LZ4", "COMPRESSION_ZSTD");
    assertThat(call.closed).isNotDone();
    call.requests.onCompleted();
  }

  @Test
  void aBadBatchInOnePartitionWritesNothingOfTheRequest() throws Exception {
    assertThat(create("atomic", 2)).isEqualTo(ErrorCode.NONE);
    ProduceCall call = produceStream();
    ProduceRequest twoPartitions = ProduceRequest.newBuilder().setCorrelationId(1).setAcks(Acks.ACKS_LEADER)
        .addTopics(TopicProduceData.newBuilder().setTopic("atomic")
            .addPartitions(PartitionProduceData.newBuilder().setPartition(0).addBatches(claims(2, 2, 0)))
            .addPartitions(PartitionProduceData.newBuilder().setPartition(1).addBatches(claims(3, 5, 0)))).build();
    ProduceResponse r = call.send(twoPartitions);
    assertThat(code(r, 0, 0)).isEqualTo(ErrorCode.INVALID_REQUEST);
    assertThat(r.getTopics(0).getPartitions(0).getError().getMessage()).contains("nothing of this request was written");
    assertThat(code(r, 0, 1)).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(latest("atomic", 0)).isZero();
    assertThat(latest("atomic", 1)).isZero();
    call.requests.onCompleted();
  }

  @Test
  void aBadFieldIsAnErrorForThatRequestAndTheStreamGoesOn() throws Exception {
    assertThat(create("fields", 1)).isEqualTo(ErrorCode.NONE);
    ProduceCall call = produceStream();
    ProduceResponse acks9 = call.send(request(1, "fields", 0, claims(1, 1, 0)).toBuilder().setAcksValue(9).build());
    assertThat(code(acks9, 0, 0)).isEqualTo(ErrorCode.INVALID_REQUEST);
    assertThat(acks9.getTopics(0).getPartitions(0).getError().getMessage()).contains("unknown acks value 9");
    ProduceResponse timeout = call.send(request(2, "fields", 0, claims(1, 1, 0)).toBuilder().setTimeoutMs(-5).build());
    assertThat(code(timeout, 0, 0)).isEqualTo(ErrorCode.INVALID_REQUEST);
    assertThat(code(call.send(request(3, "bad topic!", 0, claims(1, 1, 0))), 0, 0)).isEqualTo(ErrorCode.INVALID_TOPIC);
    assertThat(latest("fields", 0)).isZero();
    assertThat(code(call.send(request(4, "fields", 0, claims(1, 1, 0))), 0, 0)).isEqualTo(ErrorCode.NONE);
    assertThat(call.closed).isNotDone();
    call.requests.onCompleted();

    LinkedBlockingQueue<FetchResponse> responses = new LinkedBlockingQueue<>();
    CompletableFuture<Status> fetchClosed = new CompletableFuture<>();
    StreamObserver<FetchRequest> fetches = FetchServiceGrpc.newStub(channel).fetch(new StreamObserver<>() {
      @Override public void onNext(FetchResponse r) { responses.add(r); }
      @Override public void onError(Throwable t) { fetchClosed.complete(Status.fromThrowable(t)); }
      @Override public void onCompleted() { fetchClosed.complete(Status.OK); }
    });
    FetchRequest base = FetchRequest.newBuilder().addTopics(FetchTopic.newBuilder().setTopic("fields")
        .addPartitions(FetchPartition.newBuilder().setPartition(0).setFetchOffset(0).setCurrentLeaderEpoch(-1))).build();
    fetches.onNext(base.toBuilder().setCorrelationId(1).setMaxBytes(-1).build());
    fetches.onNext(base.toBuilder().setCorrelationId(2).setMaxWaitMs(-1).build());
    fetches.onNext(base.toBuilder().setCorrelationId(3).setIsolationLevelValue(7).build());
    fetches.onNext(base.toBuilder().setCorrelationId(4).build());
    for (int i = 1; i <= 3; i++) {
      FetchResponse r = responses.poll(30, TimeUnit.SECONDS);
      assertThat(r.getCorrelationId()).isEqualTo(i);
      assertThat(r.getTopics(0).getPartitions(0).getError().getCode()).isEqualTo(ErrorCode.INVALID_REQUEST);
    }
    FetchResponse ok = responses.poll(30, TimeUnit.SECONDS);
    assertThat(ok.getCorrelationId()).isEqualTo(4);
    assertThat(ok.getTopics(0).getPartitions(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
    assertThat(RecordBatchList.parseFrom(ok.getTopics(0).getPartitions(0).getRecords()).getBatchesCount()).isEqualTo(1);
    assertThat(fetchClosed).isNotDone();
    fetches.onCompleted();
  }

  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override public java.io.InputStream stream(byte[] value) { return new java.io.ByteArrayInputStream(value); }
    @Override public byte[] parse(java.io.InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  };

  @Test
  void aMalformedMessageIsInvalidArgumentAndOtherStreamsGoOn() throws Exception {
    assertThat(create("malformed", 1)).isEqualTo(ErrorCode.NONE);
    ProduceCall healthy = produceStream();
    assertThat(code(healthy.send(request(1, "malformed", 0, claims(1, 1, 0))), 0, 0)).isEqualTo(ErrorCode.NONE);

    // Field 4 (topics) says 5 bytes follow, one does.
    MethodDescriptor<byte[], ProduceResponse> rawProduce = ProduceServiceGrpc.getProduceMethod().toBuilder(BYTES,
        io.grpc.protobuf.ProtoUtils.marshaller(ProduceResponse.getDefaultInstance())).build();
    ProduceCall broken = new ProduceCall();
    StreamObserver<byte[]> raw = io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
        channel.newCall(rawProduce, io.grpc.CallOptions.DEFAULT), broken);
    raw.onNext(new byte[] {0x22, 0x05, 0x01});
    Status status = broken.closed.get(30, TimeUnit.SECONDS);
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("malformed brook.v1.ProduceService/Produce request");

    // Unary calls too.
    MethodDescriptor<byte[], ListOffsetsResponse> rawList = FetchServiceGrpc.getListOffsetsMethod().toBuilder(BYTES,
        io.grpc.protobuf.ProtoUtils.marshaller(ListOffsetsResponse.getDefaultInstance())).build();
    io.grpc.StatusRuntimeException unary = org.assertj.core.api.Assertions.catchThrowableOfType(
        io.grpc.StatusRuntimeException.class,
        () -> io.grpc.stub.ClientCalls.blockingUnaryCall(channel, rawList, io.grpc.CallOptions.DEFAULT.withDeadlineAfter(30,
            TimeUnit.SECONDS), new byte[] {(byte) 0xFF, (byte) 0xFF}));
    assertThat(unary.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);

    // The other stream on the same connection is untouched and the data is intact.
    assertThat(code(healthy.send(request(2, "malformed", 0, claims(1, 1, 0))), 0, 0)).isEqualTo(ErrorCode.NONE);
    assertThat(latest("malformed", 0)).isEqualTo(2);
    healthy.requests.onCompleted();
  }

  @Test
  void listOffsetsByTimeFindsTheFirstRecordNotTheBatch() throws Exception {
    assertThat(create("bytime", 1)).isEqualTo(ErrorCode.NONE);
    RecordList.Builder list = RecordList.newBuilder();
    long[] ts = {1000, 1010, 1020};
    for (int i = 0; i < ts.length; i++) {
      list.addRecords(Record.newBuilder().setOffsetDelta(i).setTimestampDelta(ts[i] - 1000).setValue(ByteString.copyFromUtf8("t" + i)));
    }
    RecordBatch b = signed(RecordBatch.newBuilder().setRecordCount(3).setBaseTimestamp(1000).setMaxTimestamp(1020)
        .setProducerId(-1).setProducerEpoch(-1).setBaseSequence(-1).setRecords(list.build().toByteString()));
    assertThat(produce("bytime", 0, b).getError().getCode()).isEqualTo(ErrorCode.NONE);
    var found = FetchServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
        .listOffsets(ListOffsetsRequest.newBuilder().addTopics(ListOffsetsTopic.newBuilder().setTopic("bytime")
            .addPartitions(ListOffsetsPartition.newBuilder().setPartition(0).setTimestamp(1005))).build())
        .getTopics(0).getPartitions(0);
    assertThat(found.getOffset()).isEqualTo(1);
    assertThat(found.getTimestamp()).isEqualTo(1010);
  }

  private static FetchRequest fetch(long correlationId, long offset) {
    return FetchRequest.newBuilder().setCorrelationId(correlationId).setMaxWaitMs(100)
        .addTopics(FetchTopic.newBuilder().setTopic("good").addPartitions(
            FetchPartition.newBuilder().setPartition(0).setFetchOffset(offset).setCurrentLeaderEpoch(-1)))
        .build();
  }
}
