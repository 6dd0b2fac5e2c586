package dev.brook.quorum.raft;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.brook.quorum.proto.MetadataCommand;
import dev.brook.quorum.proto.QuorumRequest;
import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * One kind of state the quorum holds (the cluster; groups and offsets; ...), as the Raft layer
 * sees it. The {@link QuorumStateMachine} knows no domain by name: it dispatches each request
 * and command case to the one domain that declares it, and refuses to start when a case or a
 * column family has no owner or two.
 *
 * <p>Contract, kept for every domain:
 * <ul>
 *   <li>{@link #apply} is deterministic: no clock, no randomness, no I/O but the store reads and
 *       writes it is handed. The leader stamps time and generated ids into the command in
 *       {@link #validate}.
 *   <li>{@link #apply}'s store writes go into the entry's one write batch, with the applied
 *       index and every domain's version; the state it computed becomes visible to readers only
 *       when the state machine runs {@link Applied#publish()}, after that batch is durable.
 *   <li>{@link #load} replaces the whole state from the store (at start, and after a snapshot
 *       was installed), so a domain never keeps state the store does not hold, except what its
 *       leader duties rebuild on {@link #onLeaderReady()}.
 * </ul>
 *
 * <p>Threading: {@link #load}, {@link #apply} and {@link #advanceApplied} run on the state
 * machine's apply thread (one at a time, under its write lock); {@link #validate} on the leader's
 * request threads, {@link #query} on any thread: both read only published state.
 */
public interface QuorumDomain {
  /** The domain's name: the key of its version in the applied record; lowercase, stable. */
  String name();

  /** The RocksDB column families the domain owns (nobody else reads or writes them). */
  List<String> columnFamilies();

  /** The request cases the domain turns into commands on the leader ({@link #validate}). */
  Set<QuorumRequest.RequestCase> writeRequests();

  /** The request cases the domain answers without the log ({@link #query}). */
  Set<QuorumRequest.RequestCase> readRequests();

  /** The command cases the domain applies. */
  Set<MetadataCommand.CommandCase> commands();

  /**
   * Replaces the domain's state with what the store holds, as of applied index
   * {@code appliedIndex}, at version {@code version} (0 when the domain never changed), and
   * publishes it.
   */
  void load(StoreReader store, long version, long appliedIndex) throws IOException;

  /**
   * Leader side, before the log: checks a write request against the published state and returns
   * the command to commit, with everything that must not be computed twice filled in.
   *
   * @throws IllegalArgumentException when the request is malformed (the client gets the message)
   */
  MetadataCommand validate(QuorumRequest request) throws InvalidProtocolBufferException;

  /** Answers a read-only request (its reply message, serialized by the state machine). */
  CompletableFuture<? extends MessageLite> query(QuorumRequest request) throws InvalidProtocolBufferException;

  /**
   * Every replica: applies one committed command at Raft index {@code index}, writing its store
   * changes into {@code writes} (restricted to this domain's column families).
   */
  Applied apply(MetadataCommand command, long index, StoreWriter writes) throws IOException;

  /**
   * Commands of other domains that this domain follows ({@link #follow}): state of its own that
   * depends on another domain's (the group domain drops the offsets of a deleted topic). None by
   * default.
   */
  default Set<MetadataCommand.CommandCase> followedCommands() {
    return Set.of();
  }

  /**
   * Every replica: another domain's {@code command}, one of {@link #followedCommands()}, was just
   * applied at {@code index}; this domain changes what depends on it, in the same write batch
   * ({@code writes}, restricted to this domain's column families). Runs before anything of the
   * entry is published, so every domain's published state is still the state before the entry.
   * Deterministic, as {@link #apply} is.
   *
   * @return null when nothing of this domain changed ({@link #advanceApplied} is called then);
   *     otherwise what changed, its reply ignored
   */
  default Applied follow(MetadataCommand command, long index, StoreWriter writes) throws IOException {
    return null;
  }

  /**
   * An entry at {@code index} that did not change this domain was applied (another domain's
   * command, a configuration or no-op entry, a skipped entry); called after it is durable.
   */
  void advanceApplied(long index);

  /** This node became the ready Raft leader: start the domain's leader duties. */
  default void onLeaderReady() {}

  /** This node is no longer the leader: stop the leader duties at once. */
  default void onNotLeader() {}

  /**
   * The result of {@link #apply}.
   *
   * @param reply the Ratis reply content returned to the writer
   * @param changed whether the entry changed the domain's state (its version moves to the index)
   * @param publish makes the new state visible; run once the entry's write batch is durable
   */
  record Applied(ByteString reply, boolean changed, Runnable publish) {
    /** An entry that changed nothing: the reply only, and the applied index moves on. */
    public static Applied unchanged(ByteString reply, Runnable advance) {
      return new Applied(reply, false, advance);
    }
  }
}
