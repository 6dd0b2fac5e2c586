package dev.brook.quorum.raft;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.brook.proto.v1.QuorumStatus;
import dev.brook.proto.v1.QuorumVoter;
import dev.brook.quorum.proto.AppliedRecord;
import dev.brook.quorum.proto.MetadataCommand;
import dev.brook.quorum.proto.QuorumRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Ratis state machine of the quorum, knowing no domain by name: it dispatches each request
 * and command to the {@link QuorumDomain} that declares its case, persists every entry (all
 * domains' writes, the applied index and each domain's version in one write batch), then
 * lets the domains publish, and takes and restores snapshots. {@code STATUS} requests, about Raft
 * itself, it answers on its own.
 *
 * <p>Dispatch tables are built once, here: every request case (but STATUS) and every command case
 * must have exactly one owner, and column families may not be shared, or the node refuses to
 * start (IllegalStateException), so a new domain cannot silently shadow or lose a case.
 *
 * <p>Durability: the RocksDB database IS the state. Snapshots are checkpoints of it. On start the
 * database says what was applied; if that is past the latest checkpoint, a checkpoint is taken at
 * once so that Ratis (which replays from the latest snapshot) replays only entries after it.
 *
 * <p>Threading (Ratis: only the apply thread mutates; takeSnapshot never overlaps apply; query
 * overlaps everything): a write lock around apply, notifyTermIndexUpdated, reinitialize and close;
 * a read lock around takeSnapshot. Domains' readers use published immutable state, no lock.
 */
public final class QuorumStateMachine extends BaseStateMachine {
  private static final Logger LOG = LoggerFactory.getLogger(QuorumStateMachine.class);

  private final int nodeId;
  private final Path dbDir;
  private final List<QuorumDomain> domains;
  private final Map<QuorumDomain, Set<String>> familiesOf = new HashMap<>();
  private final EnumMap<QuorumRequest.RequestCase, QuorumDomain> writes = new EnumMap<>(QuorumRequest.RequestCase.class);
  private final EnumMap<QuorumRequest.RequestCase, QuorumDomain> reads = new EnumMap<>(QuorumRequest.RequestCase.class);
  private final EnumMap<MetadataCommand.CommandCase, QuorumDomain> commands = new EnumMap<>(MetadataCommand.CommandCase.class);
  /** Per command, the other domains that follow it ({@link QuorumDomain#follow}), in domain order. */
  private final EnumMap<MetadataCommand.CommandCase, List<QuorumDomain>> followers =
      new EnumMap<>(MetadataCommand.CommandCase.class);
  private final SnapshotStore snapshots = new SnapshotStore();
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  // Guarded by lock (written under the write lock only).
  private QuorumStore store;
  private final Map<String, Long> versions = new HashMap<>();

  public QuorumStateMachine(int nodeId, Path dbDir, List<QuorumDomain> domains) {
    this.nodeId = nodeId;
    this.dbDir = dbDir;
    this.domains = List.copyOf(domains);
    Set<String> names = new HashSet<>();
    Map<String, QuorumDomain> familyOwner = new HashMap<>();
    for (QuorumDomain d : this.domains) {
      if (!names.add(d.name())) throw new IllegalStateException("two quorum domains are named " + d.name());
      for (String f : d.columnFamilies()) {
        if (f.equals(QuorumStore.META)) throw new IllegalStateException("domain " + d.name() + " claims the Raft layer's family");
        QuorumDomain other = familyOwner.putIfAbsent(f, d);
        if (other != null) throw new IllegalStateException("column family " + f + " claimed by " + other.name() + " and " + d.name());
      }
      familiesOf.put(d, Set.copyOf(d.columnFamilies()));
      claim(writes, d.writeRequests(), d, "write request");
      claim(reads, d.readRequests(), d, "read request");
      claim(commands, d.commands(), d, "command");
    }
    for (QuorumRequest.RequestCase c : QuorumRequest.RequestCase.values()) {
      if (c == QuorumRequest.RequestCase.REQUEST_NOT_SET || c == QuorumRequest.RequestCase.STATUS) continue;
      if (!writes.containsKey(c) && !reads.containsKey(c)) throw new IllegalStateException("request " + c + " has no domain");
    }
    if (writes.containsKey(QuorumRequest.RequestCase.STATUS) || reads.containsKey(QuorumRequest.RequestCase.STATUS)) {
      throw new IllegalStateException("STATUS belongs to the Raft layer");
    }
    for (MetadataCommand.CommandCase c : MetadataCommand.CommandCase.values()) {
      if (c != MetadataCommand.CommandCase.COMMAND_NOT_SET && !commands.containsKey(c)) {
        throw new IllegalStateException("command " + c + " has no domain");
      }
    }
    for (QuorumDomain d : this.domains) {
      for (MetadataCommand.CommandCase c : d.followedCommands()) {
        if (commands.get(c) == null || commands.get(c) == d) {
          throw new IllegalStateException(d.name() + " follows " + c + ", which is not another domain's command");
        }
        followers.computeIfAbsent(c, k -> new ArrayList<>()).add(d);
      }
    }
  }

