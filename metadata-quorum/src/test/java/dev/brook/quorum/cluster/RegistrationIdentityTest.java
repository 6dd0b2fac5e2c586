package dev.brook.quorum.cluster;

import dev.brook.quorum.MetadataImage;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.quorum.proto.BrokerChange;
import dev.brook.quorum.proto.ControllerBatch;
import dev.brook.quorum.proto.InitializeCluster;
import dev.brook.quorum.proto.MetadataCommand;
import dev.brook.quorum.proto.RegisterBrokerReply;
import dev.brook.quorum.proto.RegisterBrokerRequest;
import dev.brook.quorum.proto.RegistrationRefusal;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Node identity in the quorum (issue 8, item 5), without Ratis: the leader's validation with a
 * fake monotonic clock stamps the verdict into RegisterBroker, the applier applies it.
 */
@Timeout(30)
class RegistrationIdentityTest {
  private static final long SESSION_MS = 6_000;
  private static final String CLUSTER = "c0ffee00c0ffee00c0ffee00c0ffee00";

  private final AtomicLong nowMs = new AtomicLong(1_000_000);
  private final IncarnationLeases leases = new IncarnationLeases(SESSION_MS);
  private final RequestValidator validator =
      new RequestValidator(1, 1, () -> "id", () -> 42L, leases, nowMs::get);
  private final MetadataApplier applier = new MetadataApplier();
  private MetadataImage image = MetadataImage.EMPTY;
  private long index;

  private RegisterBrokerReply register(int id, String incarnation, String clusterId) throws Exception {
    MetadataCommand cmd = validator.registerBroker(RegisterBrokerRequest.newBuilder().setNodeId(id).setAddress("h:" + id)
        .setIncarnationId(incarnation).setClusterId(clusterId).build(), image);
    return RegisterBrokerReply.parseFrom(apply(cmd));
  }

  private com.google.protobuf.ByteString apply(MetadataCommand command) {
    MetadataApplier.Result r = applier.apply(image, command, ++index);
    image = r.image();
    return r.reply();
  }

  private void initialize() {
    apply(MetadataCommand.newBuilder().setInitializeCluster(InitializeCluster.newBuilder().setClusterId(CLUSTER)).build());
  }

  /** This node became the active controller a full session ago (so leases are judged by contact). */
  private void activeForAWhile() {
    leases.activated(nowMs.get());
    nowMs.addAndGet(SESSION_MS + 1);
  }

  @Test
  void aSecondIncarnationIsRefusedWhileTheFirstIsHeardFrom() throws Exception {
    initialize();
    activeForAWhile();
    RegisterBrokerReply first = register(2, "inc-a", "");
    assertThat(first.getRefusal()).isEqualTo(RegistrationRefusal.REGISTRATION_ACCEPTED);
    assertThat(first.getClusterId()).isEqualTo(CLUSTER);
    assertThat(image.brokers().get(2).incarnationId()).isEqualTo("inc-a");
    long version = image.version();

    nowMs.addAndGet(2_000);
    leases.heard(2, "inc-a", nowMs.get()); // a heartbeat
    nowMs.addAndGet(1_000);
    RegisterBrokerReply impostor = register(2, "inc-b", "");
    assertThat(impostor.getRefusal()).isEqualTo(RegistrationRefusal.NODE_ID_IN_USE);
    assertThat(impostor.getRefusalMessage()).contains("node.id 2", "inc-a", "inc-b", "h:2", "last heard 1000 ms ago");
    assertThat(impostor.getBrokerEpoch()).isZero();
    // Nothing changed: the live node keeps its registration and epoch.
    assertThat(image.version()).isEqualTo(version);
    assertThat(image.brokers().get(2).incarnationId()).isEqualTo("inc-a");
    assertThat(image.brokers().get(2).brokerEpoch()).isEqualTo(first.getBrokerEpoch());
  }

  @Test
  void theSameIncarnationIsAlwaysAcceptedAsARestart() throws Exception {
    initialize();
    activeForAWhile();
    long first = register(3, "inc-a", "").getBrokerEpoch();
    nowMs.addAndGet(100);
    RegisterBrokerReply again = register(3, "inc-a", CLUSTER);
    assertThat(again.getRefusal()).isEqualTo(RegistrationRefusal.REGISTRATION_ACCEPTED);
    assertThat(again.getBrokerEpoch()).isGreaterThan(first);
  }

