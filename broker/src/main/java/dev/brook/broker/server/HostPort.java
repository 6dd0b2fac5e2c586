package dev.brook.broker.server;

/** A host:port pair from the config. Port 0 means "any free port" (tests and dev quorum). */
public record HostPort(String host, int port) {
  static HostPort parse(String key, String value) {
    String v = value.trim();
    int colon = v.lastIndexOf(':');
    if (colon <= 0 || colon == v.length() - 1) {
      throw new ConfigException(key, key + " must be host:port, got '" + value + "'");
    }
    int port;
    try {
      port = Integer.parseInt(v.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new ConfigException(key, key + " has a non-numeric port in '" + value + "'");
    }
    if (port < 0 || port > 65535) {
      throw new ConfigException(key, key + " port must be between 0 and 65535, got " + port);
    }
    return new HostPort(v.substring(0, colon), port);
  }

  @Override
  public String toString() {
    return host + ":" + port;
  }
}
