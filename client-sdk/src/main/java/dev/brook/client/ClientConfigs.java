package dev.brook.client;

import java.util.ArrayList;
import java.util.List;

/** Validation helpers shared by the config builders. */
final class ClientConfigs {
  private ClientConfigs() {}

  static List<String> parseServers(String servers) {
    if (servers == null) throw new IllegalArgumentException("bootstrapServers must be set");
    List<String> out = new ArrayList<>();
    for (String s : servers.split(",")) {
      if (!s.isBlank()) out.add(s.trim());
    }
    return checkServers(out);
  }

  static List<String> checkServers(List<String> servers) {
    if (servers == null || servers.isEmpty()) {
      throw new IllegalArgumentException("bootstrapServers must name at least one host:port");
    }
    for (String s : servers) {
      int colon = s.lastIndexOf(':');
      if (colon <= 0 || colon == s.length() - 1) {
        throw new IllegalArgumentException("bootstrap server '" + s + "' is not host:port");
      }
      try {
        int port = Integer.parseInt(s.substring(colon + 1));
        if (port < 1 || port > 65535) throw new NumberFormatException();
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("bootstrap server '" + s + "' has an invalid port");
      }
    }
    return List.copyOf(servers);
  }

  static int positive(String name, int value) {
    if (value <= 0) throw new IllegalArgumentException(name + " must be > 0, got " + value);
    return value;
  }

  static long positive(String name, long value) {
    if (value <= 0) throw new IllegalArgumentException(name + " must be > 0, got " + value);
    return value;
  }

  static int nonNegative(String name, int value) {
    if (value < 0) throw new IllegalArgumentException(name + " must be >= 0, got " + value);
    return value;
  }

  static long nonNegative(String name, long value) {
    if (value < 0) throw new IllegalArgumentException(name + " must be >= 0, got " + value);
    return value;
  }
}
