package dev.brook.broker.service;

import dev.brook.broker.replica.ReplicaManager;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.MetadataRequest;
import dev.brook.proto.v1.MetadataResponse;
import dev.brook.proto.v1.MetadataServiceGrpc;
import dev.brook.proto.v1.NewTopic;
import dev.brook.protocol.TopicNames;
import dev.brook.quorum.MetadataClient;
import dev.brook.quorum.MetadataImage;
import io.grpc.Status;
import dev.brook.proto.v1.WatchMetadataRequest;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers metadata for the whole cluster from the image this broker has applied, creating
 * missing topics first when the caller (a producer) allows it and auto.create.topics.enable is on.
 */
public final class MetadataServiceImpl extends MetadataServiceGrpc.MetadataServiceImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(MetadataServiceImpl.class);
  private static final long AUTO_CREATE_WAIT_MS = 10_000;

  private final ReplicaManager replicas;
  private final MetadataClient quorum;
  private final boolean autoCreateTopics;

  public MetadataServiceImpl(ReplicaManager replicas, MetadataClient quorum, boolean autoCreateTopics) {
    this.replicas = replicas;
    this.quorum = quorum;
    this.autoCreateTopics = autoCreateTopics;
  }

  @Override
  public void getMetadata(MetadataRequest request, StreamObserver<MetadataResponse> out) {
    MetadataImage image = replicas.image();
    if (image == null) {
      out.onError(Status.UNAVAILABLE.withDescription("broker has no metadata yet").asRuntimeException());
      return;
    }
    List<String> missing = new ArrayList<>();
    if (autoCreateTopics && request.getAllowAutoTopicCreation()) {
      for (String name : request.getTopicsList()) {
        if (image.topic(name) == null && TopicNames.invalidReason(name) == null) missing.add(name);
      }
    }
    if (missing.isEmpty()) {
      reply(out, request, image);
      return;
    }
    CreateTopicsRequest.Builder create = CreateTopicsRequest.newBuilder();
    for (String name : missing) {
      create.addTopics(NewTopic.newBuilder().setName(name));
    }
    // Whatever the outcome (created, or created concurrently by someone else), answer from the
    // image: a topic that still does not exist is reported as unknown.
    quorum.createTopics(create.build())
        .thenCompose(r -> replicas.awaitImage(img -> missing.stream().allMatch(n -> img.topic(n) != null))
            .orTimeout(AUTO_CREATE_WAIT_MS, TimeUnit.MILLISECONDS))
        .handle((img, e) -> {
          if (e != null) LOG.debug("auto-creating {} did not complete: {}", missing, e.toString());
          else LOG.info("auto-created topic(s) {}", missing);
          return null;
        })
        .thenRun(() -> reply(out, request, replicas.image()));
  }

  private static void reply(StreamObserver<MetadataResponse> out, MetadataRequest request, MetadataImage image) {
    out.onNext(view(image, request.getTopicsList()));
    out.onCompleted();
  }

  private static MetadataResponse view(MetadataImage image, List<String> topics) {
    return MetadataResponse.newBuilder()
        .addAllBrokers(MetadataViews.brokers(image))
        .addAllTopics(MetadataViews.topics(image, topics))
        .setClusterId(image.clusterId() == null ? "" : image.clusterId())
        .setMetadataVersion(image.version())
        .build();
  }

  /** The whole-cluster view of the latest image, built once per image for every watcher. */
  private MetadataResponse fullView(MetadataImage image) {
    MetadataResponse cached = lastFullView;
    if (cached != null && cached.getMetadataVersion() == image.version()) return cached;
    MetadataResponse built = view(image, List.of());
    lastFullView = built;
    return built;
  }

  private volatile MetadataResponse lastFullView;

  @Override
  public void watchMetadata(WatchMetadataRequest request, StreamObserver<MetadataResponse> out) {
    new Watch((ServerCallStreamObserver<MetadataResponse>) out, request.getAfterVersion()).awaitNext();
  }

  /**
   * One client's watch. It waits for an image newer than the last one sent; when the stream is
   * not ready (the client reads slowly) it sends nothing and, once ready, sends the newest image
   * only: intermediate versions are coalesced, never queued.
   */
  private final class Watch {
    private final ServerCallStreamObserver<MetadataResponse> out;
    // Guarded by this.
    private long sentVersion;
    private boolean waitingForReady;
    private boolean cancelled;

    Watch(ServerCallStreamObserver<MetadataResponse> out, long afterVersion) {
      this.out = out;
      this.sentVersion = afterVersion;
      out.setOnCancelHandler(() -> {
        synchronized (this) {
          cancelled = true;
        }
      });
      out.setOnReadyHandler(this::onReady);
    }

    void awaitNext() {
      long after;
      synchronized (this) {
        if (cancelled) return;
        after = sentVersion;
      }
      replicas.awaitImage(image -> image.version() > after).thenAccept(this::push);
    }

    private void push(MetadataImage image) {
      synchronized (this) {
        if (cancelled || image.version() <= sentVersion) return;
        if (!out.isReady()) {
          waitingForReady = true;
          return;
        }
        try {
          out.onNext(fullView(image));
        } catch (RuntimeException e) {
          cancelled = true;
          return;
        }
        sentVersion = image.version();
      }
      awaitNext();
    }

    private void onReady() {
      MetadataImage latest;
      synchronized (this) {
        if (!waitingForReady || cancelled) return;
        waitingForReady = false;
        latest = replicas.image();
      }
      if (latest != null) push(latest);
    }
  }
}
