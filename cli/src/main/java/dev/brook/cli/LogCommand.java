package dev.brook.cli;

import dev.brook.broker.log.LogRepair;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Offline tools for partition log directories (the node that owns them must be stopped). */
@Command(name = "log", description = "Offline tools for a partition's log directory.",
    subcommands = {LogCommand.Repair.class})
final class LogCommand implements Runnable {
  @Spec
  CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: repair");
  }

  @Command(name = "repair", description = {
      "Cut a partition's log before a damaged batch, so that the partition can be opened again.",
      "Use it when the broker refuses to open a partition that has no other replica and names this",
      "command. The segment holding the cut is copied aside (<segment>.log.corrupt-<time>) and every",
      "later segment renamed aside (<segment>.log.detached-<time>): nothing is deleted. Stop the node",
      "that owns the directory first."})
  static final class Repair implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--dir", required = true, description = "The partition directory, <data.dir>/logs/<topic>-<partition>.")
    Path dir;

    @Option(names = "--truncate-at", required = true, paramLabel = "OFFSET",
        description = "The first offset to set aside: the base offset of the damaged batch.")
    long offset;

    @Override
    public Integer call() throws IOException {
      if (!Files.isDirectory(dir)) throw new Failures.CliException(dir + " is not a directory");
      if (offset < 0) throw new Failures.CliException("--truncate-at must be >= 0, got " + offset);
      LogRepair.Result r = LogRepair.truncateAt(dir, offset);
      PrintWriter out = spec.commandLine().getOut();
      out.println("Log " + dir + " now ends at offset " + r.offset() + "; set aside " + r.bytesSetAside()
          + " bytes in " + r.segmentsSetAside() + " segment(s) (*.corrupt-" + r.stamp() + ", *.detached-" + r.stamp()
          + "). Start the node to bring the partition back.");
      out.flush();
      return 0;
    }
  }
}
