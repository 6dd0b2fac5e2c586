package dev.brook.cli;

import dev.brook.broker.server.BrookNode;
import dev.brook.broker.server.ConfigException;
import dev.brook.broker.server.NodeConfig;
import java.io.PrintWriter;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;

/** Runs a node in the foreground until the process is interrupted (Ctrl-C or SIGTERM). */
final class NodeRunner {
  private NodeRunner() {}

  /**
   * @param explain turns a start-up ConfigException (e.g. a port in use) into the one-line error,
   *     in the terms the user gave the setting in (a file line, a command-line option)
   */
  static int run(NodeConfig config, PrintWriter out, Function<ConfigException, String> explain) throws Exception {
    BrookNode node;
    try {
      node = BrookNode.start(config);
    } catch (ConfigException e) {
      throw new Failures.CliException(explain.apply(e));
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      node.close();
      stopped.countDown();
    }, "brook-shutdown"));
    if (!node.ready().isDone()) {
      out.println("Brook node " + config.nodeId() + " started; waiting for the metadata quorum ("
          + (config.voters().size() / 2 + 1) + " of " + config.voters().size() + " voters must be up) ...");
      out.flush();
    }
    try {
      node.ready().join();
    } catch (java.util.concurrent.CompletionException e) {
      if (e.getCause() instanceof ConfigException refused) {
        // Refused by the metadata quorum (duplicate node.id, data dir of another cluster): exit
        // (the shutdown hook stops the node).
        throw new Failures.CliException(refused.getMessage());
      }
      stopped.await();
      return 0;
    }
    if (node.brokerAddress() != null) {
      out.println("Brook node " + config.nodeId() + " is ready: broker listening on " + node.brokerAddress()
          + ", data in " + config.dataDir().toAbsolutePath().normalize());
    } else {
      out.println("Brook node " + config.nodeId() + " is ready: quorum peer on " + config.quorumAddress()
          + ", data in " + config.dataDir().toAbsolutePath().normalize());
    }
    out.flush();
    stopped.await();
    return 0;
  }
}
