package dev.brook.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code bin/brook}: one command for running nodes, administering topics, and producing and
 * consuming from a terminal. Every subcommand exits 0 on success and otherwise prints one
 * {@code error: ...} line on stderr and exits non-zero (1 for failures, 2 for usage errors).
 */
@Command(name = "brook",
    mixinStandardHelpOptions = true,
    scope = CommandLine.ScopeType.INHERIT, // --help and --version on every subcommand too
    versionProvider = BrookCli.Version.class,
    description = "Brook: a Raft-replicated event streaming platform on gRPC.",
    subcommands = {
        DevCommand.class,
        ServerCommand.class,
        TopicsCommand.class,
        GroupsCommand.class,
        ProduceCommand.class,
        ConsumeCommand.class,
        PerfCommand.class,
        ClusterCommand.class,
        LogCommand.class,
        CommandLine.HelpCommand.class
    })
public final class BrookCli implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required (see brook --help)");
  }

  public static void main(String[] args) {
    Logging.configure(args);
    System.exit(execute(args));
  }

  /** Runs the command line and returns the exit code (used by tests). */
  public static int execute(String... args) {
    return commandLine().execute(args);
  }

  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new BrookCli());
    cl.setExecutionExceptionHandler(new Failures.ExecutionHandler());
    cl.setParameterExceptionHandler(new Failures.ParameterHandler());
    return cl;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = BrookCli.class.getPackage().getImplementationVersion();
      return new String[] {"brook " + (v == null ? "dev" : v)};
    }
  }
}
