package dev.brook.cli;

import picocli.CommandLine.Option;

/** Options of every command that talks to a running cluster. */
final class ClientOptions {
  @Option(names = "--bootstrap-server", defaultValue = "localhost:9092", paramLabel = "HOST:PORT[,HOST:PORT...]",
      description = "Brokers to contact first, comma-separated (default: ${DEFAULT-VALUE}).")
  String bootstrapServer;

  @Option(names = {"-v", "--verbose"}, description = "Log what the client does (on stderr).")
  boolean verbose;
}
