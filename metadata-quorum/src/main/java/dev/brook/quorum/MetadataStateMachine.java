package dev.brook.quorum;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.DeleteTopicsRequest;
import dev.brook.quorum.proto.AppliedRecord;
import dev.brook.quorum.proto.BrokerHeartbeatRequest;
import dev.brook.quorum.proto.FetchImageReply;
import dev.brook.quorum.proto.HeartbeatAgesReply;
import dev.brook.quorum.proto.MetadataCommand;
import dev.brook.quorum.proto.QuorumRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Ratis adapter of the metadata state machine. Decisions live elsewhere — validation in
 * {@link RequestValidator} (leader, startTransaction), state transitions in {@link MetadataApplier}
 * (every replica, applyTransaction), storage in {@link MetadataStore} — this class only wires them
 * to Ratis' callbacks, persists, and publishes images.
 *
 * <p>Durability: the RocksDB database IS the state. Each applied entry is written with its
 * (term, index) in one synced WriteBatch. Snapshots are checkpoints of it. On start the database
 * says what was applied; if that is past the latest checkpoint, a checkpoint is taken at once so
 * that Ratis (which replays from the latest snapshot) replays only entries after it.
 *
 * <p>Threading (Ratis: only the apply thread mutates; takeSnapshot never overlaps apply; query
 * overlaps everything): a write lock around apply, notifyTermIndexUpdated, reinitialize and close;
 * a read lock around takeSnapshot. Readers use the immutable image, which needs no lock.
 */
final class MetadataStateMachine extends BaseStateMachine {
  private static final Logger LOG = LoggerFactory.getLogger(MetadataStateMachine.class);

  private final int nodeId;
  private final Path dbDir;
  private final RequestValidator validator;
  private final MetadataApplier applier = new MetadataApplier();
  private final ImagePublisher publisher;
  private final QuorumController controller;
  private final SnapshotStore snapshots = new SnapshotStore();
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  // Guarded by lock (written under the write lock only).
  private MetadataStore store;
  private volatile MetadataImage image = MetadataImage.EMPTY;
  private long metadataVersion;

  MetadataStateMachine(int nodeId, Path dbDir, RequestValidator validator, ImagePublisher publisher,
      QuorumController controller) {
    this.nodeId = nodeId;
    this.dbDir = dbDir;
    this.validator = validator;
    this.publisher = publisher;
    this.controller = controller;
  }

  MetadataImage image() {
    return image;
  }

