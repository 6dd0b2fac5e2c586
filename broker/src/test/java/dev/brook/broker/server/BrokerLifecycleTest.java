package dev.brook.broker.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.DeleteTopicsRequest;
import dev.brook.proto.v1.DeleteTopicsResponse;
import dev.brook.proto.v1.ElectLeadersRequest;
import dev.brook.proto.v1.ElectLeadersResponse;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.QuorumStatus;
import dev.brook.quorum.AlterPartitionRequest;
import dev.brook.quorum.AlterPartitionResult;
import dev.brook.quorum.BrokerRegistration;
import dev.brook.quorum.HeartbeatResult;
import dev.brook.quorum.MetadataClient;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.QuorumException;
import dev.brook.quorum.RegisteredBroker;
import dev.brook.quorum.RegistrationRefusedException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** BrokerLifecycle against a scripted quorum: outages, fencing, refusals. */
@Timeout(30)
class BrokerLifecycleTest {
  @TempDir
  Path dir;

  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private BrokerLifecycle lifecycle;

  @AfterEach
  void tearDown() {
    if (lifecycle != null) lifecycle.stop();
    scheduler.shutdownNow();
  }

  /** A quorum whose answers the test switches: down (QUORUM_NOT_AVAILABLE), a current epoch, or a refusal. */
  static final class ScriptedQuorum implements MetadataClient {
    volatile boolean down;
    volatile RegistrationRefusedException refusal;
    final AtomicLong epoch = new AtomicLong();
    final AtomicLong nextEpoch = new AtomicLong(10);
    final List<BrokerRegistration> registrations = new CopyOnWriteArrayList<>();

    @Override
    public CompletableFuture<RegisteredBroker> register(BrokerRegistration r) {
      if (down) return CompletableFuture.failedFuture(new QuorumException(ErrorCode.QUORUM_NOT_AVAILABLE, "down"));
      if (refusal != null) return CompletableFuture.failedFuture(refusal);
      registrations.add(r);
      epoch.set(nextEpoch.getAndIncrement());
      return CompletableFuture.completedFuture(new RegisteredBroker(epoch.get(), "cluster-a"));
    }

    @Override
    public CompletableFuture<HeartbeatResult> heartbeat(int nodeId, long brokerEpoch, boolean wantShutdown) {
      if (down) return CompletableFuture.failedFuture(new QuorumException(ErrorCode.QUORUM_NOT_AVAILABLE, "down"));
      if (brokerEpoch != epoch.get()) {
        return CompletableFuture.completedFuture(new HeartbeatResult(ErrorCode.STALE_BROKER_EPOCH, true, false));
      }
      return CompletableFuture.completedFuture(new HeartbeatResult(ErrorCode.NONE, false, wantShutdown));
    }

    @Override public MetadataImage image() { return MetadataImage.of(0, null, List.of(), List.of()); }
    @Override public void addListener(Consumer<MetadataImage> listener) { }
    @Override public CompletableFuture<MetadataImage> awaitVersion(long version) { return new CompletableFuture<>(); }
    @Override public CompletableFuture<CreateTopicsResponse> createTopics(CreateTopicsRequest r) { throw new UnsupportedOperationException(); }
    @Override public CompletableFuture<DeleteTopicsResponse> deleteTopics(DeleteTopicsRequest r) { throw new UnsupportedOperationException(); }
    @Override public CompletableFuture<AlterPartitionResult> alterPartition(AlterPartitionRequest r) { throw new UnsupportedOperationException(); }
    @Override public dev.brook.quorum.GroupStateClient groups() { throw new UnsupportedOperationException(); }
    @Override public CompletableFuture<ElectLeadersResponse> electLeaders(ElectLeadersRequest r) { throw new UnsupportedOperationException(); }
    @Override public CompletableFuture<Map<Integer, Long>> heartbeatAgesMs() { throw new UnsupportedOperationException(); }
    @Override public QuorumStatus status() { return QuorumStatus.getDefaultInstance(); }
    @Override public void close() { }
  }

  private BrokerLifecycle start(ScriptedQuorum quorum, NodeIdentity identity) {
    lifecycle = new BrokerLifecycle(quorum, identity, "127.0.0.1:9092", "", 50, scheduler);
    lifecycle.start();
    return lifecycle;
  }

  @Test
  void registersWithItsIdentityAndStoresTheClusterId() throws Exception {
    ScriptedQuorum quorum = new ScriptedQuorum();
    NodeIdentity identity = NodeIdentity.open(dir, 4);
    start(quorum, identity).ready().get();
    assertThat(quorum.registrations.get(0).incarnationId()).isEqualTo(identity.incarnationId());
    assertThat(quorum.registrations.get(0).clusterId()).isEmpty();
    assertThat(NodeIdentity.open(dir, 4).clusterId()).isEqualTo("cluster-a");
  }

  @Test
  void outlivesAnOutageAndRegistersAgainWhenFencedMeanwhile() throws Exception {
    ScriptedQuorum quorum = new ScriptedQuorum();
    quorum.down = true; // the quorum is not there yet at start
    start(quorum, NodeIdentity.open(dir, 4));
    await().pollDelay(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).until(() -> !lifecycle.ready().isDone());
    quorum.down = false;
    long first = lifecycle.ready().get();

    quorum.down = true;
    await().atMost(Duration.ofSeconds(5)).pollDelay(Duration.ofMillis(300)).until(() -> lifecycle.brokerEpoch() == first);
    // While it was gone, the quorum fenced this epoch (its lease expired): the next heartbeat says so.
    quorum.epoch.set(-1);
    quorum.down = false;
    await("registered again under a new epoch").atMost(Duration.ofSeconds(5))
        .until(() -> lifecycle.brokerEpoch() > first);
    assertThat(quorum.registrations).hasSize(2);
    assertThat(quorum.registrations.get(1).clusterId()).as("the stored cluster id is sent").isEqualTo("cluster-a");
  }

  @Test
  void aRefusalStopsTheNodeWithItsOneLineReason() throws Exception {
    ScriptedQuorum quorum = new ScriptedQuorum();
    quorum.refusal = new RegistrationRefusedException(RegistrationRefusedException.Reason.NODE_ID_IN_USE,
        "node.id 4 is in use by a live node");
    start(quorum, NodeIdentity.open(dir, 4));
    AtomicReference<Throwable> failure = new AtomicReference<>();
    await().atMost(Duration.ofSeconds(5)).until(() -> lifecycle.ready().isDone());
    lifecycle.ready().whenComplete((v, e) -> failure.set(e));
    assertThat(failure.get()).isInstanceOf(ConfigException.class)
        .hasMessage("the metadata quorum refused this node: node.id 4 is in use by a live node");
  }
}
