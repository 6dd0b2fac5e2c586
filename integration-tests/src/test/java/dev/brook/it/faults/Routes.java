package dev.brook.it.faults;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.Map;

/**
 * The routing table of a node process in a fault run: the system property
 * {@value #PROPERTY} = {@code port=proxyPort,...} maps each peer's real port (broker and Ratis)
 * on 127.0.0.1 to the {@link TcpProxy} that stands between this node and that peer. The routing
 * name resolvers ({@link RoutingNameResolverProvider}, {@link RatisRoutingNameResolverProvider})
 * apply it to every gRPC channel the node opens (replication fetches, its metadata client, Ratis
 * peer traffic), so the nemesis can cut a node off its peers while clients, which use the real
 * addresses, still reach it. Only node processes of a fault run load these resolvers.
 */
final class Routes {
  static final String PROPERTY = "brook.faults.routes";
  private static final Map<Integer, Integer> TABLE = parse(System.getProperty(PROPERTY, ""));

  private Routes() {}

  static Map<Integer, Integer> parse(String spec) {
    Map<Integer, Integer> m = new HashMap<>();
    for (String e : spec.split(",")) {
      if (e.isBlank()) continue;
      String[] kv = e.trim().split("=");
      m.put(Integer.parseInt(kv[0]), Integer.parseInt(kv[1]));
    }
    return m;
  }

  /** The authority ({@code host:port}) of a {@code dns:///host:port} or {@code host:port} target. */
  static String authority(URI target) {
    String path = target.getPath();
    if (target.getAuthority() != null && (path == null || path.isEmpty() || path.equals("/"))) return target.getAuthority();
    return path != null && path.startsWith("/") ? path.substring(1) : path;
  }

  /** Where a connection to {@code authority} really goes. */
  static InetSocketAddress resolve(String authority) throws UnknownHostException {
    int colon = authority.lastIndexOf(':');
    String host = authority.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
    int port = Integer.parseInt(authority.substring(colon + 1));
    InetAddress address = InetAddress.getByName(host);
    Integer proxy = address.isLoopbackAddress() ? TABLE.get(port) : null;
    return new InetSocketAddress(address, proxy != null ? proxy : port);
  }
}
