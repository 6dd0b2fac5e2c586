package dev.brook.it.faults;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP forwarder on 127.0.0.1 from an ephemeral port to {@code target}, which a fault run puts
 * between two nodes (one proxy per direction and kind of traffic). It can cut the link on command:
 * <ul>
 *   <li>{@link Mode#BLACKHOLE}: bytes stop flowing both ways and new connections are accepted but
 *       go nowhere, as when packets are dropped; open connections resume when healed (TCP would
 *       retransmit);
 *   <li>{@link Mode#DROP}: every open connection is closed and new ones are closed at once, as
 *       when the peer answers with resets.
 * </ul>
 */
final class TcpProxy implements AutoCloseable {
  enum Mode { OPEN, BLACKHOLE, DROP }

  private final String name;
  private final InetSocketAddress target;
  private final ServerSocket server;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final Object lock = new Object();
  private volatile Mode mode = Mode.OPEN;
  private volatile boolean closed;
  final AtomicLong connections = new AtomicLong();
  final AtomicLong bytes = new AtomicLong();

  TcpProxy(String name, int targetPort) throws IOException {
    this.name = name;
    this.target = new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort);
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::acceptLoop, "proxy-" + name);
    t.setDaemon(true);
    t.start();
  }

  int port() {
    return server.getLocalPort();
  }

  Mode mode() {
    return mode;
  }

  void setMode(Mode m) {
    synchronized (lock) {
      mode = m;
      lock.notifyAll();
    }
    if (m == Mode.DROP) closeAll();
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        if (closed) return;
        continue;
      }
      connections.incrementAndGet();
      if (mode == Mode.DROP) {
        quietClose(client);
        continue;
      }
      Thread t = new Thread(() -> connect(client), "proxy-" + name + "-conn");
      t.setDaemon(true);
      t.start();
    }
  }

  private void connect(Socket client) {
    sockets.add(client);
    Socket upstream = null;
    try {
      if (!awaitOpen()) {
        quietClose(client);
        return;
      }
      upstream = new Socket();
      upstream.connect(target, 5000);
      sockets.add(upstream);
      client.setTcpNoDelay(true);
      upstream.setTcpNoDelay(true);
      Socket up = upstream;
      Thread back = new Thread(() -> pump(up, client), "proxy-" + name + "-back");
      back.setDaemon(true);
      back.start();
      pump(client, upstream);
    } catch (IOException e) {
      quietClose(client);
      if (upstream != null) quietClose(upstream);
    }
  }

  /** Waits while black-holed; false if dropped or closed meanwhile. */
  private boolean awaitOpen() {
    synchronized (lock) {
      while (mode == Mode.BLACKHOLE && !closed) {
        try {
          lock.wait(1000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      return mode == Mode.OPEN && !closed;
    }
  }

  private void pump(Socket from, Socket to) {
    byte[] buf = new byte[64 * 1024];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      int n;
      while ((n = in.read(buf)) >= 0) {
        if (!awaitOpen()) break;
        out.write(buf, 0, n);
        bytes.addAndGet(n);
      }
    } catch (IOException e) {
      // One side closed or reset: close both below.
    } finally {
      quietClose(from);
      quietClose(to);
    }
  }

  private void closeAll() {
    for (Socket s : sockets) quietClose(s);
  }

  private void quietClose(Socket s) {
    sockets.remove(s);
    try {
      s.close();
    } catch (IOException e) {
      // Already closed.
    }
  }

  @Override
  public void close() {
    closed = true;
    synchronized (lock) {
      lock.notifyAll();
    }
    try {
      server.close();
    } catch (IOException e) {
      // Already closed.
    }
    closeAll();
  }

  @Override
  public String toString() {
    return "proxy " + name + " :" + port() + " -> :" + target.getPort() + " (" + mode + ")";
  }
}
