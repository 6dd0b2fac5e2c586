package dev.brook.quorum.raft;

import dev.brook.quorum.QuorumException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.protocol.exceptions.RaftRetryFailureException;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client (in production a Ratis {@code RaftClient}) that is thrown away and created anew when
 * it broke, so that a node outlives any outage of the metadata quorum.
 *
 * <p>Why: a Ratis client gives up on a request once its retry policy is exhausted (an outage
 * longer than the request timeout), and its ordered request window is then closed for good:
 * every later request fails at once with {@code AlreadyClosedException: SlidingWindow$Client ...
 * is closed}. Before this class, a node that lost its quorum for some seconds never talked to
 * the quorum again, was fenced when the quorum came back, and never registered again.
 *
 * <p>Rules (invariants):
 * <ul>
 *   <li>A failure is <em>logical</em> when the quorum answered (a {@link StateMachineException}
 *       such as "not the active controller", or a {@link QuorumException} decided by it): the
 *       client is fine and is kept. Every other failure (closed window, retries exhausted, no
 *       answer in time, transport errors) marks the client <em>broken</em>.
 *   <li>A broken client is closed (off the caller's thread) and forgotten; only the client that
 *       failed is replaced, so a late failure of an already replaced client changes nothing.
 *   <li>The next client is created lazily by the next call, but not before a back-off has passed
 *       since the last replacement: {@link #INITIAL_BACKOFF_MS} doubling up to
 *       {@link #MAX_BACKOFF_MS}, reset by the first success. Calls during the back-off fail at
 *       once with QUORUM_NOT_AVAILABLE (callers retry on their own schedule: heartbeats, the
 *       registration loop, ISR changes, the controller). Retrying goes on forever.
 * </ul>
 * The back-off ceiling is what a returning quorum may wait for this node at most, on top of its
 * callers' own retry intervals: small against the broker session timeout.
 *
 * <p>Thread-safe. The clock is passed in (nanoseconds, monotonic) so tests can drive it.
 */
public final class ReconnectingClient<C extends AutoCloseable> implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ReconnectingClient.class);
  static final long INITIAL_BACKOFF_MS = 100;
  static final long MAX_BACKOFF_MS = 1_000;

  private final String name;
  private final Supplier<C> factory;
  private final LongSupplier nanoClock;
  private final CallWindow window = new CallWindow();

  // Guarded by this.
  private C current;
  private long notBeforeNanos;
  private long backoffMs = INITIAL_BACKOFF_MS;
  private int failuresSinceSuccess;
  /** Whether the outage since the last success was logged at WARN already (once per outage). */
  private boolean warned;
  private long replacements;
  private boolean closed;

  /** @param first the client to start with (may be null: the first call creates one) */
  public ReconnectingClient(String name, C first, Supplier<C> factory, LongSupplier nanoClock) {
    this.name = name;
    this.current = first;
    this.factory = factory;
    this.nanoClock = nanoClock;
  }

  /**
   * Runs {@code call} on the current client (creating one if needed) and watches its outcome: a
   * non-logical failure replaces the client. Fails at once with QUORUM_NOT_AVAILABLE while closed
   * or backing off. Calls go through a {@link CallWindow}: at most {@link CallWindow#DEFAULT_LIMIT}
   * run at once (the rest wait their turn, in order, without blocking the caller), and the result
   * completes on a callback thread, never on the client's own reply thread. A caller that gives up
   * completes (or cancels) the returned future; if the call has not started yet, it never does.
   */
  public <T> CompletableFuture<T> call(Function<C, CompletableFuture<T>> call) {
    return window.submit(() -> callNow(call));
  }

  private <T> CompletableFuture<T> callNow(Function<C, CompletableFuture<T>> call) {
    C client;
    try {
      client = acquire();
    } catch (QuorumException e) {
      return CompletableFuture.failedFuture(e);
    }
    CompletableFuture<T> f;
    try {
      f = call.apply(client);
    } catch (RuntimeException e) {
      failed(client, e);
      return CompletableFuture.failedFuture(e);
    }
    return f.whenComplete((r, e) -> {
      if (e == null) {
        succeeded();
      } else {
        failed(client, e);
      }
    });
  }

  /** The current client, created if there is none and the back-off has passed. */
  public synchronized C acquire() {
    if (closed) throw new QuorumException(dev.brook.proto.v1.ErrorCode.QUORUM_NOT_AVAILABLE, "the metadata client is closed");
    if (current == null) {
      long now = nanoClock.getAsLong();
      if (now - notBeforeNanos < 0) {
        throw new QuorumException(dev.brook.proto.v1.ErrorCode.QUORUM_NOT_AVAILABLE,
            "the metadata quorum is not reachable; " + name + " reconnects in "
                + TimeUnit.NANOSECONDS.toMillis(notBeforeNanos - now) + " ms");
      }
      try {
        current = factory.get();
      } catch (RuntimeException e) {
        notBeforeNanos = now + TimeUnit.MILLISECONDS.toNanos(backoffMs);
        backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
        throw new QuorumException(dev.brook.proto.v1.ErrorCode.QUORUM_NOT_AVAILABLE,
            name + " cannot create a quorum client: " + e.getMessage(), e);
      }
      replacements++;
      LOG.debug("{}: created a new quorum client (replacement {})", name, replacements);
    }
    return current;
  }

  /** The client in use, or null when it was dropped and none was created since. For tests and admin calls. */
  public synchronized C currentOrNull() {
    return current;
  }

  /** How many times a broken client was replaced by a new one. */
  synchronized long replacements() {
    return replacements;
  }

  /** A call on the current client succeeded: the back-off starts from the beginning again. */
  void succeeded() {
    int failures;
    synchronized (this) {
      failures = failuresSinceSuccess;
      failuresSinceSuccess = 0;
      warned = false;
      backoffMs = INITIAL_BACKOFF_MS;
    }
    if (failures > 0) LOG.info("{}: the metadata quorum answers again (after {} failed calls)", name, failures);
  }

  /** A call on {@code client} failed with {@code error}; replaces the client when the failure says it broke. */
  void failed(C client, Throwable error) {
    if (isLogical(error)) return;
    C broken;
    long delayMs;
    boolean first;
    synchronized (this) {
      failuresSinceSuccess++;
      if (closed || client != current) return; // already replaced
      first = !warned;
      warned = true;
      broken = current;
      current = null;
      delayMs = backoffMs;
      notBeforeNanos = nanoClock.getAsLong() + TimeUnit.MILLISECONDS.toNanos(delayMs);
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    }
    String cause = describe(error);
    if (first) {
      LOG.warn("{}: quorum client failed ({}); replacing it, retrying with back-off up to {} ms", name, cause, MAX_BACKOFF_MS);
    } else {
      LOG.debug("{}: quorum client failed again ({}); next one in {} ms", name, cause, delayMs);
    }
    closeAsync(broken);
  }

  /** Whether the quorum itself answered: the client works, the request was refused or must wait. */
  static boolean isLogical(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof AlreadyClosedException || t instanceof RaftRetryFailureException || t instanceof TimeoutException) {
        return false;
      }
      if (t instanceof StateMachineException || t instanceof NotActiveLeaderException) return true;
      if (t instanceof QuorumException q && q.getCause() == null) return true;
      if (t.getCause() == t) break;
    }
    return false;
  }

  private static String describe(Throwable e) {
    Throwable t = e;
    while ((t instanceof CompletionException || t instanceof ExecutionException || t instanceof QuorumException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + ": " + t.getMessage();
  }

  private void closeAsync(C client) {
    if (client == null) return;
    // Never on the caller's thread: it may be one of the broken client's own callback threads.
    Thread t = new Thread(() -> {
      try {
        client.close();
      } catch (Exception e) {
        LOG.debug("{}: closing the broken quorum client failed: {}", name, e.toString());
      }
    }, "brook-quorum-client-closer");
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() {
    C c;
    synchronized (this) {
      if (closed) return;
      closed = true;
      c = current;
      current = null;
    }
    if (c != null) {
      try {
        c.close();
      } catch (Exception e) {
        LOG.debug("{}: closing the quorum client failed: {}", name, e.toString());
      }
    }
  }
}
