package dev.brook.client;

/** Thrown by a {@link Consumer} call blocked in {@link Consumer#poll} after {@link Consumer#wakeup}. */
public class WakeupException extends RuntimeException {
  public WakeupException() {
    super("consumer woken up");
  }
}
