package dev.brook.quorum.cluster;

import dev.brook.proto.v1.ErrorCode;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.QuorumException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands applied images to readers: the current image (volatile), listeners (called on one
 * notifier thread, in order) and version waiters (completed on a separate thread, so a listener
 * that waits for a write cannot deadlock the notifier).
 *
 * <p>Threading: {@link #publish}/{@link #advanceApplied} are called by the single apply thread;
 * everything else from any thread. {@code listeners} and {@code delivered} are confined to the
 * notifier thread; {@code waiters} is guarded by itself.
 */
public final class ImagePublisher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ImagePublisher.class);

  private final ExecutorService notifier;
  private final ExecutorService completer;
  private final List<Consumer<MetadataImage>> listeners = new ArrayList<>();
  private final TreeMap<Long, List<CompletableFuture<MetadataImage>>> waiters = new TreeMap<>();
  private volatile MetadataImage current = MetadataImage.EMPTY;
  private volatile long appliedIndex = -1;
  private MetadataImage delivered = MetadataImage.EMPTY;
  private boolean closed;

  public ImagePublisher(int nodeId) {
    this.notifier = Executors.newSingleThreadExecutor(r -> daemon(r, "brook-quorum-notifier-" + nodeId));
    this.completer = Executors.newSingleThreadExecutor(r -> daemon(r, "brook-quorum-completer-" + nodeId));
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  public MetadataImage current() {
    return current;
  }

  public long appliedIndex() {
    return appliedIndex;
  }

  /** A new image (or the same one when the entry changed nothing) after applying {@code index}. */
  public void publish(MetadataImage image, long index) {
    MetadataImage previous = current;
    current = image; // before appliedIndex: a waiter woken by the index must see the image
    if (image != previous) {
      execute(notifier, () -> deliver(image));
    }
    advanceApplied(index);
  }

  /** An entry that changes no metadata (configuration, no-op) was applied. */
  public void advanceApplied(long index) {
    appliedIndex = index;
    List<CompletableFuture<MetadataImage>> ready = new ArrayList<>();
    synchronized (waiters) {
      while (!waiters.isEmpty() && waiters.firstKey() <= index) {
        ready.addAll(waiters.pollFirstEntry().getValue());
      }
    }
    if (!ready.isEmpty()) {
      MetadataImage image = current;
      execute(completer, () -> ready.forEach(f -> f.complete(image)));
    }
  }

  public void addListener(Consumer<MetadataImage> listener) {
    execute(notifier, () -> {
      listeners.add(listener);
      call(listener, delivered);
    });
  }

  public CompletableFuture<MetadataImage> awaitVersion(long version) {
    if (appliedIndex >= version) return CompletableFuture.completedFuture(current);
    CompletableFuture<MetadataImage> f = new CompletableFuture<>();
    synchronized (waiters) {
      if (closed) {
        f.completeExceptionally(new QuorumException(ErrorCode.QUORUM_NOT_AVAILABLE, "the metadata quorum node is closed"));
        return f;
      }
      waiters.computeIfAbsent(version, k -> new ArrayList<>()).add(f);
    }
    // The apply thread may have passed version between the check and the registration.
    advanceIfReached(version);
    return f;
  }

  private void advanceIfReached(long version) {
    long applied = appliedIndex;
    if (applied >= version) advanceApplied(applied);
  }

  private void deliver(MetadataImage image) {
    delivered = image;
    for (Consumer<MetadataImage> l : listeners) call(l, image);
  }

  private static void call(Consumer<MetadataImage> l, MetadataImage image) {
    try {
      l.accept(image);
    } catch (RuntimeException e) {
      LOG.error("Metadata listener {} failed on image version {}", l, image.version(), e);
    }
  }

  private static void execute(ExecutorService executor, Runnable task) {
    try {
      executor.execute(task);
    } catch (RejectedExecutionException e) {
      // closed: nobody is listening any more
    }
  }

  @Override
  public void close() {
    List<CompletableFuture<MetadataImage>> pending = new ArrayList<>();
    synchronized (waiters) {
      closed = true;
      for (Map.Entry<Long, List<CompletableFuture<MetadataImage>>> e : waiters.entrySet()) pending.addAll(e.getValue());
      waiters.clear();
    }
    QuorumException ex = new QuorumException(ErrorCode.QUORUM_NOT_AVAILABLE, "the metadata quorum node is closed");
    pending.forEach(f -> f.completeExceptionally(ex));
    notifier.shutdown();
    completer.shutdown();
  }
}
