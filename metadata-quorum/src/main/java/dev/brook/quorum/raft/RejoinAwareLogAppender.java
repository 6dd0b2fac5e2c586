package dev.brook.quorum.raft;

import dev.brook.quorum.MetadataQuorum;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.grpc.server.GrpcLogAppender;
import org.apache.ratis.rpc.RpcFactory;
import org.apache.ratis.rpc.RpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;
import org.apache.ratis.server.leader.LogAppender;
import org.apache.ratis.server.raftlog.RaftLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ratis' GRPC log appender (the leader's sender to one follower) that also serves a follower
 * which lost its storage, e.g. a voter restarted with an empty data directory under the same
 * node id and address while the same Raft leader stays in place.
 *
 * <p><b>The problem (Ratis 3.3.0).</b> A wiped voter starts with {@code StartupOption.FORMAT}
 * (its Raft directory is gone) and the full voter group: an empty log, term 0, no vote. That part
 * is right; it is what a new voter looks like. But the leader keeps the follower's
 * {@code FollowerInfo} from before the wipe, and its {@code matchIndex} only ever grows
 * ({@code updateToMax}: in Raft a follower never loses an entry it acknowledged). The follower
 * truthfully answers every append with {@code INCONSISTENCY, nextIndex=0}, and
 * {@code LogAppenderBase.getNextIndexForInconsistency} overrides that hint with the stale
 * {@code matchIndex + 1} unless the reply belongs to a request that started exactly there; the
 * GRPC appender clears its pending requests on each inconsistency, so later replies have no
 * request and the clamp always wins. The leader then loops forever sending entries after
 * {@code matchIndex} (or heartbeats whose previous entry is {@code matchIndex}) to a follower that
 * has none of them: it never catches up, even though every entry is still in the leader's log.
 * When the leader happened to purge its log past the old {@code matchIndex}, the stale
 * {@code nextIndex} is below the log start and the snapshot is shipped by luck, which is why a
 * merely lagging follower, or a wipe after a later purge, works. The same loop is described for
 * Ratis as RATIS-2523 (ArcadeDB hit it with an idle cluster). A new leader would start with a fresh
 * {@code FollowerInfo} ({@code matchIndex = -1}) and recover the follower, but nothing makes the
 * leader step down, and it should not have to.
 *
 * <p><b>What this class changes.</b> An inconsistency reply whose {@code nextIndex} is at or below
 * the follower's {@code matchIndex} says the follower's log now ends before an entry it
 * acknowledged to this leader: that cannot happen with intact storage (acknowledged entries are
 * synced, and entries matching the leader's log are never truncated), so the follower lost its
 * log. The appender then believes the follower: {@code matchIndex} goes back to -1 (via
 * {@code setSnapshotIndex(-1)}, the only {@code FollowerInfo} call that may lower it) and
 * {@code nextIndex} to the follower's hint. From there Ratis' own logic does the rest: if the
 * leader still has the entries it replicates them from the log; if its log starts after the
 * follower's next index it installs its latest snapshot (a RocksDB checkpoint, see
 * {@link SnapshotStore}), which {@link QuorumStateMachine#reinitialize} restores into the
 * follower's empty database, and the log after it follows. Every other reply keeps Ratis'
 * behaviour.
 *
 * <p>Why this is safe: lowering {@code matchIndex} only makes the leader more conservative (the
 * commit index never goes back; a follower that really had the entries answers SUCCESS and its
 * {@code matchIndex} rises again). A spurious trigger, e.g. a late reply from a replaced stream,
 * costs one round trip of resent entries that the follower already has. The leader's record of
 * the follower's commit index stays stale until the follower passes it again; Brook reads it
 * nowhere. What no appender can fix: a wiped voter forgot its vote and the entries it
 * acknowledged, so wiping more than a minority, or wiping a voter whose acknowledgment made an
 * entry committed while another voter lagged, can lose committed entries. Wipe one voter at a
 * time and let it catch up first.
 *
 * <p>Wiring: Ratis creates log appenders through its RPC factory, chosen by the property
 * {@code raft.rpc.type}, which may name an {@link RpcType} class: {@link Type} is GRPC with this
 * appender ({@link MetadataQuorum} sets it). Clients are unaffected (they use plain GRPC).
 */
public final class RejoinAwareLogAppender extends GrpcLogAppender {
  private static final Logger LOG = LoggerFactory.getLogger(RejoinAwareLogAppender.class);

  RejoinAwareLogAppender(RaftServer.Division server, LeaderState leaderState, FollowerInfo follower) {
    super(server, leaderState, follower);
  }

  @Override
  protected long getNextIndexForInconsistency(long requestFirstIndex, long replyNextIndex) {
    FollowerInfo follower = getFollower();
    long matchIndex = follower.getMatchIndex();
    if (replyNextIndex > RaftLog.INVALID_LOG_INDEX && replyNextIndex <= matchIndex) {
      LOG.warn("{}: follower {} reports next index {} but had acknowledged up to {}: it lost its log (wiped or replaced"
          + " storage); resending from its next index, or the snapshot if the log no longer has it", this,
          follower.getId(), replyNextIndex, matchIndex);
      follower.setSnapshotIndex(RaftLog.INVALID_LOG_INDEX); // matchIndex := -1, nextIndex := 0
      return replyNextIndex;
    }
    return super.getNextIndexForInconsistency(requestFirstIndex, replyNextIndex);
  }

  /** The GRPC transport with {@link RejoinAwareLogAppender}: the value of {@code raft.rpc.type}. */
  public static final class Type implements RpcType {
    /** Instantiated by Ratis from the class name. */
    public Type() {}

    @Override
    public String name() {
      return Type.class.getName();
    }

    @Override
    public RpcFactory newFactory(Parameters parameters) {
      return new Factory(parameters);
    }
  }

  private static final class Factory extends GrpcFactory {
    Factory(Parameters parameters) {
      super(parameters);
    }

    @Override
    public LogAppender newLogAppender(RaftServer.Division server, LeaderState state, FollowerInfo follower) {
      return new RejoinAwareLogAppender(server, state, follower);
    }
  }
}
