package dev.brook.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/** Argument handling and the one-line error contract, without a running cluster. */
@Timeout(30)
class BrookCliTest {
  private record Run(int exitCode, String out, String err) {}

  private static Run run(String... args) {
    CommandLine cl = BrookCli.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void usageErrorsAreOneLineWithExitCode2() {
    Run r = run("topics", "create");
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err().strip()).startsWith("error: ").contains("--topic").doesNotContain("\n");

    r = run("frobnicate");
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err().strip()).startsWith("error: ").doesNotContain("\n");
  }

  @Test
  void aBrokerThatIsNotThereIsOneLineWithExitCode1() {
    Run r = run("topics", "list", "--bootstrap-server", "127.0.0.1:1");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err().strip()).startsWith("error: ").contains("127.0.0.1:1").doesNotContain("\n");
  }

  @Test
  void badValuesAreRejectedBeforeAnythingIsSent() {
    Run r = run("consume", "--topic", "t", "--offset", "5", "--bootstrap-server", "127.0.0.1:1");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err()).contains("--offset needs --partition");

    r = run("perf", "produce", "--topic", "t", "--num-records", "0", "--record-size", "10", "--throughput", "-1");
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err()).contains("--num-records");
  }

  @Test
  void everySubcommandHasHelpEvenWithRequiredOptionsMissing() {
    for (String[] args : new String[][] {{"perf", "produce", "--help"}, {"cluster", "describe", "--help"},
        {"topics", "create", "-h"}, {"produce", "--help"}}) {
      Run r = run(args);
      assertThat(r.exitCode()).as(String.join(" ", args)).isZero();
      assertThat(r.out()).as(String.join(" ", args)).startsWith("Usage: brook " + args[0]).contains("--help");
    }
  }

  @Test
  void helpListsTheCommands() {
    Run r = run("--help");
    assertThat(r.exitCode()).isZero();
    assertThat(r.out()).contains("dev", "server", "topics", "produce", "consume", "perf", "cluster");
  }
}
