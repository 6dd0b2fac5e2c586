package dev.brook.broker.service;

import dev.brook.broker.group.TopicPartition;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.FetchServiceGrpc;
import dev.brook.proto.v1.ListOffsetsPartition;
import dev.brook.proto.v1.ListOffsetsPartitionResult;
import dev.brook.proto.v1.ListOffsetsRequest;
import dev.brook.proto.v1.ListOffsetsResponse;
import dev.brook.proto.v1.ListOffsetsTopic;
import dev.brook.proto.v1.ListOffsetsTopicResult;
import dev.brook.proto.v1.OffsetSpec;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Asks another broker for the high watermarks of partitions it leads, over the public
 * {@code ListOffsets} RPC (LATEST), for {@link CommitOffsetCheck}. One channel per broker
 * address, kept until {@link #close}; each call has a short deadline, since the answer only
 * decides whether a commit is refused.
 */
final class LeaderHighWatermarks implements CommitOffsetCheck.LeaderOffsets, AutoCloseable {
  static final long DEADLINE_MS = 2_000;

  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private volatile boolean closed;

  @Override
  public CompletableFuture<Map<TopicPartition, Long>> apply(String address, Set<TopicPartition> partitions) {
    if (closed) return CompletableFuture.failedFuture(new IllegalStateException("closed"));
    ManagedChannel channel = channels.computeIfAbsent(address, a -> NettyChannelBuilder.forTarget(a).usePlaintext().build());
    Map<String, ListOffsetsTopic.Builder> topics = new TreeMap<>();
    for (TopicPartition tp : partitions) {
      topics.computeIfAbsent(tp.topic(), t -> ListOffsetsTopic.newBuilder().setTopic(t))
          .addPartitions(ListOffsetsPartition.newBuilder().setPartition(tp.partition()).setTimestamp(OffsetSpec.LATEST_VALUE));
    }
    ListOffsetsRequest.Builder request = ListOffsetsRequest.newBuilder();
    topics.values().forEach(request::addTopics);
    CompletableFuture<Map<TopicPartition, Long>> out = new CompletableFuture<>();
    FetchServiceGrpc.newStub(channel).withDeadlineAfter(DEADLINE_MS, TimeUnit.MILLISECONDS)
        .listOffsets(request.build(), new StreamObserver<>() {
          @Override
          public void onNext(ListOffsetsResponse response) {
            Map<TopicPartition, Long> ends = new HashMap<>();
            for (ListOffsetsTopicResult t : response.getTopicsList()) {
              for (ListOffsetsPartitionResult p : t.getPartitionsList()) {
                if (p.getError().getCode() == ErrorCode.NONE) ends.put(new TopicPartition(t.getTopic(), p.getPartition()), p.getOffset());
              }
            }
            out.complete(ends);
          }

          @Override
          public void onError(Throwable t) {
            out.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            out.complete(Map.of());
          }
        });
    return out;
  }

  @Override
  public void close() {
    closed = true;
    channels.values().forEach(ManagedChannel::shutdownNow);
    channels.clear();
  }
}
