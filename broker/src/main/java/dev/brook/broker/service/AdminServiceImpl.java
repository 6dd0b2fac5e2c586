package dev.brook.broker.service;

import dev.brook.broker.replica.ReplicaManager;
import dev.brook.proto.v1.AdminServiceGrpc;
import dev.brook.proto.v1.ConfigEntry;
import dev.brook.proto.v1.CreateTopicResult;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.DeleteTopicResult;
import dev.brook.proto.v1.DeleteTopicsRequest;
import dev.brook.proto.v1.DeleteTopicsResponse;
import dev.brook.proto.v1.DescribeClusterRequest;
import dev.brook.proto.v1.DescribeClusterResponse;
import dev.brook.proto.v1.DescribeTopicsRequest;
import dev.brook.proto.v1.DescribeTopicsResponse;
import dev.brook.proto.v1.ElectLeadersRequest;
import dev.brook.proto.v1.ElectLeadersResponse;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.ListTopicsRequest;
import dev.brook.proto.v1.ListTopicsResponse;
import dev.brook.proto.v1.NewTopic;
import dev.brook.proto.v1.TopicDescription;
import dev.brook.proto.v1.TopicMetadata;
import dev.brook.quorum.MetadataClient;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.QuorumException;
import dev.brook.quorum.TopicImage;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Topic and cluster administration. Changes are validated and committed by the metadata quorum;
 * a call returns only once this broker has applied the result, so a client may produce to a
 * topic right after creating it through the same broker.
 */