  // ------------------------------------------------------------------ lifecycle

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
    super.initialize(server, groupId, raftStorage);
    getLifeCycle().transition(LifeCycle.State.STARTING);
    lock.writeLock().lock();
    try {
      snapshots.init(raftStorage);
      store = MetadataStore.open(dbDir);
      MetadataStore.Loaded loaded = store.load();
      TermIndex applied = appliedOf(loaded);
      SnapshotInfo latest = snapshots.getLatestSnapshot();
      if (latest != null && latest.getIndex() > applied.getIndex()) {
        // The database is older than the newest snapshot (a snapshot was installed, then the
        // node died before restoring it): the snapshot wins.
        LOG.warn("Metadata database at index {} is behind snapshot {}: restoring the snapshot", applied.getIndex(),
            latest.getTermIndex());
        store.close();
        store = null;
        MetadataStore.restore(snapshots.latestDir(), dbDir);
        store = MetadataStore.open(dbDir);
        loaded = store.load();
        applied = appliedOf(loaded);
      } else if (applied.getIndex() >= 0 && (latest == null || latest.getIndex() < applied.getIndex())) {
        checkpoint(applied);
      }
      setLastAppliedTermIndex(applied);
      metadataVersion = loaded.applied().getMetadataVersion();
      image = loaded.image();
      publisher.publish(image, applied.getIndex());
      LOG.info("Node {} metadata state machine starts at {} (metadata version {}, {} topics, {} brokers)",
          nodeId, applied, metadataVersion, image.topics().size(), image.brokers().size());
    } finally {
      lock.writeLock().unlock();
    }
    getLifeCycle().transition(LifeCycle.State.RUNNING);
  }

  private static TermIndex appliedOf(MetadataStore.Loaded loaded) {
    AppliedRecord a = loaded.applied();
    return a.equals(AppliedRecord.getDefaultInstance()) ? TermIndex.INITIAL_VALUE : TermIndex.valueOf(a.getTerm(), a.getIndex());
  }

  @Override
  public void pause() {
    if (getLifeCycle().getCurrentState() == LifeCycle.State.RUNNING) {
      getLifeCycle().transition(LifeCycle.State.PAUSING);
      getLifeCycle().transition(LifeCycle.State.PAUSED);
    }
  }

  /** After Ratis installed a snapshot from the leader: replace the database with it. */
  @Override
  public void reinitialize() throws IOException {
    lock.writeLock().lock();
    try {
      getLifeCycle().transition(LifeCycle.State.STARTING);
      snapshots.refresh();
      Path latest = snapshots.latestDir();
      if (latest == null) throw new IOException("reinitialize without a snapshot in the state machine directory");
      if (store != null) store.close();
      store = null;
      MetadataStore.restore(latest, dbDir);
      store = MetadataStore.open(dbDir);
      MetadataStore.Loaded loaded = store.load();
      TermIndex applied = appliedOf(loaded);
      TermIndex snapshotTi = snapshots.getLatestSnapshot().getTermIndex();
      if (!applied.equals(snapshotTi)) {
        throw new IOException("installed snapshot " + snapshotTi + " holds applied index " + applied);
      }
      setLastAppliedTermIndex(applied);
      metadataVersion = loaded.applied().getMetadataVersion();
      image = loaded.image();
      publisher.publish(image, applied.getIndex());
      LOG.info("Node {} reloaded metadata from installed snapshot {}", nodeId, snapshotTi);
      getLifeCycle().transition(LifeCycle.State.RUNNING);
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (store != null) {
        store.close();
        store = null;
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  // ------------------------------------------------------------------ leader side

  @Override
  public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
    TransactionContext.Builder trx = TransactionContext.newBuilder().setStateMachine(this).setClientRequest(request);
    MetadataCommand command;
    try {
      QuorumRequest req = QuorumRequest.parseFrom(request.getMessage().getContent().asReadOnlyByteBuffer());
      MetadataImage current = image;
      command = switch (req.getRequestCase()) {
        case CREATE_TOPICS -> validator.createTopics(CreateTopicsRequest.parseFrom(req.getCreateTopics()), current);
        case DELETE_TOPICS -> validator.deleteTopics(DeleteTopicsRequest.parseFrom(req.getDeleteTopics()));
        case REGISTER_BROKER -> validator.registerBroker(req.getRegisterBroker(), current);
        case INITIALIZE_CLUSTER -> validator.initializeCluster();
        case ALTER_PARTITION -> validator.alterPartition(req.getAlterPartition(), current);
        case ELECT_LEADERS -> validator.electLeaders(req.getElectLeaders());
        case CONTROLLER_BATCH -> validator.controllerBatch(req.getControllerBatch());
        case HEARTBEAT, HEARTBEAT_AGES, FETCH_IMAGE, STATUS ->
            throw new IllegalArgumentException(req.getRequestCase() + " is read-only");
        case REQUEST_NOT_SET -> throw new IllegalArgumentException("empty metadata request");
      };
    } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
      TransactionContext failed = trx.build();
      failed.setException(new IllegalArgumentException("invalid metadata request: " + e.getMessage()));
      return failed;
    }
    return trx.setLogData(UnsafeByteOperations.unsafeWrap(command.toByteArray())).build();
  }

  /**
   * Read-only requests, answered without the log: CreateTopics with validate_only, image fetches
   * and status (linearizable reads: Ratis runs them once this node applied the leader's commit
   * index), heartbeats and heartbeat ages (leader only, answered by the controller from memory;
   * sent as non-linearizable reads, which Ratis serves only on the ready leader).
   */
  @Override
  public CompletableFuture<Message> query(Message request) {
    try {
      QuorumRequest req = QuorumRequest.parseFrom(request.getContent().asReadOnlyByteBuffer());
      switch (req.getRequestCase()) {
        case CREATE_TOPICS -> {
          CreateTopicsRequest create = CreateTopicsRequest.parseFrom(req.getCreateTopics());
          return reply(validator.validateOnly(create, image));
        }
        case HEARTBEAT -> {
          BrokerHeartbeatRequest hb = req.getHeartbeat();
          return controller.heartbeat(hb.getNodeId(), hb.getBrokerEpoch(), hb.getWantShutdown()).thenApply(r -> toMessage(r));
        }
        case HEARTBEAT_AGES -> {
          return controller.heartbeatAges().thenApply(ages -> toMessage(HeartbeatAgesReply.newBuilder().putAllAgesMs(ages).build()));
        }
        case FETCH_IMAGE -> {
          return reply(fetchImage(req.getFetchImage().getKnownVersion()));
        }
        case STATUS -> {
          return getServer().thenApply(server -> toMessage(
              RaftMetadataClient.statusOf(server, getGroupId(), getLastAppliedTermIndex().getIndex())));
        }
        default -> {
          return CompletableFuture.failedFuture(new IllegalArgumentException("not a read-only request: " + req.getRequestCase()));
        }
      }
    } catch (InvalidProtocolBufferException e) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("invalid metadata query: " + e.getMessage()));
    }
  }

  private FetchImageReply fetchImage(long knownVersion) {
    MetadataImage current;
    long applied;
    // The image and the applied index must belong together: a watch on applied + 1 must not
    // skip an entry whose image the reply does not contain yet.
    lock.readLock().lock();
    try {
      current = image;
      applied = getLastAppliedTermIndex().getIndex();
    } finally {
      lock.readLock().unlock();
    }
    FetchImageReply.Builder reply = FetchImageReply.newBuilder().setAppliedIndex(applied);
    if (current.version() != knownVersion) reply.setImage(Records.toSnapshot(current));
    return reply.build();
  }

  private static CompletableFuture<Message> reply(com.google.protobuf.MessageLite m) {
    return CompletableFuture.completedFuture(toMessage(m));
  }

  private static Message toMessage(com.google.protobuf.MessageLite m) {
    return Message.valueOf(UnsafeByteOperations.unsafeWrap(m.toByteArray()));
  }

  @Override
  public void notifyLeaderReady() {
    controller.onLeaderReady();
  }

  @Override
  public void notifyNotLeader(Collection<TransactionContext> pendingEntries) {
    controller.onNotLeader();
  }

  @Override
  public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
    if (newLeaderId == null || !newLeaderId.equals(groupMemberId.getPeerId())) controller.onNotLeader();
  }

  // ------------------------------------------------------------------ every replica

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    long index = entry.getIndex();
    long term = entry.getTerm();
    lock.writeLock().lock();
    try {
      if (index <= getLastAppliedTermIndex().getIndex()) {
        // Already in the database (replay below a checkpoint taken at start): nothing to do.
        return CompletableFuture.completedFuture(Message.EMPTY);
      }
      MetadataCommand command;
      try {
        command = MetadataCommand.parseFrom(entry.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer());
      } catch (InvalidProtocolBufferException e) {
        // Same bytes on every replica, so skipping is deterministic; stopping would stop them all.
        LOG.error("Skipping unreadable metadata entry {} ({})", index, e.getMessage());
        command = MetadataCommand.getDefaultInstance();
      }
      MetadataApplier.Result result = applier.apply(image, command, index);
      long version = result.image() != image ? index : metadataVersion;
      store.write(result.delta(), AppliedRecord.newBuilder().setTerm(term).setIndex(index).setMetadataVersion(version).build());
      metadataVersion = version;
      updateLastAppliedTermIndex(term, index);
      image = result.image();
      publisher.publish(image, index);
      return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(result.reply().toByteArray())));
    } catch (IOException e) {
      // A replica that cannot persist must stop rather than diverge: Ratis shuts the server down.
      LOG.error("Node {} cannot persist metadata entry {}: stopping", nodeId, index, e);
      throw new UncheckedIOException(e);
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Configuration and no-op entries: persist the applied index too (a new leader waits for it). */
  @Override
  public void notifyTermIndexUpdated(long term, long index) {
    lock.writeLock().lock();
    try {
      if (index <= getLastAppliedTermIndex().getIndex()) return;
      if (store != null) {
        store.write(new StoreDelta(),
            AppliedRecord.newBuilder().setTerm(term).setIndex(index).setMetadataVersion(metadataVersion).build());
      }
      updateLastAppliedTermIndex(term, index);
      publisher.advanceApplied(index);
    } catch (IOException e) {
      LOG.error("Node {} cannot persist applied index {}: stopping", nodeId, index, e);
      throw new UncheckedIOException(e);
    } finally {
      lock.writeLock().unlock();
    }
  }

  // ------------------------------------------------------------------ snapshots

  @Override
  public StateMachineStorage getStateMachineStorage() {
    return snapshots;
  }

  @Override
  public SnapshotInfo getLatestSnapshot() {
    return snapshots.getLatestSnapshot();
  }

  @Override
  public long takeSnapshot() throws IOException {
    lock.readLock().lock();
    try {
      TermIndex applied = getLastAppliedTermIndex();
      SnapshotInfo latest = snapshots.getLatestSnapshot();
      if (applied.getIndex() < 0) return -1;
      if (latest != null && latest.getIndex() >= applied.getIndex()) return latest.getIndex();
      checkpoint(applied);
      return applied.getIndex();
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Caller holds a lock that keeps apply out, so the checkpoint's applied record is {@code ti}. */
  private void checkpoint(TermIndex ti) throws IOException {
    Path tmp = snapshots.tmpDirFor(ti);
    MetadataStore.deleteRecursively(tmp);
    store.checkpoint(tmp);
    Files.move(tmp, snapshots.dirFor(ti));
    snapshots.refresh();
    snapshots.cleanup();
    LOG.info("Node {} took metadata snapshot {}", nodeId, ti);
  }
}
