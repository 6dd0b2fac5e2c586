package dev.brook.cli;

/**
 * Sets up slf4j-simple before the first logger exists. Servers log at info; client commands stay
 * quiet (warnings only) so their stdout/stderr belong to the user; {@code --verbose} raises both.
 */
final class Logging {
  private Logging() {}

  static void configure(String[] args) {
    boolean server = args.length > 0 && (args[0].equals("dev") || args[0].equals("server"));
    boolean verbose = false;
    for (String a : args) {
      if (a.equals("--verbose") || a.equals("-v")) verbose = true;
    }
    String level = verbose ? "debug" : server ? "info" : "warn";
    setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", level);
    setIfAbsent("org.slf4j.simpleLogger.log.org.apache.ratis", verbose ? "info" : "warn");
    setIfAbsent("org.slf4j.simpleLogger.log.io.grpc", verbose ? "info" : "warn");
    setIfAbsent("org.slf4j.simpleLogger.log.io.netty", "warn");
    setIfAbsent("org.slf4j.simpleLogger.log.org.apache.ratis.thirdparty", "warn");
    // Ratis's client logs every failed attempt of a request it is about to retry (no leader yet,
    // leader changed) as an ERROR with a stack trace; Brook reports requests that finally fail.
    setIfAbsent("org.slf4j.simpleLogger.log.org.apache.ratis.client.impl.OrderedAsync", verbose ? "debug" : "off");
    // A client that goes away with responses still queued (a consumer killed, a stream cancelled)
    // makes gRPC's Netty server log "Stream Error ... Stream closed before write could take place"
    // as a WARN with a stack trace, per queued response: an expected condition for a server.
    setIfAbsent("org.slf4j.simpleLogger.log.io.grpc.netty.shaded.io.grpc.netty.NettyServerHandler", verbose ? "debug" : "error");
    setIfAbsent("org.slf4j.simpleLogger.showDateTime", "true");
    setIfAbsent("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSS");
    setIfAbsent("org.slf4j.simpleLogger.showShortLogName", "true");
    setIfAbsent("org.slf4j.simpleLogger.logFile", "System.err");
    // gRPC and Ratis's shaded gRPC log through java.util.logging: route it to the same place.
    org.slf4j.bridge.SLF4JBridgeHandler.removeHandlersForRootLogger();
    org.slf4j.bridge.SLF4JBridgeHandler.install();
  }

  private static void setIfAbsent(String key, String value) {
    if (System.getProperty(key) == null) System.setProperty(key, value);
  }
}