public final class AdminServiceImpl extends AdminServiceGrpc.AdminServiceImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(AdminServiceImpl.class);
  /** How long a call waits for this broker to apply a change the quorum committed. */
  private static final long APPLY_WAIT_MS = 10_000;

  private final MetadataClient quorum;
  private final ReplicaManager replicas;
  private final Map<String, String> topicDefaults;

  public AdminServiceImpl(MetadataClient quorum, ReplicaManager replicas, Map<String, String> topicDefaults) {
    this.quorum = quorum;
    this.replicas = replicas;
    this.topicDefaults = Map.copyOf(topicDefaults);
  }

  @Override
  public void createTopics(CreateTopicsRequest request, StreamObserver<CreateTopicsResponse> out) {
    quorum.createTopics(request)
        .thenCompose(response -> {
          if (request.getValidateOnly()) return CompletableFuture.completedFuture(response);
          List<String> created = new ArrayList<>();
          for (CreateTopicResult r : response.getTopicsList()) {
            if (r.getError().getCode() == ErrorCode.NONE) created.add(r.getName());
          }
          return replicas.awaitImage(image -> created.stream().allMatch(n -> hasTopic(image, n)))
              .orTimeout(APPLY_WAIT_MS, TimeUnit.MILLISECONDS)
              .handle((image, e) -> response);
        })
        .whenComplete((response, e) -> {
          if (e == null) {
            for (CreateTopicResult r : response.getTopicsList()) {
              if (r.getError().getCode() == ErrorCode.NONE && !request.getValidateOnly()) {
                LOG.info("created topic {} ({} partitions, replication factor {})", r.getName(),
                    r.getPartitions(), r.getReplicationFactor());
              }
            }
            reply(out, response);
          } else {
            CreateTopicsResponse.Builder b = CreateTopicsResponse.newBuilder();
            for (NewTopic t : request.getTopicsList()) {
              b.addTopics(CreateTopicResult.newBuilder().setName(t.getName()).setError(quorumError(e)));
            }
            reply(out, b.build());
          }
        });
  }

  private static boolean hasTopic(MetadataImage image, String name) {
    return image.topic(name) != null;
  }

  @Override
  public void deleteTopics(DeleteTopicsRequest request, StreamObserver<DeleteTopicsResponse> out) {
    quorum.deleteTopics(request).whenComplete((response, e) -> {
      if (e == null) {
        for (DeleteTopicResult r : response.getTopicsList()) {
          if (r.getError().getCode() == ErrorCode.NONE) LOG.info("deleted topic {}", r.getName());
        }
        reply(out, response);
      } else {
        DeleteTopicsResponse.Builder b = DeleteTopicsResponse.newBuilder();
        for (String name : request.getNamesList()) {
          b.addTopics(DeleteTopicResult.newBuilder().setName(name).setError(quorumError(e)));
        }
        reply(out, b.build());
      }
    });
  }

  @Override
  public void listTopics(ListTopicsRequest request, StreamObserver<ListTopicsResponse> out) {
    MetadataImage image = image(out);
    if (image == null) return;
    reply(out, ListTopicsResponse.newBuilder().addAllNames(image.topics().keySet()).build());
  }

  @Override
  public void describeTopics(DescribeTopicsRequest request, StreamObserver<DescribeTopicsResponse> out) {
    MetadataImage image = image(out);
    if (image == null) return;
    DescribeTopicsResponse.Builder b = DescribeTopicsResponse.newBuilder();
    for (TopicMetadata tm : MetadataViews.topics(image, request.getNamesList())) {
      TopicDescription.Builder d = TopicDescription.newBuilder().setMetadata(tm);
      TopicImage t = image.topic(tm.getName());
      if (t != null) {
        Map<String, String> effective = dev.brook.protocol.TopicConfig.effective(t.configs(), topicDefaults);
        for (Map.Entry<String, String> e : effective.entrySet()) {
          d.addConfigs(ConfigEntry.newBuilder().setName(e.getKey()).setValue(e.getValue())
              .setIsDefault(!t.configs().containsKey(e.getKey())));
        }
      }
      b.addTopics(d);
    }
    reply(out, b.build());
  }

  @Override
  public void describeCluster(DescribeClusterRequest request, StreamObserver<DescribeClusterResponse> out) {
    MetadataImage image = image(out);
    if (image == null) return;
    // Lease ages live in the quorum leader's memory; without them the rest is still worth answering.
    quorum.heartbeatAgesMs()
        .completeOnTimeout(Map.of(), APPLY_WAIT_MS, TimeUnit.MILLISECONDS)
        .exceptionally(e -> Map.of())
        // Not on the quorum client's callback thread: status() may itself wait for the quorum,
        // whose reply that very thread would have to deliver.
        .thenAcceptAsync(ages -> {
          DescribeClusterResponse.Builder b = DescribeClusterResponse.newBuilder()
              .setClusterId(image.clusterId() == null ? "" : image.clusterId())
              .setQuorum(quorum.status());
          for (dev.brook.proto.v1.BrokerMetadata broker : MetadataViews.brokers(image)) {
            Long age = ages.get(broker.getNodeId());
            b.addBrokers(broker.toBuilder().setLastHeartbeatAgeMs(age == null ? -1 : age));
          }
          reply(out, b.build());
        });
  }

  @Override
  public void electLeaders(ElectLeadersRequest request, StreamObserver<ElectLeadersResponse> out) {
    quorum.electLeaders(request).whenComplete((response, e) -> {
      if (e == null) {
        reply(out, response);
        return;
      }
      dev.brook.proto.v1.Error error = quorumError(e);
      out.onError(io.grpc.Status.UNAVAILABLE.withDescription(error.getCode() + ": " + error.getMessage())
          .asRuntimeException());
    });
  }

  private MetadataImage image(StreamObserver<?> out) {
    MetadataImage image = replicas.image();
    if (image == null) {
      out.onError(Status.UNAVAILABLE.withDescription("broker has no metadata yet").asRuntimeException());
    }
    return image;
  }

  private static dev.brook.proto.v1.Error quorumError(Throwable e) {
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    if (cause instanceof QuorumException qe) {
      return Errors.of(qe.code(), cause.getMessage());
    }
    LOG.warn("metadata change failed: {}", cause.toString());
    return Errors.of(ErrorCode.UNKNOWN_SERVER_ERROR, String.valueOf(cause.getMessage()));
  }

  private static <T> void reply(StreamObserver<T> out, T response) {
    out.onNext(response);
    out.onCompleted();
  }
}
