package dev.brook.broker.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.brook.broker.replica.Partition;
import dev.brook.broker.replica.ReplicaManager;
import dev.brook.proto.v1.FetchPartition;
import dev.brook.proto.v1.FetchRequest;
import dev.brook.proto.v1.FetchResponse;
import dev.brook.proto.v1.FetchTopic;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.PartitionImage;
import dev.brook.quorum.TopicImage;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker stopping while a fetch long-polls: {@code BrookNode.close} shuts the fetch executor
 * down before it closes the logs, and closing a partition wakes its waiting fetches. gRPC
 * delivers the cancellation of those fetch streams asynchronously, so a waiting fetch may not
 * know yet that its stream is gone when it is woken.
 */
@Timeout(30)
class FetchServiceShutdownTest {
  @TempDir
  Path dataDir;

  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final ExecutorService fetchExecutor = Executors.newSingleThreadExecutor();

  @AfterEach
  void stop() {
    scheduler.shutdownNow();
    fetchExecutor.shutdownNow();
  }

  /** A server stream that records what is sent; its cancellation never arrives (it is late). */
  private static final class Responses extends ServerCallStreamObserver<FetchResponse> {
    final List<Object> sent = new CopyOnWriteArrayList<>();

    @Override public boolean isCancelled() { return false; }
    @Override public void setOnCancelHandler(Runnable onCancelHandler) {}
    @Override public void setCompression(String compression) {}
    @Override public boolean isReady() { return true; }
    @Override public void setOnReadyHandler(Runnable onReadyHandler) {}
    @Override public void disableAutoInboundFlowControl() {}
    @Override public void request(int count) {}
    @Override public void setMessageCompression(boolean enable) {}
    @Override public void onNext(FetchResponse value) { sent.add(value); }
    @Override public void onError(Throwable t) { sent.add(t); }
    @Override public void onCompleted() { sent.add("completed"); }
  }

  @Test
  void closingTheLogsAfterTheFetchExecutorStoppedWakesWaitingFetchesWithoutFailing() throws Exception {
    ReplicaManager replicas = new ReplicaManager(1, dataDir, Map.of(), System::currentTimeMillis);
    replicas.onImage(MetadataImage.of(3, "c0ffee",
        List.of(new TopicImage("t", "id-1", Map.of(), List.of(new PartitionImage(0, 1, 0, List.of(1), List.of(1), 0)))),
        List.of(new BrokerImage(1, "127.0.0.1:1", "", false, 1, false))));
    Partition partition = replicas.partition("t", 0);
    assertThat(partition.isLeader()).isTrue();

    // A consumer waits for records of an empty partition (the first attempt runs on this thread).
    FetchServiceImpl service = new FetchServiceImpl(replicas, 1, scheduler, fetchExecutor);
    Responses responses = new Responses();
    StreamObserver<FetchRequest> stream = service.fetch(responses);
    stream.onNext(FetchRequest.newBuilder().setCorrelationId(1).setMaxWaitMs(60_000).setMinBytes(1)
        .addTopics(FetchTopic.newBuilder().setTopic("t").addPartitions(FetchPartition.newBuilder()
            .setPartition(0).setFetchOffset(0).setCurrentLeaderEpoch(-1))).build());
    assertThat(responses.sent).as("still waiting").isEmpty();

    // BrookNode.close: the executors stop, then the logs close (which wakes the waiting fetch).
    fetchExecutor.shutdownNow();
    assertThatCode(replicas::close).doesNotThrowAnyException();

    // The log was closed properly: it left its clean-shutdown marker.
    assertThat(dataDir.resolve("logs").resolve("t-0").resolve(".clean-shutdown")).exists();
    assertThat(responses.sent).as("nothing is answered on a stream that is going away").isEmpty();
  }
}
