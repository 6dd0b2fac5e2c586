package dev.brook.broker.server;

/** A node configuration that cannot be used. The message names the key and fits on one line. */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }
}
