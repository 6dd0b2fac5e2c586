package dev.brook.broker.replica;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replica fetchers of this broker: one {@link ReplicaFetcher} (one thread, one channel, one
 * Fetch stream) per leader broker it follows partitions from, created when the first partition
 * needs it and closed when the last one leaves. A leader whose address changed (it restarted on
 * another port) gets a fresh fetcher.
 *
 * <p>Threading: {@link #update} and {@link #close} are synchronized; the replica manager calls
 * them from the metadata thread.
 */
final class ReplicaFetcherManager implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicaFetcherManager.class);
  /** HTTP/2 flow-control window of a fetch channel: large, so big responses flow without stalls. */
  private static final int FLOW_CONTROL_WINDOW_BYTES = 8 * 1024 * 1024;

  private final int nodeId;
  private final LongSupplier brokerEpoch;
  private final ReplicationConfig config;
  private final Map<Integer, ReplicaFetcher> fetchers = new HashMap<>();
  private boolean closed;
  private boolean paused;

  ReplicaFetcherManager(int nodeId, LongSupplier brokerEpoch, ReplicationConfig config) {
    this.nodeId = nodeId;
    this.brokerEpoch = brokerEpoch;
    this.config = config;
  }

  /**
   * Makes the fetchers follow exactly {@code byLeader}: leader id to the partitions to fetch from
   * it, each with the leader epoch it follows; {@code addresses} gives each leader's host:port.
   */
  synchronized void update(Map<Integer, Map<Partition, Integer>> byLeader, Map<Integer, String> addresses) {
    if (closed) return;
    List<ReplicaFetcher> stopping = new ArrayList<>();
    for (var it = fetchers.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      Map<Partition, Integer> wanted = byLeader.get(e.getKey());
      String address = addresses.get(e.getKey());
      if (wanted == null || wanted.isEmpty() || !e.getValue().leaderAddress().equals(address)) {
        stopping.add(e.getValue());
        it.remove();
      }
    }
    for (ReplicaFetcher f : stopping) {
      f.setPartitions(Map.of());
      // Stopped off the metadata thread: waiting for a fetcher in the middle of a write must not
      // hold back the next image. Safe to overlap with its successor: follower appends name the
      // leader epoch they fetched under and are refused once the partition has moved on.
      Thread stopper = new Thread(() -> {
        f.close();
        LOG.info("stopped {}", f);
      }, "brook-fetcher-stop-" + f.leaderId());
      stopper.setDaemon(true);
      stopper.start();
    }
    for (Map.Entry<Integer, Map<Partition, Integer>> e : byLeader.entrySet()) {
      if (e.getValue().isEmpty()) continue;
      String address = addresses.get(e.getKey());
      if (address == null || address.isEmpty()) continue;
      ReplicaFetcher f = fetchers.get(e.getKey());
      if (f == null) {
        f = new ReplicaFetcher(nodeId, e.getKey(), address, brokerEpoch, config, () -> channel(address));
        fetchers.put(e.getKey(), f);
        f.setPaused(paused);
        f.setPartitions(e.getValue());
        f.start();
        LOG.info("started {} for {} partition(s)", f, e.getValue().size());
      } else {
        f.setPartitions(e.getValue());
      }
    }
  }

  private ManagedChannel channel(String address) {
    return NettyChannelBuilder.forTarget(address)
        .usePlaintext()
        .flowControlWindow(FLOW_CONTROL_WINDOW_BYTES)
        .maxInboundMessageSize(Math.max(64 * 1024 * 1024, 2 * config.fetchMaxBytes()))
        .build();
  }

  /**
   * Test hook: pauses (or resumes) every fetcher, and those started while paused; see
   * {@link ReplicaFetcher#setPaused}.
   */
  synchronized void setPaused(boolean paused) {
    this.paused = paused;
    for (ReplicaFetcher f : fetchers.values()) f.setPaused(paused);
  }

  /** The leader ids fetched from (tests). */
  synchronized List<Integer> leaders() {
    return new ArrayList<>(fetchers.keySet());
  }

  @Override
  public synchronized void close() {
    closed = true;
    for (ReplicaFetcher f : fetchers.values()) f.setPartitions(Map.of());
    for (ReplicaFetcher f : fetchers.values()) f.close();
    fetchers.clear();
  }
}
