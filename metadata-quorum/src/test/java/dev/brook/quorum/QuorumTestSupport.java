package dev.brook.quorum;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

final class QuorumTestSupport {
  private QuorumTestSupport() {}

  /** Closes nodes in parallel: one after another costs seconds of re-elections. */
  static void closeAll(MetadataQuorum... nodes) {
    CompletableFuture.allOf(Arrays.stream(nodes).filter(Objects::nonNull)
        .map(n -> CompletableFuture.runAsync(n::close)).toArray(CompletableFuture[]::new)).join();
  }

  static void closeAll(List<MetadataQuorum> nodes) {
    closeAll(nodes.toArray(new MetadataQuorum[0]));
  }

  /** Registers a broker and heartbeats once, then waits until the controller unfenced it; returns its epoch. */
  static long registerAndUnfence(MetadataClient client, int id, String address, String rack) {
    try {
      long epoch = client.registerBroker(id, address, rack).get(15, TimeUnit.SECONDS);
      HeartbeatResult r = client.heartbeat(id, epoch, false).get(15, TimeUnit.SECONDS);
      if (r.error() != dev.brook.proto.v1.ErrorCode.NONE) throw new AssertionError("heartbeat of " + id + ": " + r);
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(15)).until(() -> {
        BrokerImage b = client.image().brokers().get(id);
        return b != null && b.brokerEpoch() == epoch && !b.fenced();
      });
      return epoch;
    } catch (Exception e) {
      throw new AssertionError("registering broker " + id + " failed", e);
    }
  }

  /** Free ports for multi-voter configs, where port 0 is not allowed. */
  static int[] freePorts(int n) {
    ServerSocket[] sockets = new ServerSocket[n];
    try {
      int[] ports = new int[n];
      for (int i = 0; i < n; i++) {
        sockets[i] = new ServerSocket(0);
        ports[i] = sockets[i].getLocalPort();
      }
      return ports;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      for (ServerSocket s : sockets) {
        try {
          if (s != null) s.close();
        } catch (IOException ignored) {
          // best effort
        }
      }
    }
  }

  /** Deletes {@code dir} and everything under it (nothing when it does not exist). */
  static void deleteTree(java.nio.file.Path dir) throws IOException {
    if (!java.nio.file.Files.exists(dir)) return;
    try (java.util.stream.Stream<java.nio.file.Path> walk = java.nio.file.Files.walk(dir)) {
      for (java.nio.file.Path p : (Iterable<java.nio.file.Path>) walk.sorted(java.util.Comparator.reverseOrder())::iterator) {
        java.nio.file.Files.delete(p);
      }
    }
  }
}
