package dev.brook.quorum;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.NewTopic;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Liveness after losing the quorum (issue 8, item 4), at the metadata client level: three
 * in-process voters, two of them stop for longer than every client timeout (request timeout,
 * the Ratis client's retries), then one comes back. Both kinds of client must work again by
 * themselves, never re-created by the test: the survivor's own client (a quorum node) and a
 * remote one (a broker-only node, with its image watch).
 */
@Timeout(120)
class QuorumOutageTest {
  private static final long REQUEST_TIMEOUT_MS = 1_500;
  private static final long SESSION_MS = 2_000;
  /** Longer than the request timeout and than the Ratis client's retry budget (15 x 100 ms + RPC timeouts). */
  private static final Duration OUTAGE = Duration.ofSeconds(8);

  @TempDir
  Path dir;

  private final MetadataQuorum[] nodes = new MetadataQuorum[3];
  private MetadataClient remote;
  private List<QuorumConfig.Voter> voters;

  @AfterEach
  void tearDown() {
    if (remote != null) remote.close();
    QuorumTestSupport.closeAll(nodes);
  }

  private QuorumConfig config(int id) {
    QuorumConfig.Voter v = voters.get(id - 1);
    return QuorumConfig.builder().nodeId(id).quorumAddress(v.address()).voters(voters)
        .dataDir(dir.resolve("node" + id)).requestTimeoutMs(REQUEST_TIMEOUT_MS)
        .brokerSessionTimeoutMs(SESSION_MS).build();
  }

  private MetadataQuorum start(int id) {
    try {
      return MetadataQuorum.start(config(id));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A heartbeat, re-registering when told the epoch is stale, as BrokerLifecycle does; true when it was NONE. */
  private static boolean heartbeatOrRegister(MetadataClient client, int id, long[] epoch) throws Exception {
    HeartbeatResult r = client.heartbeat(id, epoch[0], false).get(10, TimeUnit.SECONDS);
    if (r.error() == ErrorCode.STALE_BROKER_EPOCH) {
      epoch[0] = client.registerBroker(id, "127.0.0.1:" + (9000 + id), "").get(10, TimeUnit.SECONDS);
      return false;
    }
    return r.error() == ErrorCode.NONE;
  }

  private static void createTopic(MetadataClient client, String name) throws Exception {
    var response = client.createTopics(CreateTopicsRequest.newBuilder()
        .addTopics(NewTopic.newBuilder().setName(name).setPartitions(1).setReplicationFactor(1)).build())
        .get(10, TimeUnit.SECONDS);
    assertThat(response.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
  }

  @Test
  void bothClientsWorkAgainAfterAnOutageLongerThanEveryTimeout() throws Exception {
    int[] ports = QuorumTestSupport.freePorts(3);
    voters = List.of(new QuorumConfig.Voter(1, "127.0.0.1", ports[0]), new QuorumConfig.Voter(2, "127.0.0.1", ports[1]),
        new QuorumConfig.Voter(3, "127.0.0.1", ports[2]));
    List<CompletableFuture<MetadataQuorum>> starting = new ArrayList<>();
    for (int id = 1; id <= 3; id++) {
      int n = id;
      starting.add(CompletableFuture.supplyAsync(() -> start(n)));
    }
    for (int i = 0; i < 3; i++) nodes[i] = starting.get(i).get(30, TimeUnit.SECONDS);
    MetadataClient local = nodes[0].client();
    remote = MetadataQuorum.connect(new QuorumConfig.ClientConfig(voters, REQUEST_TIMEOUT_MS, 9));
    await().atMost(Duration.ofSeconds(30)).until(() -> remote.image().clusterId() != null);
    long[] localEpoch = {QuorumTestSupport.registerAndUnfence(local, 1, "127.0.0.1:9001", "")};
    long[] remoteEpoch = {QuorumTestSupport.registerAndUnfence(remote, 9, "127.0.0.1:9009", "")};

    // Nodes 2 and 3 go away together; node 1 and both clients stay.
    MetadataQuorum two = nodes[1];
    MetadataQuorum three = nodes[2];
    nodes[1] = null;
    nodes[2] = null;
    QuorumTestSupport.closeAll(two, three);
    long down = System.nanoTime();
    // Both clients keep trying through the outage (as brokers' heartbeats do) and keep failing.
    await("an outage of " + OUTAGE).pollDelay(OUTAGE).atMost(OUTAGE.plusSeconds(30)).pollInterval(Duration.ofMillis(250))
        .until(() -> {
          for (MetadataClient c : List.of(local, remote)) {
            try {
              c.heartbeat(c == local ? 1 : 9, c == local ? localEpoch[0] : remoteEpoch[0], false).get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
              // expected while there is no majority
            }
          }
          return true;
        });
    assertThat(System.nanoTime() - down).isGreaterThan(OUTAGE.toNanos());

    nodes[1] = start(2);
    long back = System.nanoTime();
    await("the survivor's own client heartbeats again").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
        .ignoreExceptions().until(() -> heartbeatOrRegister(local, 1, localEpoch));
    await("the remote client heartbeats again").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
        .ignoreExceptions().until(() -> heartbeatOrRegister(remote, 9, remoteEpoch));
    System.out.printf("QuorumOutageTest: both clients heartbeat again %.2f s after a voter returned%n",
        (System.nanoTime() - back) / 1e9);

    // Writes through both clients, and the remote image watch follows them.
    createTopic(local, "after-outage-local");
    createTopic(remote, "after-outage-remote");
    await("the remote image shows both topics").atMost(Duration.ofSeconds(15))
        .until(() -> remote.image().topic("after-outage-local") != null && remote.image().topic("after-outage-remote") != null);
    await("both brokers active again").atMost(Duration.ofSeconds(15)).ignoreExceptions().until(() -> {
      heartbeatOrRegister(local, 1, localEpoch);
      heartbeatOrRegister(remote, 9, remoteEpoch);
      BrokerImage b1 = remote.image().brokers().get(1);
      BrokerImage b9 = remote.image().brokers().get(9);
      return b1.brokerEpoch() == localEpoch[0] && !b1.fenced() && b9.brokerEpoch() == remoteEpoch[0] && !b9.fenced();
    });
  }
}
