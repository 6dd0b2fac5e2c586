package dev.brook.cli;

import dev.brook.broker.server.ConfigException;
import dev.brook.broker.server.NodeConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "dev", description = "Start a single-node cluster (quorum and broker in one process) for development.")
final class DevCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--data-dir", defaultValue = "data", paramLabel = "DIR",
      description = "Where to keep logs and metadata (default: ./${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(names = "--port", defaultValue = "9092", description = "Broker port on 127.0.0.1 (default: ${DEFAULT-VALUE}); "
      + "the quorum peer uses the next port. 0 picks free ports (printed when ready).")
  int port;

  @Option(names = {"-v", "--verbose"}, description = "Debug logging.")
  boolean verbose;

  @Override
  public Integer call() throws Exception {
    if (port < 0 || port > 65534) {
      throw new Failures.CliException("--port must be between 0 and 65534, got " + port);
    }
    NodeConfig config;
    try {
      config = NodeConfig.dev(dataDir, port, Map.of());
    } catch (ConfigException e) {
      throw new Failures.CliException(e.getMessage());
    }
    return NodeRunner.run(config, spec.commandLine().getOut(), this::explain);
  }

  /** dev has no config file: name the option that chose the port. */
  private String explain(ConfigException e) {
    if (NodeConfig.BROKER_ADDRESS.equals(e.key()) && e.getMessage().contains("in use")) {
      return "port " + port + " (--port, the broker) on 127.0.0.1 is already in use: is another Brook node running?"
          + " choose another port with --port";
    }
    if (NodeConfig.QUORUM_ADDRESS.equals(e.key()) && e.getMessage().contains("in use")) {
      return "port " + (port + 1) + " (--port + 1, the quorum peer) on 127.0.0.1 is already in use: is another Brook"
          + " node running? choose another port with --port";
    }
    return e.getMessage();
  }
}
