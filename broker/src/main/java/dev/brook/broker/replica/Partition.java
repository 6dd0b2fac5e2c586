package dev.brook.broker.replica;

import com.google.protobuf.ByteString;
import dev.brook.broker.log.AppendResult;
import dev.brook.broker.log.CorruptLogException;
import dev.brook.broker.log.EpochEndOffset;
import dev.brook.broker.log.LogConfig;
import dev.brook.broker.log.LogException;
import dev.brook.broker.log.PartitionLog;
import dev.brook.broker.log.ReadResult;
import dev.brook.broker.log.ValidatedBatches;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.protocol.TopicConfig;
import dev.brook.quorum.PartitionImage;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One partition replica hosted on this broker: its log, the assignment from the metadata quorum,
 * the high watermark, and the replication role that goes with them.
 *
 * <p>As <b>leader</b> it appends producers' batches ({@link #appendAsLeader}), serves followers'
 * fetches ({@link #readForFollower}) and keeps a {@link LeaderReplicaState} that turns their
 * positions into the high watermark and ISR changes. As <b>follower</b> its log is written only
 * by this broker's replica fetcher ({@link #appendAsFollower}, {@link #truncateAsFollower}),
 * and every such call names the leader epoch it fetched under, so a fetcher that lags behind a
 * leadership change cannot write into a log that has moved on.
 *
 * <p>Threading: appends, truncations and role changes are serialized by {@code appendLock} (one
 * writer per log, as {@link PartitionLog} requires). Reads take no lock: they read the log below
 * the volatile {@link #highWatermark()} (consumers) or its end (followers). The assignment is
 * replaced whole (an immutable {@link PartitionImage}) by the metadata thread.
 *
 * <p>Invariants: a batch is appended as leader only when this broker is the leader named by the
 * current image, stamped with that image's leader epoch, which is recorded in the log's epoch
 * history (at the log end) the moment this broker becomes leader. While it leads, the high
 * watermark never moves backwards, never exceeds the log end, and is the minimum log end offset
 * over the maximal ISR (see {@link LeaderReplicaState}); a follower's is min(leader's, own log
 * end). A replica of a replicated partition starts (on open) with its high watermark at the log
 * start: without a checkpoint it cannot know which of its records were committed, so it learns
 * that from its leader, or as leader from its followers.
 */
public final class Partition {
  private static final Logger LOG = LoggerFactory.getLogger(Partition.class);

  private final String topic;
  private final int index;
  private final String topicId;
  private final int localNodeId;
  private final PartitionLog log;
  private final ReplicationContext context;
  private final LeaderReplicaState leaderState;
  private final Waiters highWatermarkWaiters = new Waiters();
  private final Waiters appendWaiters = new Waiters();
  private final Object appendLock = new Object();
  private volatile PartitionImage state;
  private volatile TopicSettings settings;
  /** Written under this object's monitor (never lowered while leading); read without locks. */
  private volatile long highWatermark;
  /** The high watermark last written to disk (checkpointing thread only). */
  private volatile long checkpointed;
  /** The leader epoch this replica leads in, -1 when it does not lead. Written under appendLock. */
  private volatile int ledEpoch = -1;
  /**
   * The first offset whose stored batch was found corrupt in this replica's log, or -1. Written
   * under appendLock; cleared when the log has been cut there to be re-fetched from a leader.
   */
  private volatile long corruptFrom = -1;
  /** The last failure to repair the corrupt log, logged at ERROR once until it changes (under appendLock). */
  private String lastRepairFailure;
  /**
   * Set when this replica's log was cut below what it had (a repair, or recovery setting damage
   * aside): it may miss committed records, so it must not lead until it has them again. Until
   * then, elected leader, it serves nothing (so no follower truncates to its shorter log) and
   * hands leadership on as soon as another in-sync (or eligible leader) replica can take it.
   * Cleared only once, as a follower, its log end reached both its leader's high watermark and
   * the high watermark it knew before the cut. Its place in the ISR proves nothing: a leader may
   * have proposed adding it on a fetch from before the cut, and the quorum may apply that after
   * the cut (the long fault run of 2026-12-03 lost records that way when this replica, cut from
   * 144,715 to 39,467 records and shown back in the ISR, was made preferred leader and the others
   * truncated to it). Written under appendLock.
   */
  private volatile boolean mustCatchUp;
  /** With mustCatchUp: the high watermark this replica knew when its log was cut. */
  private long catchUpTo;
  /** The broker statuses of the latest image (under appendLock). */
  private Map<Integer, LeaderReplicaState.BrokerStatus> lastBrokers = Map.of();

  /** A topic's effective configuration, and what the partition derives from it. */
  record TopicSettings(Map<String, String> effective, LogConfig logConfig, int minInsyncReplicas) {
    static TopicSettings of(Map<String, String> effective) {
      return new TopicSettings(Map.copyOf(effective), LogConfig.from(effective),
          Integer.parseInt(effective.get(TopicConfig.MIN_INSYNC_REPLICAS)));
    }
  }

  /** What the partition needs from its {@link ReplicaManager}: the clock and the way to the quorum. */
  interface ReplicationContext {
    long nowMs();

    /** Sends an ISR change to the quorum and reports the answer to {@link #onIsrChangeResult}. Must not block. */
    void sendIsrChange(Partition partition, LeaderReplicaState.IsrChange change);
  }

  /** What a follower fetch found: records (or a divergence) plus the leader's view of the partition. */
  public record FollowerRead(ReadResult read, EpochEndOffset divergingEpoch, long highWatermark, int leaderEpoch) {}

  Partition(String topic, int index, String topicId, int localNodeId, PartitionLog log,
      PartitionImage state, TopicSettings settings, ReplicationContext context, ReplicationConfig replication,
      Map<Integer, LeaderReplicaState.BrokerStatus> brokers) {
    this.topic = topic;
    this.index = index;
    this.topicId = topicId;
    this.localNodeId = localNodeId;
    this.log = log;
    this.context = context;
    this.leaderState = new LeaderReplicaState(localNodeId, replication.replicaLagTimeMaxMs(),
        replication.disconnectTimeoutMs());
    this.settings = settings;
    this.highWatermark = state.replicas().size() <= 1 ? log.logEndOffset()
        : Math.max(log.logStartOffset(), Math.min(HighWatermarkCheckpoint.read(log.dir()), log.logEndOffset()));
    this.checkpointed = highWatermark;
    this.state = state;
    // Recovery cut a damaged log: until it has copied everything from there again from a leader,
    // this replica must not be trusted as one (it resigns if it finds itself leading).
    this.corruptFrom = log.recoveryCutAt();
    if (log.recoveryCutAt() >= 0) {
      mustCatchUp = true;
      catchUpTo = HighWatermarkCheckpoint.read(log.dir());
    }
    synchronized (appendLock) {
      applyRole(state, brokers);
    }
  }

  public String topic() { return topic; }
  public int index() { return index; }
  public String topicId() { return topicId; }
  public PartitionImage state() { return state; }
  /** min.insync.replicas of the topic: the smallest ISR with which acks=all is accepted. */
  public int minInsyncReplicas() { return settings.minInsyncReplicas(); }
  public PartitionLog log() { return log; }
  public long highWatermark() { return highWatermark; }
  public boolean isLeader() { return state.leaderId() == localNodeId; }

  /**
   * The ISR as this leader knows it: the image's, or newer when the quorum already answered an
   * ISR change that no image has shown yet. For a follower, the image's.
   */
  public List<Integer> isr() {
    return ledEpoch >= 0 && isLeader() ? leaderState.isr() : state.isr();
  }

  /**
   * Whether this replica leads now, in {@code leaderEpoch}. A record appended in an epoch this
   * replica no longer leads may have been truncated by the next leader: its fate is unknown.
   */
  public boolean leadsInEpoch(int leaderEpoch) {
    return ledEpoch == leaderEpoch && state.leaderId() == localNodeId;
  }

  /**
   * Checks a produce request's batches for this partition (see {@link PartitionLog#validate});
   * any thread, no lock: validation of one request does not hold up appends of others.
   */
  public ValidatedBatches validate(List<RecordBatch> batches) throws LogException {
    return log.validate(batches);
  }

  /** Validates and appends, see {@link #appendAsLeader(ValidatedBatches, boolean)}. */
  public AppendResult appendAsLeader(List<RecordBatch> batches, boolean acksAll)
      throws PartitionException, LogException {
    return appendAsLeader(validate(batches), acksAll);
  }

  /**
   * Appends the batches of one produce request as leader and returns where they landed.
   *
   * @param acksAll whether the producer asked for acks=all: then the in-sync set must have at
   *     least min.insync.replicas members, checked before anything is written
   */
  public AppendResult appendAsLeader(ValidatedBatches batches, boolean acksAll)
      throws PartitionException, LogException {
    AppendResult result;
    synchronized (appendLock) {
      PartitionImage s = state;
      int minInsyncReplicas = settings.minInsyncReplicas();
      if (s.leaderId() == localNodeId && mustCatchUp) throw notServingWhileCatchingUp();
      if (s.leaderId() != localNodeId || ledEpoch != s.leaderEpoch()) {
        throw new PartitionException(ErrorCode.NOT_LEADER,
            "broker " + localNodeId + " is not the leader of " + this);
      }
      int isrSize = leaderState.isr().size();
      if (acksAll && isrSize < minInsyncReplicas) {
        throw new PartitionException(ErrorCode.NOT_ENOUGH_REPLICAS, "the in-sync replica set of " + this + " has "
            + isrSize + " members, min.insync.replicas is " + minInsyncReplicas);
      }
      result = log.append(batches, s.leaderEpoch());
      publishHighWatermark(leaderState.maybeAdvanceHighWatermark(log.logEndOffset()));
    }
    // Followers waiting at the old log end fetch the new batches now.
    appendWaiters.fire();
    return result;
  }

  /** Publishes a leader's new high watermark (-1: unchanged) and wakes its waiters. */
  private void publishHighWatermark(long hw) {
    if (hw < 0) return;
    boolean moved;
    synchronized (this) {
      moved = hw > highWatermark && ledEpoch >= 0;
      if (moved) highWatermark = Math.min(hw, log.logEndOffset());
    }
    if (moved) highWatermarkWaiters.fire();
  }

  /**
   * Reads committed data (below the high watermark), see {@link PartitionLog#read}. A corrupt
   * batch at {@code fetchOffset} is reported ({@link #onCorruption}) and answered
   * LEADER_NOT_AVAILABLE while another in-sync replica takes over, or CORRUPT_RECORD (naming the
   * partition and offset) when none can.
   */
  public ReadResult read(long fetchOffset, int maxBytes) throws LogException {
    if (mustCatchUp && isLeader()) {
      throw new LogException(ErrorCode.LEADER_NOT_AVAILABLE, notServingWhileCatchingUp().getMessage());
    }
    try {
      return log.read(fetchOffset, maxBytes, highWatermark);
    } catch (CorruptLogException e) {
      throw onCorruption(e);
    }
  }

  /**
   * This replica's log holds a corrupt batch: remember where (the first such offset), log it
   * once, and act. As leader with another eligible in-sync replica: resign, so the quorum moves
   * leadership there; this replica then cuts its log at the corrupt batch and re-fetches
   * everything from there (see {@link #applyRole}). As follower: cut and re-fetch at once. With
   * nobody to take over: keep serving what is before the corrupt batch and refuse the rest with
   * CORRUPT_RECORD until an operator repairs it. Returns the error for the reader who found it.
   */
  LogException onCorruption(CorruptLogException e) {
    boolean canHandOver;
    synchronized (appendLock) {
      boolean known = corruptFrom >= 0 && corruptFrom <= e.offset();
      if (!known) corruptFrom = e.offset();
      boolean leading = ledEpoch >= 0 && isLeader();
      canHandOver = leading && leaderState.hasEligibleSuccessor();
      if (!known) {
        String action = !leading ? "cutting the log there and re-fetching it from the leader"
            : canHandOver ? "handing leadership to an in-sync replica, then re-fetching from offset " + e.offset()
            : "no in-sync replica can take over: reads from offset " + e.offset()
                + " fail with CORRUPT_RECORD until the log is repaired (see docs/operations.md)";
        LOG.error("{} on broker {}: {}; replica marked corrupt, {}", this, localNodeId, e.getMessage(), action);
      }
      if (!leading && state.leaderId() >= 0) repairAsFollowerLocked();
    }
    if (canHandOver) {
      maybeResign();
      return new LogException(ErrorCode.LEADER_NOT_AVAILABLE, this + ": the replica on broker " + localNodeId
          + " is corrupt at offset " + e.offset() + " and hands leadership to an in-sync replica; retry");
    }
    return new LogException(ErrorCode.CORRUPT_RECORD, this + " on broker " + localNodeId + ": " + e.getMessage()
        + "; no in-sync replica holds a good copy, records before offset " + e.offset() + " are readable");
  }

  private PartitionException notServingWhileCatchingUp() {
    return new PartitionException(ErrorCode.LEADER_NOT_AVAILABLE, this + ": broker " + localNodeId
        + " was elected but its log was cut to offset " + log.logEndOffset() + " to repair damage and may miss"
        + " committed records; it serves nothing and hands leadership to an in-sync replica once one is available");
  }

  /** Whether this replica's log was cut and it has not caught up again (it will not lead meanwhile). */
  public boolean mustCatchUp() {
    return mustCatchUp;
  }

  /** The first offset found corrupt in this replica's log and not repaired yet, or -1. */
  public long corruptFrom() {
    return corruptFrom;
  }

  /** Leader with a corrupt log: asks the quorum to move leadership to another in-sync replica. */
  private void maybeResign() {
    if (ledEpoch < 0 || !isLeader() || corruptFrom < 0) return;
    LeaderReplicaState.IsrChange change = leaderState.proposeResign(context.nowMs());
    if (change != null) {
      LOG.info("{}: resigning leadership (corrupt log from offset {}): proposing ISR {} -> {}", this, corruptFrom,
          leaderState.isr(), change.newIsr());
      sendIsrChange(change);
    }
  }

  /**
   * Not leading and the log is corrupt: cut it at the corrupt batch so that the replica fetcher
   * copies everything from there again from the leader. Under appendLock. Records after the
   * corrupt batch are dropped here too: the log must stay contiguous, and the leader has them.
   */
  private void repairAsFollowerLocked() {
    long from = corruptFrom;
    if (from < 0) return;
    try {
      long knownHighWatermark = highWatermark;
      long endBefore = log.logEndOffset();
      log.truncateTo(from);
      synchronized (this) {
        highWatermark = Math.min(highWatermark, log.logEndOffset());
      }
      if (log.logEndOffset() < endBefore) {
        // What was cut may have been committed, whatever the high watermark known here says (a
        // replica that just restarted knows only its checkpoint): copy at least all of it again.
        long target = Math.max(knownHighWatermark, endBefore);
        catchUpTo = mustCatchUp ? Math.max(catchUpTo, target) : target;
        mustCatchUp = true;
      }
      corruptFrom = -1;
      lastRepairFailure = null;
      LOG.info("{}: repairing: log cut at offset {} (the corrupt batch), re-fetching from the leader", this,
          log.logEndOffset());
    } catch (IOException | RuntimeException ex) {
      String failure = ex.toString();
      if (!failure.equals(lastRepairFailure)) {
        LOG.error("{}: could not cut the corrupt log at offset {} (retried when the corruption is found again or the leadership changes; "
            + "logged again only when the reason changes): {}", this, from, failure);
      } else {
        LOG.debug("{}: could not cut the corrupt log at offset {}: {}", this, from, failure);
      }
      lastRepairFailure = failure;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Leader side of replication

  /**
   * Answers a follower's fetch as leader: checks that it is a replica, checks its last fetched
   * epoch against this log's epoch history (a mismatch is answered with the diverging epoch and
   * no records, KIP-101/KIP-279), reads up to the log end (not the high watermark), then
   * records the follower's position (its fetch offset is its log end), which may advance the high
   * watermark and propose an ISR expansion.
   *
   * @throws PartitionException NOT_LEADER when this replica does not lead; INELIGIBLE_REPLICA when
   *     {@code replicaId} is not a replica of the partition in this broker's image
   * @throws LogException OFFSET_OUT_OF_RANGE when the fetch offset is outside the log
   */
  public FollowerRead readForFollower(int replicaId, long replicaBrokerEpoch, int followerLeaderEpoch, long fetchOffset,
      int lastFetchedEpoch, int maxBytes) throws PartitionException, LogException {
    PartitionImage s = state;
    int epoch = ledEpoch;
    if (s.leaderId() != localNodeId || epoch != s.leaderEpoch()) {
      throw new PartitionException(ErrorCode.NOT_LEADER, "broker " + localNodeId + " is not the leader of " + this);
    }
    if (followerLeaderEpoch >= 0 && followerLeaderEpoch != epoch) {
      throw new PartitionException(followerLeaderEpoch < epoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH,
          "follower " + replicaId + " fetches " + this + " in leader epoch " + followerLeaderEpoch + ", the current is " + epoch);
    }
    if (replicaId == localNodeId || !s.replicas().contains(replicaId)) {
      throw new PartitionException(ErrorCode.INELIGIBLE_REPLICA, "broker " + replicaId + " is not a follower of "
          + this + " (replicas " + s.replicas() + ")");
    }
    EpochEndOffset diverging = divergence(log, fetchOffset, lastFetchedEpoch);
    if (diverging != null) return new FollowerRead(null, diverging, highWatermark, epoch);
    ReadResult read;
    try {
      read = log.read(fetchOffset, maxBytes, Long.MAX_VALUE);
    } catch (CorruptLogException e) {
      throw onCorruption(e);
    }
    LeaderReplicaState.FetchOutcome outcome;
    synchronized (appendLock) {
      // The position counts only for the leadership it was fetched under: a role change in
      // between reset the follower states, and a stale position must not enter the new ones.
      if (ledEpoch != epoch) {
        throw new PartitionException(ErrorCode.NOT_LEADER, "leadership of " + this + " changed during the fetch");
      }
      outcome = leaderState.onFollowerFetch(replicaId, replicaBrokerEpoch, fetchOffset, read.logEndOffset(),
          context.nowMs());
    }
    publishHighWatermark(outcome.newHighWatermark());
    if (outcome.isrChange() != null) sendIsrChange(outcome.isrChange());
    return new FollowerRead(read, null, highWatermark, epoch);
  }

  /**
   * The leader's side of the divergence check: null when a follower whose log ends at
   * {@code fetchOffset} with a last batch of {@code lastFetchedEpoch} agrees with {@code log} so
   * far as the epochs tell; otherwise where that epoch (or the largest before it) ends here. An
   * empty history answers (-1, log start): the follower keeps nothing from there on.
   */
  static EpochEndOffset divergence(PartitionLog log, long fetchOffset, int lastFetchedEpoch) {
    if (lastFetchedEpoch < 0 || fetchOffset <= log.logStartOffset()) return null;
    EpochEndOffset end = log.endOffsetForEpoch(lastFetchedEpoch);
    if (end.endOffset() < 0) end = new EpochEndOffset(-1, log.logStartOffset());
    if (end.epoch() < lastFetchedEpoch || end.endOffset() < fetchOffset) return end;
    return null;
  }

  /** Leader only: the fetch stream of follower {@code replicaId} closed (see {@link LeaderReplicaState#onFollowerDisconnected}). */
  void onFollowerDisconnected(int replicaId) {
    if (ledEpoch >= 0 && isLeader()) leaderState.onFollowerDisconnected(replicaId, context.nowMs());
  }

  /**
   * Elected while catching up: asks the quorum for the ISR without this replica, so that an
   * eligible member leads instead: an active ISR member, or when there is none an active
   * eligible leader replica (which holds every committed record, see
   * PartitionImage#eligibleLeaderReplicas). Nothing is sent when no such replica is active now
   * (the periodic check and the next image try again). Under appendLock.
   */
  private void resignWhileCatchingUpLocked(PartitionImage s, Map<Integer, LeaderReplicaState.BrokerStatus> brokers) {
    List<Integer> others = activeOthers(s.isr(), brokers);
    if (others.isEmpty()) others = activeOthers(s.eligibleLeaderReplicas(), brokers);
    if (others.isEmpty()) return;
    LeaderReplicaState.IsrChange change = new LeaderReplicaState.IsrChange(s.leaderEpoch(), s.partitionEpoch(),
        List.copyOf(others));
    LOG.info("{}: handing leadership on while catching up: proposing ISR {} -> {}", this, s.isr(), others);
    sendIsrChange(change);
  }

  private List<Integer> activeOthers(List<Integer> members, Map<Integer, LeaderReplicaState.BrokerStatus> brokers) {
    List<Integer> out = new java.util.ArrayList<>();
    for (int r : members) {
      LeaderReplicaState.BrokerStatus b = brokers.get(r);
      if (r != localNodeId && b != null && b.eligible()) out.add(r);
    }
    return out;
  }

  /** Leader only: proposes removing lagging or ineligible followers from the ISR. Called periodically. */
  void maybeShrinkIsr() {
    if (mustCatchUp && isLeader()) {
      synchronized (appendLock) {
        if (mustCatchUp && isLeader()) resignWhileCatchingUpLocked(state, lastBrokers);
      }
      return;
    }
    if (ledEpoch < 0 || !isLeader()) return;
    if (corruptFrom >= 0 && leaderState.hasEligibleSuccessor()) {
      maybeResign(); // retried until the quorum moves leadership away
      return;
    }
    // (Nobody to hand over to: keep the ISR honest, or acks=all would wait for a dead member.)
    LeaderReplicaState.IsrChange change = leaderState.maybeShrink(context.nowMs());
    if (change != null) {
      LOG.info("{}: proposing ISR {} -> {} (followers lagging or unavailable)", this, leaderState.isr(), change.newIsr());
      sendIsrChange(change);
    }
  }

  private void sendIsrChange(LeaderReplicaState.IsrChange change) {
    context.sendIsrChange(this, change);
  }

  /**
   * The quorum's answer to an ISR change: the committed ISR (or, after a rejection, when a new
   * proposal may follow) is applied, and the high watermark recomputed over it.
   */
  void onIsrChangeResult(LeaderReplicaState.IsrChange sent, LeaderReplicaState.AlterResult result,
      PartitionImage committed) {
    leaderState.onAlterPartitionResult(sent, result, committed == null ? -1 : committed.partitionEpoch(),
        committed == null ? List.of() : committed.isr(),
        committed == null ? List.of() : committed.eligibleLeaderReplicas(), context.nowMs());
    if (isLeader()) publishHighWatermark(leaderState.maybeAdvanceHighWatermark(log.logEndOffset()));
  }

  /** The leader's bookkeeping (tests and metrics). */
  LeaderReplicaState leaderState() {
    return leaderState;
  }

  // ---------------------------------------------------------------------------------------------
  // Follower side of replication

  /**
   * Appends frames fetched from the leader of {@code leaderEpoch} (see
   * {@link PartitionLog#appendAsFollower}) and moves the high watermark to
   * min(leader's, own log end).
   *
   * @throws PartitionException FENCED_LEADER_EPOCH when this replica's assignment is no longer the
   *     one the fetch was made under (it leads now, or the epoch moved)
   */
  public AppendResult appendAsFollower(int leaderEpoch, ByteString frames, long leaderHighWatermark)
      throws PartitionException, LogException {
    synchronized (appendLock) {
      checkFollowing(leaderEpoch);
      AppendResult result = log.appendAsFollower(frames);
      updateFollowerHighWatermarkLocked(leaderHighWatermark);
      return result;
    }
  }

  /**
   * Cuts the log to {@code offset} after a divergence from the leader of {@code leaderEpoch}
   * (the epoch history is cut with it); the high watermark follows when it was above.
   */
  public void truncateAsFollower(int leaderEpoch, long offset) throws PartitionException, IOException {
    synchronized (appendLock) {
      checkFollowing(leaderEpoch);
      log.truncateTo(offset);
      synchronized (this) {
        highWatermark = Math.min(highWatermark, log.logEndOffset());
      }
    }
  }

  /**
   * Empties the log and restarts it at the leader's log start {@code offset}: this replica's log
   * ends before anything the leader still has (retention moved on while it was away).
   */
  public void restartAsFollower(int leaderEpoch, long offset) throws PartitionException, IOException {
    synchronized (appendLock) {
      checkFollowing(leaderEpoch);
      log.truncateFullyAndStartAt(offset);
      synchronized (this) {
        highWatermark = Math.min(highWatermark, log.logEndOffset());
      }
    }
  }

  /** Moves a follower's high watermark to min(leader's, own log end). */
  public void updateFollowerHighWatermark(int leaderEpoch, long leaderHighWatermark) throws PartitionException {
    synchronized (appendLock) {
      checkFollowing(leaderEpoch);
      updateFollowerHighWatermarkLocked(leaderHighWatermark);
    }
  }

  private void updateFollowerHighWatermarkLocked(long leaderHighWatermark) {
    if (mustCatchUp && log.logEndOffset() >= Math.max(leaderHighWatermark, catchUpTo)) {
      mustCatchUp = false;
      LOG.info("{}: caught up to offset {} after its log was repaired; it may lead again", this, log.logEndOffset());
    }
    long hw = Math.min(leaderHighWatermark, log.logEndOffset());
    boolean moved;
    synchronized (this) {
      moved = hw >= 0 && hw != highWatermark;
      if (moved) highWatermark = hw;
    }
    if (moved) highWatermarkWaiters.fire();
  }

  private void checkFollowing(int leaderEpoch) throws PartitionException {
    PartitionImage s = state;
    if (s.leaderId() == localNodeId || s.leaderEpoch() != leaderEpoch) {
      throw new PartitionException(ErrorCode.FENCED_LEADER_EPOCH, this + " is no longer a follower in leader epoch "
          + leaderEpoch + " (now leader " + s.leaderId() + ", epoch " + s.leaderEpoch() + ")");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Waiting

  /**
   * Runs {@code callback} once, the next time the high watermark moves or leadership changes.
   * Callers re-check their condition after registering (see {@link Waiters}).
   */
  public void awaitHighWatermarkChange(Runnable callback) {
    highWatermarkWaiters.add(callback);
  }

  public void cancelAwait(Runnable callback) {
    highWatermarkWaiters.remove(callback);
    appendWaiters.remove(callback);
  }

  /**
   * Runs {@code callback} once, the next time a batch is appended as leader or leadership
   * changes: what a follower's long poll waits for. Removed by {@link #cancelAwait}.
   */
  public void awaitAppend(Runnable callback) {
    appendWaiters.add(callback);
  }

  // ---------------------------------------------------------------------------------------------
  // Assignment changes

  /** Applies a new assignment from the metadata image (metadata thread only). */
  void update(PartitionImage newState, Map<String, String> effectiveConfig,
      Map<Integer, LeaderReplicaState.BrokerStatus> brokers) {
    synchronized (appendLock) {
      state = newState;
      if (!effectiveConfig.equals(settings.effective())) {
        settings = TopicSettings.of(effectiveConfig);
        log.updateConfig(settings.logConfig());
      }
      applyRole(newState, brokers);
    }
    // Waiting fetches and produces re-evaluate: they may now be answered NOT_LEADER.
    highWatermarkWaiters.fire();
    appendWaiters.fire();
  }

  /**
   * Leader transitions, under appendLock. Becoming leader (or leading in a new epoch): the epoch
   * is recorded at the log end before anything is appended in it, follower states are reset,
   * the high watermark is kept. A newer image of the same leadership updates ISR and partition
   * epoch. Becoming follower needs nothing here: appends as leader are refused from now on and
   * the replica manager points the fetcher at the new leader.
   */
  private void applyRole(PartitionImage s, Map<Integer, LeaderReplicaState.BrokerStatus> brokers) {
    lastBrokers = brokers;
    long now = context.nowMs();
    if (s.leaderId() != localNodeId) {
      if (ledEpoch >= 0) LOG.info("{}: no longer leader (leader {} in epoch {})", this, s.leaderId(), s.leaderEpoch());
      ledEpoch = -1;
      if (s.leaderId() >= 0) repairAsFollowerLocked();
      return;
    }
    if (mustCatchUp) {
      // Elected with a log that may miss committed records: do not lead (see mustCatchUp).
      if (ledEpoch >= 0) LOG.info("{}: no longer leader", this);
      ledEpoch = -1;
      LOG.warn("{}: elected leader in epoch {} while its log, cut at {}, is missing records: serving nothing and"
          + " handing leadership on as soon as another in-sync replica is available", this, s.leaderEpoch(),
          log.logEndOffset());
      resignWhileCatchingUpLocked(s, brokers);
      return;
    }
    if (ledEpoch != s.leaderEpoch()) {
      try {
        log.assignEpoch(s.leaderEpoch());
      } catch (IOException e) {
        LOG.error("{}: cannot record leader epoch {}: {}; not leading", this, s.leaderEpoch(), e.toString());
        ledEpoch = -1;
        return;
      }
      long epochStart = log.epochs().startOffsetOf(s.leaderEpoch());
      if (epochStart < 0) epochStart = log.logEndOffset();
      leaderState.becomeLeader(s.leaderEpoch(), s.partitionEpoch(), s.replicas(), s.isr(), s.eligibleLeaderReplicas(),
          brokers, epochStart,
          highWatermark, now);
      ledEpoch = s.leaderEpoch();
      LOG.info("{}: leader in epoch {} from offset {} (ISR {}, high watermark {})", this, s.leaderEpoch(),
          epochStart, s.isr(), highWatermark);
    } else {
      leaderState.onImage(s.partitionEpoch(), s.replicas(), s.isr(), s.eligibleLeaderReplicas(), brokers, now);
    }
    long hw = leaderState.maybeAdvanceHighWatermark(log.logEndOffset());
    synchronized (this) {
      if (hw > highWatermark) highWatermark = Math.min(hw, log.logEndOffset());
    }
  }

  void close() throws IOException {
    highWatermarkWaiters.fire();
    appendWaiters.fire();
    synchronized (appendLock) {
      checkpointHighWatermark();
      log.close();
    }
  }

  /**
   * Records the high watermark on disk when it moved since the last time (a periodic task and
   * close call this), so a restarted replica of a replicated partition serves what was committed
   * right away instead of waiting for every ISR member to report. Any value written was a true
   * high watermark when written, so starting from it (capped at the recovered log end) is safe.
   */
  void checkpointHighWatermark() throws IOException {
    long hw = highWatermark;
    if (hw == checkpointed || state.replicas().size() <= 1) return;
    HighWatermarkCheckpoint.write(log.dir(), hw);
    checkpointed = hw;
  }

  void delete() throws IOException {
    highWatermarkWaiters.fire();
    appendWaiters.fire();
    synchronized (appendLock) {
      log.delete();
    }
  }

  @Override
  public String toString() {
    return topic + "-" + index;
  }
}
