package dev.brook.quorum.raft;

import dev.brook.quorum.QuorumException;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The replace-with-back-off rules of {@link ReconnectingClient}, with fake clients and a fake clock. */
@Timeout(30)
class ReconnectingClientTest {
  static final class FakeClient implements AutoCloseable {
    final int n;
    final AtomicBoolean closed = new AtomicBoolean();

    FakeClient(int n) {
      this.n = n;
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }

  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final List<FakeClient> created = new ArrayList<>();
  private final ReconnectingClient<FakeClient> client = new ReconnectingClient<>("test", null, () -> {
    FakeClient c = new FakeClient(created.size());
    created.add(c);
    return c;
  }, nanos::get);

  private void advanceMs(long ms) {
    nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(ms));
  }

  private CompletableFuture<String> failWith(Throwable t) {
    return client.call(c -> CompletableFuture.failedFuture(t));
  }

  @Test
  void aBrokenClientIsReplacedAfterABackOffThatGrowsAndResets() {
    assertThat(client.call(c -> CompletableFuture.completedFuture("ok" + c.n)).join()).isEqualTo("ok0");
    failWith(new AlreadyClosedException("SlidingWindow$Client is closed"));
    await().atMost(Duration.ofSeconds(5)).until(() -> created.get(0).closed.get());

    // Within the back-off: fails at once, creates nothing.
    assertThatThrownBy(() -> client.call(c -> CompletableFuture.completedFuture("x")).join())
        .hasCauseInstanceOf(QuorumException.class).hasMessageContaining("reconnects in");
    assertThat(created).hasSize(1);

    advanceMs(ReconnectingClient.INITIAL_BACKOFF_MS);
    failWith(new TimeoutException("no answer")); // client 1 breaks too: back-off doubles
    assertThat(created).hasSize(2);
    advanceMs(ReconnectingClient.INITIAL_BACKOFF_MS);
    assertThat(client.currentOrNull()).isNull();
    assertThatThrownBy(() -> client.acquire()).isInstanceOf(QuorumException.class);
    advanceMs(ReconnectingClient.INITIAL_BACKOFF_MS);
    assertThat(client.call(c -> CompletableFuture.completedFuture("ok" + c.n)).join()).isEqualTo("ok2");

    // The success reset the back-off.
    failWith(new TimeoutException("again"));
    advanceMs(ReconnectingClient.INITIAL_BACKOFF_MS);
    assertThat(client.acquire().n).isEqualTo(3);
  }

  @Test
  void theBackOffIsCapped() {
    for (int i = 0; i < 10; i++) {
      client.acquire();
      failWith(new TimeoutException("down"));
      advanceMs(ReconnectingClient.MAX_BACKOFF_MS);
    }
    client.acquire();
    failWith(new TimeoutException("still down"));
    advanceMs(ReconnectingClient.MAX_BACKOFF_MS - 1);
    assertThatThrownBy(client::acquire).isInstanceOf(QuorumException.class);
    advanceMs(1);
    assertThat(client.acquire()).isNotNull();
    assertThat(client.replacements()).isEqualTo(12);
  }

  @Test
  void logicalRefusalsKeepTheClient() {
    FakeClient first = client.acquire();
    failWith(new StateMachineException("not the active metadata controller"));
    failWith(new NotActiveLeaderException(1));
    assertThat(client.acquire()).isSameAs(first);
    assertThat(first.closed).isFalse();
  }

  @Test
  void aLateFailureOfAReplacedClientChangesNothing() {
    CompletableFuture<String> slow = new CompletableFuture<>();
    FakeClient first = client.acquire();
    CompletableFuture<String> pending = client.call(c -> slow);
    failWith(new AlreadyClosedException("closed"));
    advanceMs(ReconnectingClient.INITIAL_BACKOFF_MS);
    FakeClient second = client.acquire();
    assertThat(second).isNotSameAs(first);
    slow.completeExceptionally(new AlreadyClosedException("closed too"));
    assertThat(pending).isCompletedExceptionally();
    assertThat(client.acquire()).isSameAs(second);
  }

  @Test
  void closedMeansClosed() {
    FakeClient c = client.acquire();
    client.close();
    assertThat(c.closed).isTrue();
    assertThatThrownBy(client::acquire).isInstanceOf(QuorumException.class).hasMessageContaining("closed");
  }
}
