package dev.brook.broker.server;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Before a node creates anything (data dir, quorum state, logs): every address it will listen on
 * can be bound. A port in use is then one line naming the config key and address
 * ({@code quorum.address 127.0.0.1:9093 is already in use ...}), instead of a Ratis or Netty stack
 * trace after half of the node has started.
 */
final class PortCheck {
  private PortCheck() {}

  /** @throws ConfigException naming the key and address that cannot be bound */
  static void ensureBindable(NodeConfig config) {
    Map<String, HostPort> listens = new LinkedHashMap<>();
    if (config.hasRole(NodeConfig.Role.BROKER)) listens.put(NodeConfig.BROKER_ADDRESS, config.brokerAddress());
    if (config.hasRole(NodeConfig.Role.QUORUM)) listens.put(NodeConfig.QUORUM_ADDRESS, config.quorumAddress());
    HostPort broker = listens.get(NodeConfig.BROKER_ADDRESS);
    HostPort quorum = listens.get(NodeConfig.QUORUM_ADDRESS);
    if (broker != null && quorum != null && broker.port() != 0 && broker.port() == quorum.port()) {
      throw new ConfigException(NodeConfig.QUORUM_ADDRESS, NodeConfig.QUORUM_ADDRESS + " " + quorum
          + " uses the same port as " + NodeConfig.BROKER_ADDRESS + " " + broker + "; give each its own port");
    }
    for (Map.Entry<String, HostPort> e : listens.entrySet()) {
      if (e.getValue().port() != 0) probe(e.getKey(), e.getValue());   // 0: any free port, always bindable
    }
  }

  private static void probe(String key, HostPort address) {
    InetAddress host;
    try {
      host = InetAddress.getByName(address.host());
    } catch (UnknownHostException e) {
      throw new ConfigException(key, key + " " + address + ": unknown host '" + address.host() + "'");
    }
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(host, address.port()));
    } catch (BindException e) {
      throw new ConfigException(key, describe(key, address, e.getMessage()));
    } catch (IOException e) {
      throw new ConfigException(key, key + " " + address + " cannot be bound: " + e.getMessage());
    }
  }

  /** The message for a bind that failed: in use, not an address of this machine, or privileged. */
  static String describe(String key, HostPort address, String bindError) {
    String m = bindError == null ? "" : bindError;
    if (m.contains("in use")) {
      return key + " " + address + " is already in use (another Brook node, or another program, listens there)";
    }
    if (m.contains("assign requested address")) {
      return key + " " + address + " cannot be bound: " + address.host() + " is not an address of this machine";
    }
    if (m.contains("ermission")) {
      return key + " " + address + " cannot be bound: permission denied (ports below 1024 need privileges)";
    }
    return key + " " + address + " cannot be bound: " + m;
  }
}
