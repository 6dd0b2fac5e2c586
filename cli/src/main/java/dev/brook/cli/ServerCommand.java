package dev.brook.cli;

import dev.brook.broker.server.ConfigException;
import dev.brook.broker.server.NodeConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "server", description = "Start a cluster node with the roles and addresses of a config file.")
final class ServerCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--config", required = true, paramLabel = "FILE", description = "The node's properties file.")
  Path configFile;

  @Option(names = {"-v", "--verbose"}, description = "Debug logging.")
  boolean verbose;

  @Override
  public Integer call() throws Exception {
    if (!Files.isRegularFile(configFile)) {
      throw new Failures.CliException("config file " + configFile + " does not exist");
    }
    NodeConfig config;
    try {
      config = NodeConfig.load(configFile);
    } catch (ConfigException e) {
      // Already "FILE:LINE: what is wrong" (or "FILE: ..." when no single line is at fault).
      throw new Failures.CliException(e.getMessage());
    }
    return NodeRunner.run(config, spec.commandLine().getOut(), e -> config.locate(e).getMessage());
  }
}
