package dev.brook.quorum.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The in-flight bound, order and thread rules of {@link CallWindow}, with hand-completed calls. */
@Timeout(30)
class CallWindowTest {
  private final ExecutorService callbacks = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "test-callback");
    t.setDaemon(true);
    return t;
  });
  private final CallWindow window = new CallWindow(2, callbacks);
  /** The underlying calls in the order they were started. */
  private final List<Started> started = new ArrayList<>();

  private record Started(int id, CompletableFuture<String> underlying) { }

  @AfterEach
  void stop() {
    callbacks.shutdownNow();
  }

  private CompletableFuture<String> submit(int id) {
    return window.submit(() -> {
      CompletableFuture<String> f = new CompletableFuture<>();
      synchronized (started) {
        started.add(new Started(id, f));
      }
      return f;
    });
  }

  private List<Integer> startedIds() {
    synchronized (started) {
      return started.stream().map(Started::id).toList();
    }
  }

  private Started started(int index) {
    synchronized (started) {
      return started.get(index);
    }
  }

  @Test
  void atMostTheLimitRunsAndTheRestStartInSubmissionOrderWithoutBlockingTheCaller() {
    List<CompletableFuture<String>> results = new ArrayList<>();
    for (int i = 0; i < 5; i++) results.add(submit(i));
    assertThat(startedIds()).containsExactly(0, 1);
    assertThat(window.inFlight()).isEqualTo(2);
    assertThat(window.queued()).isEqualTo(3);

    started(1).underlying().complete("one");
    await().atMost(Duration.ofSeconds(5)).until(() -> startedIds().size() == 3);
    assertThat(startedIds()).containsExactly(0, 1, 2);
    assertThat(results.get(1).join()).isEqualTo("one");

    started(0).underlying().completeExceptionally(new IllegalStateException("boom"));
    await().atMost(Duration.ofSeconds(5)).until(() -> startedIds().size() == 4);
    assertThatThrownBy(() -> results.get(0).join()).isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(IllegalStateException.class);
    assertThat(window.inFlight()).isEqualTo(2);

    for (int i = 2; i < 5; i++) {
      int index = i;
      await().atMost(Duration.ofSeconds(5)).until(() -> startedIds().size() > index);
      started(i).underlying().complete("r" + i);
    }
    for (int i = 2; i < 5; i++) assertThat(results.get(i).join()).isEqualTo("r" + i);
    assertThat(startedIds()).containsExactly(0, 1, 2, 3, 4);
    await().atMost(Duration.ofSeconds(5)).until(() -> window.inFlight() == 0);
    assertThat(window.queued()).isZero();
  }

  @Test
  void aQueuedCallWhoseCallerGaveUpIsNeverStarted() {
    CompletableFuture<String> a = submit(0);
    CompletableFuture<String> b = submit(1);
    CompletableFuture<String> gaveUp = submit(2);
    CompletableFuture<String> wanted = submit(3);
    gaveUp.cancel(false);

    started(0).underlying().complete("a");
    await().atMost(Duration.ofSeconds(5)).until(() -> startedIds().size() == 3);
    assertThat(startedIds()).containsExactly(0, 1, 3);
    started(1).underlying().complete("b");
    started(2).underlying().complete("wanted");
    assertThat(List.of(a.join(), b.join(), wanted.join())).containsExactly("a", "b", "wanted");
    await().atMost(Duration.ofSeconds(5)).until(() -> window.inFlight() == 0);
  }

  @Test
  void aCallThatThrowsFailsItsResultAndFreesItsSlot() {
    CompletableFuture<String> thrown = window.submit(() -> {
      throw new IllegalArgumentException("bad request");
    });
    assertThatThrownBy(thrown::join).hasCauseInstanceOf(IllegalArgumentException.class);
    await().atMost(Duration.ofSeconds(5)).until(() -> window.inFlight() == 0);
  }

  @Test
  void continuationsNeverRunOnTheThreadThatCompletedTheCallSoTheyMayStartMoreCalls() throws Exception {
    // The deadlock this class exists for: a continuation of a completed call submits the next
    // call and waits for it, on the completing thread, while that thread is the only one that
    // could complete anything. With the limit reached, every call must still finish.
    AtomicInteger done = new AtomicInteger();
    List<CompletableFuture<String>> chains = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      chains.add(submit(i).thenApply(r -> {
        assertThat(Thread.currentThread().getName()).isEqualTo("test-callback");
        CompletableFuture<String> next = window.submit(() -> CompletableFuture.supplyAsync(() -> r + "+next"));
        String s = next.join(); // blocks this callback thread, not the completing one
        done.incrementAndGet();
        return s;
      }));
    }
    Thread completer = new Thread(() -> {
      for (int i = 0; i < 6; i++) {
        int index = i;
        await().atMost(Duration.ofSeconds(10)).until(() -> startedIds().size() > index);
        started(index).underlying().complete("r" + index);
      }
    }, "completer");
    completer.start();
    for (int i = 0; i < 6; i++) assertThat(chains.get(i).get(10, TimeUnit.SECONDS)).isEqualTo("r" + i + "+next");
    completer.join(10_000);
    assertThat(done.get()).isEqualTo(6);
  }
}