  private static <K extends Enum<K>> void claim(EnumMap<K, QuorumDomain> table, Set<K> cases, QuorumDomain d, String what) {
    for (K c : cases) {
      if (c.name().endsWith("_NOT_SET")) throw new IllegalStateException(d.name() + " claims " + c);
      QuorumDomain other = table.putIfAbsent(c, d);
      if (other != null) throw new IllegalStateException(what + " " + c + " claimed by " + other.name() + " and " + d.name());
    }
  }

  private List<String> allFamilies() {
    List<String> out = new ArrayList<>();
    for (QuorumDomain d : domains) out.addAll(d.columnFamilies());
    return out;
  }

  // ------------------------------------------------------------------ lifecycle

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
    super.initialize(server, groupId, raftStorage);
    getLifeCycle().transition(LifeCycle.State.STARTING);
    lock.writeLock().lock();
    try {
      snapshots.init(raftStorage);
      store = QuorumStore.open(dbDir, allFamilies());
      AppliedRecord applied = store.applied();
      TermIndex appliedTi = termIndexOf(applied);
      SnapshotInfo latest = snapshots.getLatestSnapshot();
      if (latest != null && latest.getIndex() > appliedTi.getIndex()) {
        // The database is older than the newest snapshot (a snapshot was installed, then the
        // node died before restoring it): the snapshot wins.
        LOG.warn("Metadata database at index {} is behind snapshot {}: restoring the snapshot", appliedTi.getIndex(),
            latest.getTermIndex());
        store.close();
        store = null;
        QuorumStore.restore(snapshots.latestDir(), dbDir);
        store = QuorumStore.open(dbDir, allFamilies());
        applied = store.applied();
        appliedTi = termIndexOf(applied);
      } else if (appliedTi.getIndex() >= 0 && (latest == null || latest.getIndex() < appliedTi.getIndex())) {
        checkpoint(appliedTi);
      }
      setLastAppliedTermIndex(appliedTi);
      loadDomains(applied);
      LOG.info("Node {} quorum state machine starts at {} (domain versions {})", nodeId, appliedTi, versions);
    } finally {
      lock.writeLock().unlock();
    }
    getLifeCycle().transition(LifeCycle.State.RUNNING);
  }

  /** Caller holds the write lock. */
  private void loadDomains(AppliedRecord applied) throws IOException {
    versions.clear();
    versions.putAll(applied.getDomainVersionsMap());
    for (QuorumDomain d : domains) {
      d.load(store.reader(familiesOf.get(d)), versions.getOrDefault(d.name(), 0L), termIndexOf(applied).getIndex());
    }
  }

  private static TermIndex termIndexOf(AppliedRecord a) {
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
      QuorumStore.restore(latest, dbDir);
      store = QuorumStore.open(dbDir, allFamilies());
      AppliedRecord applied = store.applied();
      TermIndex appliedTi = termIndexOf(applied);
      TermIndex snapshotTi = snapshots.getLatestSnapshot().getTermIndex();
      if (!appliedTi.equals(snapshotTi)) {
        throw new IOException("installed snapshot " + snapshotTi + " holds applied index " + appliedTi);
      }
      setLastAppliedTermIndex(appliedTi);
      loadDomains(applied);
      LOG.info("Node {} reloaded the quorum state from installed snapshot {}", nodeId, snapshotTi);
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
      QuorumDomain domain = writes.get(req.getRequestCase());
      if (domain == null) {
        throw new IllegalArgumentException(req.getRequestCase() == QuorumRequest.RequestCase.REQUEST_NOT_SET
            ? "empty metadata request" : req.getRequestCase() + " is read-only");
      }
      command = domain.validate(req);
    } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
      TransactionContext failed = trx.build();
      failed.setException(new IllegalArgumentException("invalid metadata request: " + e.getMessage()));
      return failed;
    }
    return trx.setLogData(UnsafeByteOperations.unsafeWrap(command.toByteArray())).build();
  }

  /**
   * Read-only requests, answered without the log by the owning domain; STATUS by this class.
   * Linearizable ones are run by Ratis once this node applied the leader's commit index;
   * non-linearizable ones (leader duties) are served on the ready leader only.
   */
  @Override
  public CompletableFuture<Message> query(Message request) {
    try {
      QuorumRequest req = QuorumRequest.parseFrom(request.getContent().asReadOnlyByteBuffer());
      if (req.getRequestCase() == QuorumRequest.RequestCase.STATUS) {
        return getServer().thenApply(server -> toMessage(statusOf(server, getGroupId(), getLastAppliedTermIndex().getIndex())));
      }
      QuorumDomain domain = reads.get(req.getRequestCase());
      if (domain == null) {
        return CompletableFuture.failedFuture(new IllegalArgumentException("not a read-only request: " + req.getRequestCase()));
      }
      return domain.query(req).thenApply(QuorumStateMachine::toMessage);
    } catch (InvalidProtocolBufferException e) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("invalid metadata query: " + e.getMessage()));
    }
  }

  private static Message toMessage(MessageLite m) {
    return Message.valueOf(UnsafeByteOperations.unsafeWrap(m.toByteArray()));
  }

  /** The quorum as the local Ratis server {@code server} sees it; leader -1 when it knows none. */
  public static QuorumStatus statusOf(RaftServer server, RaftGroupId groupId, long appliedFallback) {
    QuorumStatus.Builder b = QuorumStatus.newBuilder().setLeaderId(-1).setAppliedIndex(appliedFallback);
    try {
      RaftServer.Division d = server.getDivision(groupId);
      RaftPeerId leader = d.getInfo().getLeaderId();
      b.setLeaderId(leader == null ? -1 : Integer.parseInt(leader.toString()));
      b.setTerm(d.getInfo().getCurrentTerm());
      b.setCommitIndex(d.getRaftLog().getLastCommittedIndex());
      b.setAppliedIndex(d.getInfo().getLastAppliedIndex());
      for (RaftPeer p : d.getRaftConf().getCurrentPeers()) {
        b.addVoters(QuorumVoter.newBuilder().setNodeId(Integer.parseInt(p.getId().toString())).setAddress(p.getAddress()));
      }
    } catch (IOException | RuntimeException e) {
      // A closed or not yet started server: report what is known (no leader).
    }
    return b.build();
  }

  @Override
  public void notifyLeaderReady() {
    for (QuorumDomain d : domains) d.onLeaderReady();
  }

  @Override
  public void notifyNotLeader(Collection<TransactionContext> pendingEntries) {
    for (QuorumDomain d : domains) d.onNotLeader();
  }

  @Override
  public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
    if (newLeaderId == null || !newLeaderId.equals(groupMemberId.getPeerId())) {
      for (QuorumDomain d : domains) d.onNotLeader();
    }
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
      QuorumDomain owner = commands.get(command.getCommandCase());
      QuorumStore.Batch batch = store.newBatch();
      QuorumDomain.Applied applied = null;
      Map<QuorumDomain, QuorumDomain.Applied> followed = Map.of();
      if (owner != null) {
        applied = owner.apply(command, index, batch.writer(familiesOf.get(owner)));
        if (applied.changed()) versions.put(owner.name(), index);
        for (QuorumDomain f : followers.getOrDefault(command.getCommandCase(), List.of())) {
          QuorumDomain.Applied a = f.follow(command, index, batch.writer(familiesOf.get(f)));
          if (a == null) continue;
          if (followed.isEmpty()) followed = new HashMap<>();
          followed.put(f, a);
          if (a.changed()) versions.put(f.name(), index);
        }
      } else {
        LOG.warn("Skipping metadata entry {} with an unknown command (written by a newer version?)", index);
      }
      store.commit(batch, appliedRecord(term, index));
      updateLastAppliedTermIndex(term, index);
      for (QuorumDomain d : domains) {
        QuorumDomain.Applied own = d == owner ? applied : followed.get(d);
        if (own != null) {
          own.publish().run();
        } else {
          d.advanceApplied(index);
        }
      }
      ByteString reply = applied == null ? ByteString.EMPTY : applied.reply();
      return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(reply.toByteArray())));
    } catch (IOException e) {
      // A replica that cannot persist must stop rather than diverge: Ratis shuts the server down.
      LOG.error("Node {} cannot persist metadata entry {}: stopping", nodeId, index, e);
      throw new UncheckedIOException(e);
    } finally {
      lock.writeLock().unlock();
    }
  }

  private AppliedRecord appliedRecord(long term, long index) {
    return AppliedRecord.newBuilder().setTerm(term).setIndex(index).putAllDomainVersions(versions).build();
  }

  /** Configuration and no-op entries: persist the applied index too (a new leader waits for it). */
  @Override
  public void notifyTermIndexUpdated(long term, long index) {
    lock.writeLock().lock();
    try {
      if (index <= getLastAppliedTermIndex().getIndex()) return;
      if (store != null) store.commit(store.newBatch(), appliedRecord(term, index));
      updateLastAppliedTermIndex(term, index);
      for (QuorumDomain d : domains) d.advanceApplied(index);
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
    QuorumStore.deleteRecursively(tmp);
    store.checkpoint(tmp);
    Files.move(tmp, snapshots.dirFor(ti));
    snapshots.refresh();
    snapshots.cleanup();
    LOG.info("Node {} took metadata snapshot {}", nodeId, ti);
  }
}
