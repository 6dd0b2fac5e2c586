package dev.brook.quorum.raft;


/**
 * Thrown to a caller of a leader-only duty (a heartbeat, the heartbeat ages, later a group's
 * coordinator check) on a node that is not, or not yet, the ready Raft leader with its duties
 * active. Callers retry it briefly: a leader just elected activates its duties within moments.
 * Over the network it arrives as a StateMachineException whose message contains
 * {@link #MARKER}.
 */
public final class NotActiveLeaderException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The text that identifies this refusal in a remote reply's message. */
  public static final String MARKER = "not the active metadata controller";

  public NotActiveLeaderException(int nodeId) {
    super("node " + nodeId + " is " + MARKER);
  }

  /** Whether {@code e} or one of its causes is this refusal, local or remote. */
  public static boolean isCauseOf(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof NotActiveLeaderException) return true;
      if (t instanceof org.apache.ratis.protocol.exceptions.StateMachineException
          && String.valueOf(t.getMessage()).contains(MARKER)) {
        return true;
      }
      if (t.getCause() == t) break;
    }
    return false;
  }
}
