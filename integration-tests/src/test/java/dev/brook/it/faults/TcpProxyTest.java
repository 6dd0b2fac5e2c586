package dev.brook.it.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The fault proxy forwards, black-holes (and resumes) and drops, in front of an echo server. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TcpProxyTest {
  private ServerSocket echo;
  private TcpProxy proxy;

  @BeforeEach
  void setUp() throws IOException {
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      while (!echo.isClosed()) {
        try {
          Socket s = echo.accept();
          Thread c = new Thread(() -> {
            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
              in.transferTo(out);
            } catch (IOException e) {
              // closed
            }
          });
          c.setDaemon(true);
          c.start();
        } catch (IOException e) {
          return;
        }
      }
    });
    t.setDaemon(true);
    t.start();
    proxy = new TcpProxy("test", echo.getLocalPort());
  }

  @AfterEach
  void tearDown() throws IOException {
    proxy.close();
    echo.close();
  }

  private Socket connect() throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
    s.setSoTimeout(1000);
    return s;
  }

  private static int roundTrip(Socket s, int b) throws IOException {
    s.getOutputStream().write(b);
    s.getOutputStream().flush();
    return s.getInputStream().read();
  }

  @Test
  void forwardsBlackholesAndResumes() throws IOException {
    try (Socket s = connect()) {
      assertThat(roundTrip(s, 7)).isEqualTo(7);
      proxy.setMode(TcpProxy.Mode.BLACKHOLE);
      assertThatThrownBy(() -> roundTrip(s, 8)).isInstanceOf(SocketTimeoutException.class);
      try (Socket late = connect()) {
        assertThatThrownBy(() -> roundTrip(late, 9)).isInstanceOf(SocketTimeoutException.class);
        proxy.setMode(TcpProxy.Mode.OPEN);
        s.setSoTimeout(5000);
        assertThat(s.getInputStream().read()).as("the held byte arrives after the heal").isEqualTo(8);
        late.setSoTimeout(5000);
        assertThat(late.getInputStream().read()).as("a connection made while black-holed works after the heal").isEqualTo(9);
      }
    }
    assertThat(proxy.bytes.get()).isPositive();
  }

  @Test
  void dropClosesOpenConnectionsAndRefusesNewOnes() throws IOException {
    try (Socket s = connect()) {
      assertThat(roundTrip(s, 1)).isEqualTo(1);
      proxy.setMode(TcpProxy.Mode.DROP);
      s.setSoTimeout(5000);
      int r;
      try {
        r = s.getInputStream().read();
      } catch (IOException e) {
        r = -1; // reset
      }
      assertThat(r).as("the open connection is closed").isEqualTo(-1);
    }
    try (Socket s = connect()) {
      s.setSoTimeout(5000);
      int r;
      try {
        s.getOutputStream().write(2);
        r = s.getInputStream().read();
      } catch (IOException e) {
        r = -1;
      }
      assertThat(r).as("a new connection is closed at once").isEqualTo(-1);
    }
    proxy.setMode(TcpProxy.Mode.OPEN);
    try (Socket s = connect()) {
      assertThat(roundTrip(s, 3)).isEqualTo(3);
    }
  }
}
