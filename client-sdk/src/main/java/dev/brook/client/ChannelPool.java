package dev.brook.client;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

/**
 * One gRPC channel per broker address, shared by every call of one client (metadata, streams,
 * unary calls): HTTP/2 multiplexes them, and one connection per broker keeps per-partition
 * order on the produce stream. Thread-safe.
 */
final class ChannelPool implements AutoCloseable {
  private final ConcurrentMap<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final ChannelFactory factory;
  private volatile boolean closed;

  /**
   * @param flowControlWindow the HTTP/2 window per stream: larger for consumers so a long-poll
   *     fetch answer of several MiB is not throttled by window updates
   * @param maxInboundMessageSize the largest response accepted (gRPC's default is 4 MiB, below a
   *     50 MiB fetch)
   */
  ChannelPool(ChannelFactory factory, int flowControlWindow, int maxInboundMessageSize) {
    this.factory = factory != null ? factory : address -> NettyChannelBuilder.forTarget(address)
        .usePlaintext()
        .flowControlWindow(flowControlWindow)
        .maxInboundMessageSize(maxInboundMessageSize)
        .build();
  }

  ManagedChannel get(String address) {
    if (closed) throw new IllegalStateException("client is closed");
    return channels.computeIfAbsent(address, factory::open);
  }

  @Override
  public void close() {
    closed = true;
    for (ManagedChannel c : channels.values()) c.shutdown();
    try {
      for (ManagedChannel c : channels.values()) {
        if (!c.awaitTermination(5, TimeUnit.SECONDS)) c.shutdownNow();
      }
    } catch (InterruptedException e) {
      channels.values().forEach(ManagedChannel::shutdownNow);
      Thread.currentThread().interrupt();
    }
    channels.clear();
  }
}
