package dev.brook.quorum;

import dev.brook.proto.v1.ErrorCode;

/**
 * The quorum leader refused a broker registration for good: retrying cannot help, the node must
 * stop (its message is one line for the operator, naming both node incarnations or both cluster ids).
 */
public final class RegistrationRefusedException extends QuorumException {
  private static final long serialVersionUID = 1L;

  /** Why the registration was refused. */
  public enum Reason {
    /** Another live node holds this node id (another incarnation with a live lease). */
    NODE_ID_IN_USE,
    /** The node's data dir belongs to another cluster than this quorum. */
    CLUSTER_ID_MISMATCH
  }

  private final Reason reason;

  public RegistrationRefusedException(Reason reason, String message) {
    super(ErrorCode.INVALID_REQUEST, message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