  @Test
  void aNewIncarnationTakesOverOnceTheOldLeaseExpired() throws Exception {
    initialize();
    activeForAWhile();
    register(4, "old-disk", "");
    // Not heard from for longer than a session: the old holder is dead as far as the leader knows.
    nowMs.addAndGet(SESSION_MS + 1);
    RegisterBrokerReply replaced = register(4, "new-disk", "");
    assertThat(replaced.getRefusal()).isEqualTo(RegistrationRefusal.REGISTRATION_ACCEPTED);
    assertThat(image.brokers().get(4).incarnationId()).isEqualTo("new-disk");
  }

  @Test
  void aRegistrationWhoseLeaseExpiredNoLongerHoldsTheNodeId() throws Exception {
    initialize();
    leases.activated(nowMs.get()); // just became leader: cannot tell for a session...
    register(5, "old", "");
    leases.heard(5, "old", nowMs.get());
    long epoch = image.brokers().get(5).brokerEpoch();
    apply(MetadataCommand.newBuilder().setControllerBatch(ControllerBatch.newBuilder().addBrokers(BrokerChange.newBuilder()
        .setNodeId(5).setBrokerEpoch(epoch).setFenced(true).setLeaseExpired(true))).build());
    // ...but a lease the controller declared expired is spent for good.
    assertThat(register(5, "new", "").getRefusal()).isEqualTo(RegistrationRefusal.REGISTRATION_ACCEPTED);
  }

  @Test
  void aFreshLeaderMakesANewIncarnationWaitUntilItCanTell() throws Exception {
    initialize();
    activeForAWhile();
    register(6, "a", "");
    long epoch = image.brokers().get(6).brokerEpoch();
    // A new leader term: the previous leader's contacts are gone; every registration gets a session.
    leases.activated(nowMs.get());
    nowMs.addAndGet(SESSION_MS / 2);
    RegisterBrokerRequest b = RegisterBrokerRequest.newBuilder().setNodeId(6).setAddress("h:6b").setIncarnationId("b")
        .build();
    assertThatThrownBy(() -> validator.registerBroker(b, image)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot judge yet").hasMessageContaining("retry");
    // Not active at all: cannot tell either.
    leases.deactivated();
    assertThatThrownBy(() -> validator.registerBroker(b, image)).isInstanceOf(IllegalArgumentException.class);
    assertThat(image.brokers().get(6).brokerEpoch()).isEqualTo(epoch);

    // Once the old incarnation heartbeats, the verdict is final; once it stayed silent a whole
    // session of this leader, the new one takes over.
    leases.activated(nowMs.get());
    leases.heard(6, "a", nowMs.get());
    assertThat(register(6, "b", "").getRefusal()).isEqualTo(RegistrationRefusal.NODE_ID_IN_USE);
    nowMs.addAndGet(SESSION_MS + 1);
    assertThat(register(6, "b", "").getRefusal()).isEqualTo(RegistrationRefusal.REGISTRATION_ACCEPTED);
    assertThat(image.brokers().get(6).incarnationId()).isEqualTo("b");
  }

  @Test
  void registrationsWithoutIncarnationNeverConflict() throws Exception {
    initialize();
    leases.activated(nowMs.get());
    register(7, "", "");
    assertThat(register(7, "x", "").getRefusal()).isEqualTo(RegistrationRefusal.REGISTRATION_ACCEPTED);
    assertThat(register(7, "", "").getRefusal()).isEqualTo(RegistrationRefusal.REGISTRATION_ACCEPTED);
  }

  @Test
  void aDataDirOfAnotherClusterIsRefused() throws Exception {
    initialize();
    activeForAWhile();
    RegisterBrokerReply r = register(8, "a", "11111111111111111111111111111111");
    assertThat(r.getRefusal()).isEqualTo(RegistrationRefusal.CLUSTER_ID_MISMATCH);
    assertThat(r.getRefusalMessage()).contains("11111111111111111111111111111111", CLUSTER);
    assertThat(image.brokers()).doesNotContainKey(8);
    assertThat(register(8, "a", CLUSTER).getRefusal()).isEqualTo(RegistrationRefusal.REGISTRATION_ACCEPTED);
  }

  @Test
  void theIncarnationSurvivesTheStoreAndTheImageSnapshot() throws Exception {
    initialize();
    activeForAWhile();
    register(9, "inc-9", "");
    MetadataImage copy = Records.fromSnapshot(Records.toSnapshot(image));
    assertThat(copy.brokers().get(9).incarnationId()).isEqualTo("inc-9");
    assertThat(Records.toBrokerImage(Records.toBrokerRecord(image.brokers().get(9))).incarnationId()).isEqualTo("inc-9");
  }
}
