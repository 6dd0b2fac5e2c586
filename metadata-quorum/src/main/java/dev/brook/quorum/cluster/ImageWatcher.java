package dev.brook.quorum.cluster;

import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.proto.FetchImageReply;
import dev.brook.quorum.proto.FetchImageRequest;
import dev.brook.quorum.proto.QuorumRequest;
import dev.brook.quorum.raft.QuorumCalls;
import dev.brook.quorum.raft.ReconnectingClient;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.proto.RaftProtos.ReplicationLevel;
import org.apache.ratis.protocol.RaftClientReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a remote client's image fresh by push: a long-poll on the Raft log. Each round fetches
 * the image with a linearizable read (only when newer than the one held; the reply names the
 * leader's applied index A), then waits on a Ratis watch for index A + 1 to be committed, which
 * completes as soon as the next entry (a metadata change) is committed; then it fetches again.
 * A write made through this client wakes it at once. As a safety net (a watch lost in a leader
 * change) it also fetches after {@link #SAFETY_POLL_MS} without news; such a fetch of an
 * unchanged image carries no image, only the index.
 *
 * <p>The Ratis client is a {@link ReconnectingClient}: a fetch that fails because the client
 * broke (a long quorum outage) replaces it, and the loop retries forever.
 *
 * <p>Threading: one daemon thread per client runs the loop; {@link #wake} and {@link #close}
 * may be called from any thread.
 */
public final class ImageWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ImageWatcher.class);
  /** Longest wait for a watch before fetching anyway. */
  static final long SAFETY_POLL_MS = 1_000;
  /** Pause after a failed fetch (no leader yet): keeps a dead quorum from being hammered. */
  static final long RETRY_MS = 200;

  private final ReconnectingClient<RaftClient> raft;
  private final ImagePublisher publisher;
  private final long timeoutMs;
  private final Thread thread;
  private final CompletableFuture<Void> firstImage = new CompletableFuture<>();
  private volatile CompletableFuture<Void> wakeup = new CompletableFuture<>();
  private volatile boolean closed;

  // Watch thread only.
  private long knownVersion;
  private long appliedIndex = -1;
  private CompletableFuture<RaftClientReply> watch;
  private long watchIndex = -1;

  public ImageWatcher(ReconnectingClient<RaftClient> raft, ImagePublisher publisher, long timeoutMs, String name) {
    this.raft = raft;
    this.publisher = publisher;
    this.timeoutMs = timeoutMs;
    this.thread = new Thread(this::run, name);
    this.thread.setDaemon(true);
  }

  public void start() {
    thread.start();
  }

  /** Completes when the first image was fetched. */
  public CompletableFuture<Void> firstImage() {
    return firstImage;
  }

  /** Fetch now (a write through this client was committed). */
  public void wake() {
    wakeup.complete(null);
  }

  private void run() {
    while (!closed) {
      try {
        fetch();
        awaitNews();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (ExecutionException | TimeoutException | RuntimeException e) {
        if (closed) return;
        LOG.debug("Fetching the metadata image failed, retrying: {}", e.toString());
        try {
          Thread.sleep(RETRY_MS);
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  private void fetch() throws InterruptedException, ExecutionException, TimeoutException {
    wakeup = new CompletableFuture<>(); // a wake-up from now on needs another fetch
    QuorumRequest req = QuorumRequest.newBuilder()
        .setFetchImage(FetchImageRequest.newBuilder().setKnownVersion(knownVersion)).build();
    // A leader read (Ratis answers it only on the ready leader, from its applied state). A
    // linearizable (ReadIndex) read was tried first, but on Ratis 3.3.0 those stalled on the
    // leader until the client's request timeout (they completed at once on followers), delaying
    // every image change for brokers by seconds. The image is a cache: every change a broker
    // proposes is validated again by the leader when it is applied.
    RaftClientReply reply = raft.call(c -> c.async().sendReadOnlyNonLinearizable(QuorumCalls.toMessage(req)))
        .get(timeoutMs, TimeUnit.MILLISECONDS);
    if (!reply.isSuccess()) throw new ExecutionException(reply.getException());
    FetchImageReply f = QuorumCalls.parse(reply, FetchImageReply::parseFrom);
    if (f.getAppliedIndex() < appliedIndex) return; // an older answer (a lagging node): keep ours
    appliedIndex = f.getAppliedIndex();
    if (f.hasImage()) {
      MetadataImage image = Records.fromSnapshot(f.getImage());
      knownVersion = image.version();
      publisher.publish(image, appliedIndex);
    } else {
      publisher.advanceApplied(appliedIndex);
    }
    firstImage.complete(null);
  }

  private void awaitNews() throws InterruptedException {
    long next = appliedIndex + 1;
    if (watch == null || watch.isDone() || watchIndex != next) {
      if (watch != null) watch.cancel(false);
      // A failed watch says nothing about the client (watches time out): not watched for failures.
      RaftClient client = raft.currentOrNull();
      if (client == null) return; // being replaced: the next fetch creates a new client
      watch = client.async().watch(next, ReplicationLevel.MAJORITY_COMMITTED);
      watchIndex = next;
    }
    try {
      CompletableFuture.anyOf(watch, wakeup).get(SAFETY_POLL_MS, TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      // A failed watch (leader change, its timeout) or none within the safety interval: fetch.
    }
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    CompletableFuture<RaftClientReply> w = watch;
    if (w != null) w.cancel(false);
  }
}
