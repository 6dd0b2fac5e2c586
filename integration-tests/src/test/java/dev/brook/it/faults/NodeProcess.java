package dev.brook.it.faults;

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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One {@code brook server --config FILE} JVM started by a fault run, as {@code dev.brook.it.BrookProcess}
 * does it (this run's class path, output appended to a log file), plus what the nemesis needs:
 * extra JVM arguments and a class-path prefix (the routing name resolver), its pid, SIGSTOP and
 * SIGCONT. Signals go only to this process's pid; a shutdown hook kills every node still running
 * when the JVM exits.
 */
final class NodeProcess {
  private static final Pattern READY = Pattern.compile("broker listening on (\\S+),");
  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "fault-node-reaper"));
  }

  private final Process process;
  private final CompletableFuture<String> ready;
  /** nanoTime when the broker said it listens, or -1 before. */
  private final java.util.concurrent.atomic.AtomicLong readyNanos;
  private volatile boolean paused;

  private NodeProcess(Process process, CompletableFuture<String> ready, java.util.concurrent.atomic.AtomicLong readyNanos) {
    this.process = process;
    this.ready = ready;
    this.readyNanos = readyNanos;
  }

  /** When the broker said it listens (nanoTime), or -1 while it has not. */
  long readyNanos() {
    return readyNanos.get();
  }

  static NodeProcess start(Path config, Path logFile, String classPathPrefix, List<String> jvmArgs) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx320m");
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-XX:+UseSerialGC");
    cmd.addAll(jvmArgs);
    cmd.add("-cp");
    String cp = System.getProperty("java.class.path");
    cmd.add(classPathPrefix == null ? cp : classPathPrefix + java.io.File.pathSeparator + cp);
    cmd.add("dev.brook.cli.BrookCli");
    cmd.add("server");
    cmd.add("--config");
    cmd.add(config.toString());
    Writer log = Files.newBufferedWriter(logFile, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      log.close();
      throw e;
    }
    LIVE.add(p);
    p.onExit().thenRun(() -> LIVE.remove(p));
    log.write("===== brook server --config " + config + " (pid " + p.pid() + ") =====\n");
    log.flush();
    CompletableFuture<String> ready = new CompletableFuture<>();
    java.util.concurrent.atomic.AtomicLong readyNanos = new java.util.concurrent.atomic.AtomicLong(-1);
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          try {
            log.write(line);
            log.write('\n');
            log.flush();
          } catch (IOException e) {
            // Best effort: keep draining the pipe.
          }
          Matcher m = READY.matcher(line);
          if (m.find()) {
            readyNanos.compareAndSet(-1, System.nanoTime());
            ready.complete(m.group(1));
          }
        }
      } catch (IOException e) {
        // The process died.
      } finally {
        try {
          log.close();
        } catch (IOException e) {
          // Nothing more to write.
        }
        ready.completeExceptionally(new IllegalStateException("node exited (code "
            + (p.isAlive() ? "?" : p.exitValue()) + ") before it was ready; see " + logFile));
      }
    }, "fault-node-output-" + p.pid());
    reader.setDaemon(true);
    reader.start();
    return new NodeProcess(p, ready, readyNanos);
  }

  /** Waits until the broker printed that it listens; false on timeout or exit. */
  boolean awaitReady(long timeoutMs) throws InterruptedException {
    try {
      ready.get(timeoutMs, TimeUnit.MILLISECONDS);
      return true;
    } catch (ExecutionException | TimeoutException e) {
      return false;
    }
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  boolean paused() {
    return paused;
  }

  /** SIGKILL; returns once the process is gone. */
  void kill9() {
    if (paused) resume(); // a stopped process dies on SIGKILL too, but keep the state simple
    process.destroyForcibly();
    try {
      process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** SIGTERM (controlled shutdown), SIGKILL after {@code timeoutMs}. */
  void stop(long timeoutMs) {
    if (!process.isAlive()) return;
    if (paused) resume();
    process.destroy();
    try {
      if (!process.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) kill9();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      kill9();
    }
  }

  /** SIGSTOP: the JVM freezes with its connections open (a zombie, if it leads something). */
  void pause() {
    signal("-STOP");
    paused = true;
  }

  /** SIGCONT. */
  void resume() {
    signal("-CONT");
    paused = false;
  }

  private void signal(String sig) {
    if (!process.isAlive()) return;
    try {
      Process k = new ProcessBuilder("kill", sig, Long.toString(process.pid())).redirectErrorStream(true).start();
      if (!k.waitFor(10, TimeUnit.SECONDS)) k.destroyForcibly();
    } catch (IOException e) {
      throw new IllegalStateException("cannot send " + sig + " to pid " + process.pid(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
