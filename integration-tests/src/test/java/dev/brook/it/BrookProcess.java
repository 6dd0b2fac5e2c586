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
  private final String brokerAddress;

  private BrookProcess(Process process, String brokerAddress) {
    this.process = process;
    this.brokerAddress = brokerAddress;
  }

  /** Starts {@code brook dev --port 0 --data-dir dataDir} and waits until it is ready. */
  static BrookProcess startDev(Path dataDir) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("dev.brook.cli.BrookCli");
    cmd.add("dev");
    cmd.add("--port");
    cmd.add("0");
    cmd.add("--data-dir");
    cmd.add(dataDir.toString());
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
      ready.completeExceptionally(new IllegalStateException("brook dev exited before it was ready:\n" + output));
    }, "brook-process-output");
    reader.setDaemon(true);
    reader.start();
    try {
      return new BrookProcess(p, ready.get(60, TimeUnit.SECONDS));
    } catch (Exception e) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      throw new IllegalStateException("brook dev did not become ready: " + e.getMessage(), e);
    }
  }

  String brokerAddress() {
    return brokerAddress;
  }

  /** SIGKILL: no shutdown hook runs, nothing is flushed by the JVM. */
  void kill9() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        kill9();
      }
    }
  }
}
