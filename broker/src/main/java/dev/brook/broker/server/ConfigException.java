package dev.brook.broker.server;

/**
 * A node configuration that cannot be used. The message names the key and fits on one line;
 * {@link #key()} is the config key at fault (null when none is), so that a config file's loader
 * can point at the line that set it.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String key;

  public ConfigException(String message) {
    this(null, message);
  }

  public ConfigException(String key, String message) {
    super(message);
    this.key = key;
  }

  /** The config key this is about, or null. */
  public String key() {
    return key;
  }
}
