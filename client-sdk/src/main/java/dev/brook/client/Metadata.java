package dev.brook.client;

import dev.brook.proto.v1.BrokerMetadata;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.MetadataRequest;
import dev.brook.proto.v1.MetadataResponse;
import dev.brook.proto.v1.MetadataServiceGrpc;
import dev.brook.proto.v1.PartitionMetadata;
import dev.brook.proto.v1.TopicMetadata;
import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client's view of the cluster: per topic an immutable {@link Topic} snapshot, replaced
 * whole when a metadata answer or a NOT_LEADER hint arrives, so readers (the sender thread,
 * the consumer) never see a half-updated topic. Thread-safe.
 *
 * <p>Refreshes: blocking ({@link #awaitTopic}) when a topic is not known yet, asynchronous
 * ({@link #requestRefresh}) when a request failed with an error that suggests stale metadata;
 * asynchronous refreshes are rate-limited to one per retry backoff.
 */
final class Metadata {
  private static final Logger log = LoggerFactory.getLogger(Metadata.class);

  /** One topic at one point in time: partitions in index order. */
  record Topic(String name, String topicId, List<PartitionInfo> partitions) {
    PartitionInfo partition(int p) {
      return p < partitions.size() ? partitions.get(p) : null;
    }
  }

  private final List<String> bootstrap;
  private final ChannelPool channels;
  private final long requestTimeoutMs;
  private final long retryBackoffMs;
  private final ConcurrentMap<String, Topic> topics = new ConcurrentHashMap<>();
  private final Set<String> stale = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean asyncInFlight = new AtomicBoolean();
  private final AtomicInteger nextAddress = new AtomicInteger();
  /** When each address last failed a metadata call (ms); such addresses are tried last for a while. */
  private final Map<String, Long> failedAtMs = new ConcurrentHashMap<>();
  /** How long an address that failed is tried after the others. */
  static final long FAILED_ADDRESS_PENALTY_MS = 5_000;
  private volatile Map<Integer, String> brokers = Map.of();
  private volatile long lastAsyncRefreshMs;
  private volatile long version = Long.MIN_VALUE;
  private volatile boolean closed;
  private boolean watching;
  private io.grpc.Context.CancellableContext watchContext;
  /** Producers ask brokers to create missing topics (auto.create.topics.enable), as in Kafka. */
  private final boolean allowAutoTopicCreation;

  Metadata(List<String> bootstrap, ChannelPool channels, long requestTimeoutMs, long retryBackoffMs,
      boolean allowAutoTopicCreation) {
    this.allowAutoTopicCreation = allowAutoTopicCreation;
    this.bootstrap = List.copyOf(bootstrap);
    this.channels = channels;
    this.requestTimeoutMs = requestTimeoutMs;
    this.retryBackoffMs = retryBackoffMs;
  }

  /** The cached snapshot of {@code topic}, or null. Never blocks. */
  Topic cached(String topic) {
    return topics.get(topic);
  }

  /** The cached partition, or null when the topic or partition is not known. */
  PartitionInfo partition(TopicPartition tp) {
    Topic t = topics.get(tp.topic());
    return t == null ? null : t.partition(tp.partition());
  }

  /**
   * The topic's snapshot, fetching metadata (retrying with backoff) until it is known or
   * {@code timeoutMs} passed. With {@code allowStale} a cached snapshot is returned at once even
   * when a refresh was requested. With {@code waitForCreation} an unknown topic is asked for
   * again until the timeout (a producer's topic may be being created); without, it fails at once.
   *
   * @throws BrookException UNKNOWN_TOPIC_OR_PARTITION (or the last error) after the timeout
   */
  Topic awaitTopic(String topic, long timeoutMs, boolean allowStale, boolean waitForCreation) {
    return awaitTopic(topic, timeoutMs, allowStale, waitForCreation, false);
  }

  /**
   * With {@code failIfRefused}, a round in which every address refused the connection (nothing
   * listens there) fails at once instead of retrying until the timeout; slow or starting brokers
   * are still waited for.
   */
  Topic awaitTopic(String topic, long timeoutMs, boolean allowStale, boolean waitForCreation, boolean failIfRefused) {
    Topic t = topics.get(topic);
    if (t != null && (allowStale || !stale.contains(topic))) return t;
    long deadline = System.currentTimeMillis() + timeoutMs;
    BrookException last = null;
    while (true) {
      long remaining = deadline - System.currentTimeMillis();
      MetadataResponse resp = null;
      try {
        resp = fetch(List.of(topic), Math.max(1, Math.min(requestTimeoutMs, remaining)));
      } catch (BrookException e) {
        last = e;
        t = topics.get(topic);
        if (t != null) return t;   // stale beats nothing; the caller's retries cope
        if (failIfRefused && e.connectionRefused()) throw e;
      }
      if (resp != null) {
        for (TopicMetadata tm : resp.getTopicsList()) {
          if (!tm.getName().equals(topic)) continue;
          if (tm.getError().getCode() == ErrorCode.NONE) {
            Topic known = topics.get(topic);
            if (known != null) return known;
            // The answer was older than the view already applied (that broker lags behind the
            // metadata watch) and so was not taken: ask again rather than return nothing.
            continue;
          }
          last = BrookException.of(tm.getError(), "topic '" + topic + "'");
          if (!last.retriable() || (!waitForCreation && last.code() == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)) {
            throw last;
          }
        }
      }
      if (System.currentTimeMillis() + retryBackoffMs >= deadline) {
        if (last == null) {
          last = new BrookException(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "topic '" + topic + "' not found");
        }
        throw last;
      }
      try {
        Thread.sleep(retryBackoffMs);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BrookException(ErrorCode.REQUEST_TIMED_OUT, "interrupted waiting for metadata of '" + topic + "'", e);
      }
    }
  }

  /**
   * Marks {@code topic} stale and starts an asynchronous refresh unless one is running or one
   * started less than a retry backoff ago (then the next call after the backoff does it).
   */
  void requestRefresh(String topic) {
    stale.add(topic);
    long now = System.currentTimeMillis();
    if (now - lastAsyncRefreshMs < retryBackoffMs) return;
    if (!asyncInFlight.compareAndSet(false, true)) return;
    lastAsyncRefreshMs = now;
    List<String> wanted = new ArrayList<>(stale);
    String address = nextAddress();
    MetadataServiceGrpc.MetadataServiceFutureStub stub;
    try {
      stub = MetadataServiceGrpc.newFutureStub(channels.get(address))
          .withDeadlineAfter(requestTimeoutMs, TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      asyncInFlight.set(false);
      return;
    }
    Futures.addCallback(stub.getMetadata(MetadataRequest.newBuilder().addAllTopics(wanted)
        .setAllowAutoTopicCreation(allowAutoTopicCreation).build()),
        new FutureCallback<>() {
          @Override
          public void onSuccess(MetadataResponse result) {
            failedAtMs.remove(address);
            update(result);
            asyncInFlight.set(false);
          }

          @Override
          public void onFailure(Throwable t) {
            log.debug("metadata refresh from {} failed: {}", address, t.toString());
            failedAtMs.put(address, System.currentTimeMillis());
            asyncInFlight.set(false);
          }
        }, MoreExecutors.directExecutor());
  }

  /** A NOT_LEADER error named the new leader: use it right away, before any refresh. */
  void applyLeaderHint(TopicPartition tp, int leaderId, String leaderAddress) {
    if (leaderAddress == null || leaderAddress.isEmpty()) return;
    topics.computeIfPresent(tp.topic(), (name, t) -> {
      PartitionInfo p = t.partition(tp.partition());
      if (p == null || leaderAddress.equals(p.leaderAddress())) return t;
      List<PartitionInfo> parts = new ArrayList<>(t.partitions());
      parts.set(tp.partition(), p.withLeader(leaderId, leaderAddress));
      return new Topic(t.name(), t.topicId(), List.copyOf(parts));
    });
  }

  /**
   * A blocking GetMetadata for {@code topicNames} (empty: all), trying every known broker and
   * bootstrap address in turn until one answers; the answer updates the cache.
   */
  MetadataResponse fetch(List<String> topicNames, long timeoutMs) {
    List<String> addresses = candidateAddresses();
    StatusRuntimeException last = null;
    boolean allRefused = true;
    long deadline = System.currentTimeMillis() + timeoutMs;
    for (String address : addresses) {
      long remaining = deadline - System.currentTimeMillis();
      if (remaining <= 0) break;
      try {
        MetadataResponse resp = MetadataServiceGrpc.newBlockingStub(channels.get(address))
            .withDeadlineAfter(remaining, TimeUnit.MILLISECONDS)
            .getMetadata(MetadataRequest.newBuilder().addAllTopics(topicNames)
                .setAllowAutoTopicCreation(allowAutoTopicCreation && !topicNames.isEmpty()).build());
        failedAtMs.remove(address);
        update(resp);
        return resp;
      } catch (StatusRuntimeException e) {
        log.debug("metadata from {} failed: {}", address, e.getStatus());
        failedAtMs.put(address, System.currentTimeMillis());
        last = e;
        allRefused &= BrookException.isConnectionRefused(e);
      }
    }
    boolean onlyBootstrap = bootstrap.containsAll(addresses);
    String message = "cannot reach any " + (onlyBootstrap ? "bootstrap server" : "broker") + " ("
        + String.join(",", onlyBootstrap ? bootstrap : addresses) + ")" + (last == null ? "" : ": " + BrookException.transportReason(last));
    if (last != null && allRefused) throw BrookException.refused(message, last);
    throw BrookException.transport(message, last, true);
  }

  /** Broker id to address as of the latest answer. */
  Map<Integer, String> brokers() {
    return brokers;
  }

  /** Every known broker address then the bootstrap ones, rotated, recently failed ones last. */
  List<String> addresses() {
    return candidateAddresses();
  }

  private List<String> candidateAddresses() {
    List<String> out = new ArrayList<>(brokers.values());
    for (String b : bootstrap) {
      if (!out.contains(b)) out.add(b);
    }
    int start = Math.floorMod(nextAddress.getAndIncrement(), out.size());
    List<String> rotated = new ArrayList<>(out.subList(start, out.size()));
    rotated.addAll(out.subList(0, start));
    return failedLast(rotated, failedAtMs, System.currentTimeMillis());
  }

  /**
   * {@code addresses} with those that failed within {@link #FAILED_ADDRESS_PENALTY_MS} moved to
   * the end (in the order they failed, the longest ago first), the others keeping their order:
   * after a broker dies, refreshes and the watch go to live brokers instead of trying the dead
   * one in turn.
   */
  static List<String> failedLast(List<String> addresses, Map<String, Long> failedAtMs, long nowMs) {
    List<String> healthy = new ArrayList<>();
    Map<String, Long> failed = new HashMap<>();
    for (String a : addresses) {
      Long at = failedAtMs.get(a); // read once: other threads update the map
      if (at != null && nowMs - at < FAILED_ADDRESS_PENALTY_MS) {
        failed.put(a, at);
      } else {
        healthy.add(a);
      }
    }
    failed.entrySet().stream().sorted(Map.Entry.comparingByValue()).forEach(e -> healthy.add(e.getKey()));
    return healthy;
  }

  private String nextAddress() {
    List<String> candidates = candidateAddresses();
    return candidates.get(0);
  }

  /**
   * Starts following the cluster's metadata through a WatchMetadata stream, so leader moves reach
   * the cache as they happen instead of after a failed request. The stream is reopened (on the
   * next address, after a backoff) when it ends; a broker without the call ends the watch, and
   * the client keeps working from refreshes alone.
   */
  void startWatch() {
    synchronized (this) {
      if (watching || closed) return;
      watching = true;
    }
    openWatch();
  }

  private void openWatch() {
    if (closed) return;
    String address = nextAddress();
    io.grpc.stub.StreamObserver<MetadataResponse> observer = new io.grpc.stub.StreamObserver<>() {
      @Override
      public void onNext(MetadataResponse resp) {
        update(resp, true);
      }

      @Override
      public void onError(Throwable t) {
        if (closed) return;
        io.grpc.Status status = io.grpc.Status.fromThrowable(t);
        if (status.getCode() == io.grpc.Status.Code.UNIMPLEMENTED) {
          log.debug("broker {} cannot watch metadata; relying on refreshes", address);
          return;
        }
        log.debug("metadata watch on {} ended: {}", address, status);
        if (status.getCode() != io.grpc.Status.Code.CANCELLED) failedAtMs.put(address, System.currentTimeMillis());
        reopenWatchLater();
      }

      @Override
      public void onCompleted() {
        reopenWatchLater();
      }
    };
    // The call runs in its own cancellable context, so close() can end it at once: a channel with
    // an open stream would otherwise hold the client's close for its whole shutdown grace.
    io.grpc.Context.CancellableContext context = io.grpc.Context.ROOT.withCancellation();
    synchronized (this) {
      if (closed) return;
      watchContext = context;
    }
    try {
      context.run(() -> MetadataServiceGrpc.newStub(channels.get(address)).watchMetadata(
          dev.brook.proto.v1.WatchMetadataRequest.newBuilder().setAfterVersion(Math.max(0, version)).build(), observer));
    } catch (RuntimeException e) {
      reopenWatchLater();
    }
  }

  private void reopenWatchLater() {
    if (closed) return;
    WATCH_TIMER.schedule(this::openWatch, Math.max(retryBackoffMs, 100), TimeUnit.MILLISECONDS);
  }

  /** Stops the watch (cancelling its call); the channels are closed by their owner. */
  void close() {
    io.grpc.Context.CancellableContext context;
    synchronized (this) {
      closed = true;
      context = watchContext;
      watchContext = null;
    }
    if (context != null) context.cancel(null);
  }

  private static final java.util.concurrent.ScheduledExecutorService WATCH_TIMER =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "brook-metadata-watch");
        t.setDaemon(true);
        return t;
      });

  /** Applies an answer unless it is older than one already applied. */
  void update(MetadataResponse resp) {
    update(resp, false);
  }

  /**
   * Applies an answer unless it is older than one already applied; with {@code onlyKnown} (a
   * watch message, which lists every topic) only topics this client already uses are taken.
   */
  synchronized void update(MetadataResponse resp, boolean onlyKnown) {
    if (resp.getMetadataVersion() < version) return;
    version = resp.getMetadataVersion();
    Map<Integer, String> byId = new HashMap<>();
    for (BrokerMetadata b : resp.getBrokersList()) byId.put(b.getNodeId(), b.getAddress());
    if (!byId.isEmpty()) brokers = Map.copyOf(byId);
    java.util.Set<String> listed = onlyKnown ? new java.util.HashSet<>() : null;
    for (TopicMetadata tm : resp.getTopicsList()) {
      if (onlyKnown) {
        listed.add(tm.getName());
        if (!topics.containsKey(tm.getName())) continue;
      }
      if (tm.getError().getCode() == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
        topics.remove(tm.getName());
        stale.remove(tm.getName());
        continue;
      }
      if (tm.getError().getCode() != ErrorCode.NONE) continue;
      PartitionInfo[] parts = new PartitionInfo[tm.getPartitionsCount()];
      for (PartitionMetadata pm : tm.getPartitionsList()) {
        if (pm.getPartition() < 0 || pm.getPartition() >= parts.length) continue;
        int leader = pm.getLeaderId();
        parts[pm.getPartition()] = new PartitionInfo(tm.getName(), pm.getPartition(), leader,
            leader < 0 ? null : byId.get(leader), pm.getLeaderEpoch(), pm.getReplicasList(), pm.getIsrList(),
            pm.getEligibleLeaderReplicasList());
      }
      for (int i = 0; i < parts.length; i++) {
        if (parts[i] == null) parts[i] = new PartitionInfo(tm.getName(), i, -1, null, -1, List.of(), List.of(), List.of());
      }
      topics.put(tm.getName(), new Topic(tm.getName(), tm.getTopicId(), List.of(parts)));
      stale.remove(tm.getName());
    }
    if (onlyKnown) {
      // A complete view that no longer lists a topic: it was deleted.
      topics.keySet().removeIf(name -> !listed.contains(name));
    }
  }
}
