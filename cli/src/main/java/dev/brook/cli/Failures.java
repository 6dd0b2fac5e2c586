package dev.brook.cli;

import dev.brook.client.BrookException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine;

/** Turns every failure into one {@code error: ...} line and an exit code. */
final class Failures {
  static final int FAILURE = 1;
  static final int USAGE = 2;

  private Failures() {}

  /** A failure the command already knows how to describe in one line. */
  static final class CliException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    CliException(String message) {
      super(message);
    }
  }

  static String describe(Throwable e) {
    Throwable t = e;
    while ((t instanceof CompletionException || t instanceof ExecutionException
        || t instanceof java.lang.reflect.UndeclaredThrowableException) && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof BrookException be) {
      String msg = be.getMessage() == null ? "" : be.getMessage();
      if (be.isTransport()) {
        return msg + " (is a node running there? see --bootstrap-server)";
      }
      return msg.contains(be.code().name()) ? msg : msg + " (" + be.code() + ")";
    }
    if (t instanceof StatusRuntimeException sre) {
      Status s = sre.getStatus();
      if (s.getCode() == Status.Code.UNAVAILABLE) {
        return "cannot reach the broker" + (s.getDescription() == null ? "" : ": " + s.getDescription())
            + " (is a node running? see --bootstrap-server)";
      }
      if (s.getCode() == Status.Code.DEADLINE_EXCEEDED) {
        return "the broker did not answer in time";
      }
      return s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
    }
    String msg = t.getMessage();
    return msg == null || msg.isBlank() ? t.getClass().getSimpleName() : msg;
  }

  static final class ExecutionHandler implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
      PrintWriter err = cl.getErr();
      err.println("error: " + describe(ex).replace('\n', ' '));
      err.flush();
      if (Boolean.getBoolean("brook.cli.trace")) ex.printStackTrace(err);
      return FAILURE;
    }
  }

  static final class ParameterHandler implements CommandLine.IParameterExceptionHandler {
    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
      PrintWriter err = ex.getCommandLine().getErr();
      err.println("error: " + ex.getMessage().replace('\n', ' ') + " (see '"
          + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
      err.flush();
      return USAGE;
    }
  }
}
