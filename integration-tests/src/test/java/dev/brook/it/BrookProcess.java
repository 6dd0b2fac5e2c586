package dev.brook.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Brook node in a separate JVM ({@code brook dev}), started from this test's class path, so a
 * test can kill it with SIGKILL. Its output goes to a file in the data dir's parent.
 */
final class BrookProcess implements AutoCloseable {
  private static final Pattern READY = Pattern.compile("broker listening on (\\S+),");

  private final Process process;
  private volatile String brokerAddress;

  private BrookProcess(Process process, CompletableFuture<String> ready) {
    this.process = process;
    this.ready = ready;
  }

  /** Starts {@code brook dev --port 0 --data-dir dataDir} and waits until it is ready. */
  static BrookProcess startDev(Path dataDir) throws IOException, InterruptedException {
    return start("dev", "--port", "0", "--data-dir", dataDir.toString()).awaitReady();
  }

  /** Starts {@code brook server --config file}; call {@link #awaitReady()} (the quorum needs a majority). */
  static BrookProcess startServer(Path configFile) throws IOException {
    return start("server", "--config", configFile.toString());
  }

  private final CompletableFuture<String> ready;

  private static BrookProcess start(String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx384m");
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("dev.brook.cli.BrookCli");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    CompletableFuture<String> ready = new CompletableFuture<>();
    StringBuilder output = new StringBuilder();
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          synchronized (output) {
            output.append(line).append('\n');
          }
          Matcher m = READY.matcher(line);
          if (m.find()) ready.complete(m.group(1));
        }
      } catch (IOException e) {
        // The process died; the wait below reports it.
      }
      ready.completeExceptionally(new IllegalStateException("brook exited before it was ready:\n" + output));
    }, "brook-process-output");
    reader.setDaemon(true);
    reader.start();
    return new BrookProcess(p, ready);
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
