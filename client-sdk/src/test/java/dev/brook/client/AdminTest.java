package dev.brook.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.proto.v1.AdminServiceGrpc;
import dev.brook.proto.v1.BrokerMetadata;
import dev.brook.proto.v1.ConfigEntry;
import dev.brook.proto.v1.CreateTopicResult;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.DescribeClusterRequest;
import dev.brook.proto.v1.DescribeClusterResponse;
import dev.brook.proto.v1.DescribeTopicsRequest;
import dev.brook.proto.v1.DescribeTopicsResponse;
import dev.brook.proto.v1.Error;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.ListTopicsRequest;
import dev.brook.proto.v1.ListTopicsResponse;
import dev.brook.proto.v1.PartitionMetadata;
import dev.brook.proto.v1.QuorumStatus;
import dev.brook.proto.v1.QuorumVoter;
import dev.brook.proto.v1.TopicMetadata;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AdminTest {
  private Server server;
  private Admin admin;
  private volatile CreateTopicsRequest lastCreate;

  @BeforeEach
  void start() throws Exception {
    server = InProcessServerBuilder.forName("admin-1:9092").directExecutor().addService(new AdminServiceGrpc.AdminServiceImplBase() {
      @Override
      public void createTopics(CreateTopicsRequest req, StreamObserver<CreateTopicsResponse> out) {
        lastCreate = req;
        CreateTopicsResponse.Builder r = CreateTopicsResponse.newBuilder();
        for (dev.brook.proto.v1.NewTopic t : req.getTopicsList()) {
          CreateTopicResult.Builder res = CreateTopicResult.newBuilder().setName(t.getName());
          if (t.getName().equals("exists")) {
            res.setError(Error.newBuilder().setCode(ErrorCode.TOPIC_ALREADY_EXISTS).setMessage("already there"));
          }
          r.addTopics(res);
        }
        out.onNext(r.build());
        out.onCompleted();
      }

      @Override
      public void listTopics(ListTopicsRequest req, StreamObserver<ListTopicsResponse> out) {
        out.onNext(ListTopicsResponse.newBuilder().addNames("a").addNames("b").build());
        out.onCompleted();
      }

      @Override
      public void describeTopics(DescribeTopicsRequest req, StreamObserver<DescribeTopicsResponse> out) {
        out.onNext(DescribeTopicsResponse.newBuilder().addTopics(dev.brook.proto.v1.TopicDescription.newBuilder()
            .setMetadata(TopicMetadata.newBuilder().setName("a").setTopicId("abc")
                .addPartitions(PartitionMetadata.newBuilder().setPartition(0).setLeaderId(1).setLeaderEpoch(3)
                    .addReplicas(1).addIsr(1)))
            .addConfigs(ConfigEntry.newBuilder().setName("retention.ms").setValue("1000"))).build());
        out.onCompleted();
      }

      @Override
      public void describeCluster(DescribeClusterRequest req, StreamObserver<DescribeClusterResponse> out) {
        out.onNext(DescribeClusterResponse.newBuilder().setClusterId("c1")
            .addBrokers(BrokerMetadata.newBuilder().setNodeId(1).setAddress("admin-1:9092"))
            .setQuorum(QuorumStatus.newBuilder().setLeaderId(1).setTerm(2)
                .addVoters(QuorumVoter.newBuilder().setNodeId(1).setAddress("q:9093"))).build());
        out.onCompleted();
      }
    }).build().start();
    // The first bootstrap address has no server: the admin moves on to the next.
    admin = Admin.create(List.of("nobody:9092", "admin-1:9092"),
        address -> InProcessChannelBuilder.forName(address).build(), 5000);
  }

  @AfterEach
  void stop() {
    admin.close();
    server.shutdownNow();
  }

  @Test
  void createTopicsReportsEachTopic() {
    CreateTopicsResult r = admin.createTopics(List.of(new NewTopic("new", 3, 1), new NewTopic("exists", 1, 1)));
    r.values().get("new").join();
    assertThatThrownBy(() -> r.values().get("exists").join()).cause().isInstanceOfSatisfying(BrookException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.TOPIC_ALREADY_EXISTS));
    assertThat(r.all()).isCompletedExceptionally();
  }

  @Test
  void unsetCountsAskForTheClusterDefaultAndGivenZeroIsSentAsIs() {
    admin.createTopics(List.of(NewTopic.withDefaults("defaults", Map.of()), new NewTopic("zero", 0, 0),
        new NewTopic("explicit", 3, 2))).all().join();
    List<dev.brook.proto.v1.NewTopic> sent = lastCreate.getTopicsList();
    assertThat(sent.get(0).hasPartitions()).isFalse();
    assertThat(sent.get(0).hasReplicationFactor()).isFalse();
    // An explicit 0 must reach the cluster as 0 (INVALID_PARTITIONS there), never as "unset".
    assertThat(sent.get(1).hasPartitions()).isTrue();
    assertThat(sent.get(1).getPartitions()).isZero();
    assertThat(sent.get(1).hasReplicationFactor()).isTrue();
    assertThat(sent.get(2).getPartitions()).isEqualTo(3);
    assertThat(sent.get(2).getReplicationFactor()).isEqualTo(2);
  }

  @Test
  void listDescribeAndCluster() {
    assertThat(admin.listTopics().join()).containsExactly("a", "b");
    Map<String, TopicDescription> d = admin.describeTopics(List.of("a")).join();
    assertThat(d.get("a").partitions()).singleElement().satisfies(p -> {
      assertThat(p.leaderId()).isEqualTo(1);
      assertThat(p.leaderAddress()).isEqualTo("admin-1:9092");
      assertThat(p.leaderEpoch()).isEqualTo(3);
    });
    assertThat(d.get("a").configs()).containsEntry("retention.ms", "1000");
    ClusterDescription c = admin.describeCluster().join();
    assertThat(c.clusterId()).isEqualTo("c1");
    assertThat(c.quorumVoters()).containsEntry(1, "q:9093");
    assertThat(c.quorumLeaderId()).isEqualTo(1);
  }
}
