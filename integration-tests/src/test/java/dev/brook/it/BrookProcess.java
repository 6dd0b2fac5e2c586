package dev.brook.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Brook node in a separate JVM ({@code brook dev} or {@code brook server}), started from this
 * test's class path, so a test can kill it with SIGKILL. Its output is kept in memory (and shown
 * when it fails to start) and, when a log file is given, appended to that file too.
 *
 * <p>Every process still running when the test JVM exits (a test that timed out, an interrupted
 * build) is killed by a shutdown hook, so no node outlives the test run.
 */
final class BrookProcess implements AutoCloseable {
  private static final Pattern READY = Pattern.compile("broker listening on (\\S+),");
  /** Processes started and not yet seen dead, for the shutdown hook. */
  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly),
        "brook-process-reaper"));
  }

  private final Process process;
  private volatile String brokerAddress;

  private BrookProcess(Process process, CompletableFuture<String> ready) {
    this.process = process;
    this.ready = ready;
  }

  /** Starts {@code brook dev --port 0 --data-dir dataDir} and waits until it is ready. */
  static BrookProcess startDev(Path dataDir) throws IOException, InterruptedException {
    return start(null, "dev", "--port", "0", "--data-dir", dataDir.toString()).awaitReady();
  }

  /** Starts {@code brook server --config file}; call {@link #awaitReady()} (the quorum needs a majority). */
  static BrookProcess startServer(Path configFile) throws IOException {
    return start(null, "server", "--config", configFile.toString());
  }

  /** As {@link #startServer(Path)}, appending the node's output to {@code logFile}. */
  static BrookProcess startServer(Path configFile, Path logFile) throws IOException {
    return start(logFile, "server", "--config", configFile.toString());
  }

  private final CompletableFuture<String> ready;

  private static BrookProcess start(Path logFile, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx384m");
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("dev.brook.cli.BrookCli");
    cmd.addAll(List.of(args));
    Writer log = logFile == null ? null : Files.newBufferedWriter(logFile, StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      if (log != null) log.close();
      throw e;
    }
    LIVE.add(p);
    p.onExit().thenRun(() -> LIVE.remove(p));
    if (log != null) log.write("===== brook " + String.join(" ", args) + " (pid " + p.pid() + ") =====\n");
    CompletableFuture<String> ready = new CompletableFuture<>();
    StringBuilder output = new StringBuilder();
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          synchronized (output) {
            output.append(line).append('\n');
          }
          if (log != null) appendQuietly(log, line);
          Matcher m = READY.matcher(line);
          if (m.find()) ready.complete(m.group(1));
        }
      } catch (IOException e) {
        // The process died; the wait below reports it.
      } finally {
        if (log != null) {
          try {
            log.close();
          } catch (IOException e) {
            // Nothing more to write.
          }
        }
      }
      ready.completeExceptionally(new IllegalStateException("brook exited before it was ready:\n" + output));
    }, "brook-process-output");
    reader.setDaemon(true);
    reader.start();
    return new BrookProcess(p, ready);
  }

  /** A failing log file must not stop the reader: the child would block on a full pipe. */
  private static void appendQuietly(Writer log, String line) {
    try {
      log.write(line);
      log.write('\n');
      log.flush();
    } catch (IOException e) {
      // The line is still in memory; the file is best effort.
    }
  }

  /** Waits until the node printed that its broker is ready, and returns this. */
  BrookProcess awaitReady() throws InterruptedException {
    try {
      brokerAddress = ready.get(90, TimeUnit.SECONDS);
      return this;
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      kill9();
      throw new IllegalStateException("brook did not become ready: " + e.getMessage(), e);
    }
  }

  String brokerAddress() {
    return brokerAddress;
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** SIGKILL: no shutdown hook runs, nothing is flushed by the JVM. */
  void kill9() {
    process.destroyForcibly();
    try {
      process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** SIGTERM (controlled shutdown), then SIGKILL if it does not exit within 30 s. */
  @Override
  public void close() {
    if (!process.isAlive()) return;
    process.destroy();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) kill9();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      kill9();
    }
  }
}
