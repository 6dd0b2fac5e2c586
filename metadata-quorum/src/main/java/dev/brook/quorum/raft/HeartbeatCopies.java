package dev.brook.quorum.raft;

import dev.brook.quorum.proto.QuorumRequest;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftPeerId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a copy of each broker heartbeat to every voter ({@code heartbeat_copy} in quorum.proto),
 * so that each voter knows when it last heard from each broker should it become leader: without
 * it, a new leader gives every broker a whole session from its election, and a broker that died
 * together with the previous leader keeps its partitions leaderless for the election time on top
 * of its session.
 *
 * <p>Best effort, and kept apart from every call that matters:
 * <ul>
 *   <li>each voter has its own Ratis client (a stale read addressed to it, no retries), in its own
 *       {@link ReconnectingClient}: a dead or paused voter breaks only the client of its copies,
 *       never the one that carries heartbeats, writes and reads to the leader;
 *   <li>at most one copy per voter is unanswered: while one is, the next is skipped, so a voter
 *       that does not answer costs one request per client timeout, not one per heartbeat;
 *   <li>the outcome is ignored (logged at debug); the leader's own heartbeat decides everything.
 * </ul>
 * Thread-safe.
 */
public final class HeartbeatCopies implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HeartbeatCopies.class);

  private final Map<RaftPeerId, ReconnectingClient<RaftClient>> clients;
  private final Set<RaftPeerId> unanswered = ConcurrentHashMap.newKeySet();

  /** @param clients one client per voter, used only for that voter's copies; closed by {@link #close} */
  public HeartbeatCopies(Map<RaftPeerId, ReconnectingClient<RaftClient>> clients) {
    this.clients = Map.copyOf(clients);
  }

  /** Sends {@code copy} to every voter whose previous copy was answered (or failed). */
  public void send(QuorumRequest copy) {
    Message message = QuorumCalls.toMessage(copy);
    for (Map.Entry<RaftPeerId, ReconnectingClient<RaftClient>> e : clients.entrySet()) {
      RaftPeerId voter = e.getKey();
      if (!unanswered.add(voter)) continue;
      CompletableFuture<RaftClientReply> sent;
      try {
        sent = e.getValue().call(c -> c.async().sendStaleRead(message, 0, voter));
      } catch (RuntimeException ex) {
        sent = CompletableFuture.failedFuture(ex);
      }
      sent.whenComplete((r, ex) -> {
        unanswered.remove(voter);
        if (ex != null || (r != null && !r.isSuccess())) {
          LOG.debug("heartbeat copy to voter {} failed: {}", voter, ex != null ? ex.toString() : r.getException());
        }
      });
    }
  }

  /** Closes every voter's client (ReconnectingClient.close logs its own failures and never throws). */
  @Override
  public void close() {
    clients.values().forEach(ReconnectingClient::close);
  }
}
