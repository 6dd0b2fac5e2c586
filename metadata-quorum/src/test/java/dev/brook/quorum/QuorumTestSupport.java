package dev.brook.quorum;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

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
}
