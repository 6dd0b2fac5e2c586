package dev.brook.it.faults;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The knobs of a fault run. Each can be given as a {@code --name=value} argument of
 * {@link FaultRunner#main} or as the system property {@code faults.name} (what
 * {@code mvn -Dfaults.seed=7 ...} passes to the JUnit entry point); see docs/fault-injection.md.
 */
record RunOptions(
    long seed,
    int durationSec,
    int cycles,
    List<String> faults,
    int producers,
    int consumers,
    int groupMembers,
    int rate,
    int window,
    int partitions,
    int valueBytes,
    int segmentBytes,
    long holdMinMs,
    long holdMaxMs,
    long quietMinMs,
    long quietMaxMs,
    long recoverTimeoutMs,
    Path outDir,
    boolean keep) {

  /** The kinds the current code survives; the short run in {@code mvn verify} uses them. */
  static final String SAFE_FAULTS =
      "kill-random,kill-quorum-leader,kill-partition-leader,kill-two,pause-random,pause-partition-leader,isolate,isolate-leader,isolate-drop,torn-tail,bit-flip,bit-flip-crash";

  static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

  static {
    DEFAULTS.put("seed", "42");
    DEFAULTS.put("duration", "120");
    DEFAULTS.put("cycles", "0");
    DEFAULTS.put("faults", SAFE_FAULTS);
    DEFAULTS.put("producers", "2");
    DEFAULTS.put("consumers", "1");
    DEFAULTS.put("group-members", "2");
    DEFAULTS.put("rate", "100");
    DEFAULTS.put("window", "16");
    DEFAULTS.put("partitions", "3");
    DEFAULTS.put("value-bytes", "64");
    DEFAULTS.put("segment-bytes", "131072");
    DEFAULTS.put("hold-min-ms", "2000");
    DEFAULTS.put("hold-max-ms", "6000");
    DEFAULTS.put("quiet-min-ms", "2000");
    DEFAULTS.put("quiet-max-ms", "5000");
    DEFAULTS.put("recover-timeout-ms", "60000");
    DEFAULTS.put("out-dir", "target/faults");
    DEFAULTS.put("keep", "false");
  }

  /** The usage text of {@code bin/brook-faults}: every option with its default, and the fault kinds. */
  static String usage() {
    StringBuilder sb = new StringBuilder("usage: bin/brook-faults [--name=value ...]  (docs/fault-injection.md)\noptions (default):\n");
    DEFAULTS.forEach((k, d) -> sb.append("  --").append(k).append('=').append(d).append('\n'));
    sb.append("fault kinds (--faults=a,b or all): ").append(String.join(",", Faults.ALL.keySet()));
    return sb.toString();
  }

  /** Options from {@code --k=v} args over system properties {@code faults.k} over the defaults. */
  static RunOptions parse(String... args) {
    Map<String, String> v = new LinkedHashMap<>(DEFAULTS);
    for (String k : DEFAULTS.keySet()) {
      String p = System.getProperty("faults." + k);
      if (p != null && !p.isBlank()) v.put(k, p.trim());
    }
    for (String a : args) {
      if (a.equals("--keep")) a = "--keep=true"; // the one switch: a bare flag turns it on
      if (!a.startsWith("--") || !a.contains("=")) throw new IllegalArgumentException("expected --name=value, got " + a);
      String k = a.substring(2, a.indexOf('='));
      if (!DEFAULTS.containsKey(k)) throw new IllegalArgumentException("unknown option --" + k + "; known: " + DEFAULTS.keySet());
      v.put(k, a.substring(a.indexOf('=') + 1));
    }
    if (!v.get("keep").equals("true") && !v.get("keep").equals("false")) {
      throw new IllegalArgumentException("--keep must be true or false, got " + v.get("keep"));
    }
    List<String> faults = "all".equals(v.get("faults")) ? List.copyOf(Faults.ALL.keySet())
        : Arrays.stream(v.get("faults").split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    faults.forEach(Faults::byName);
    RunOptions o = new RunOptions(Long.parseLong(v.get("seed")), Integer.parseInt(v.get("duration")),
        Integer.parseInt(v.get("cycles")), faults,
        Integer.parseInt(v.get("producers")), Integer.parseInt(v.get("consumers")), Integer.parseInt(v.get("group-members")),
        Integer.parseInt(v.get("rate")),
        Integer.parseInt(v.get("window")), Integer.parseInt(v.get("partitions")), Integer.parseInt(v.get("value-bytes")),
        Integer.parseInt(v.get("segment-bytes")), Long.parseLong(v.get("hold-min-ms")), Long.parseLong(v.get("hold-max-ms")),
        Long.parseLong(v.get("quiet-min-ms")), Long.parseLong(v.get("quiet-max-ms")),
        Long.parseLong(v.get("recover-timeout-ms")), Path.of(v.get("out-dir")), Boolean.parseBoolean(v.get("keep")));
    if (o.holdMaxMs < o.holdMinMs || o.quietMaxMs < o.quietMinMs || o.producers < 1 || o.partitions < 1
        || o.cycles < 0 || o.groupMembers < 0 || o.consumers < 0) {
      throw new IllegalArgumentException("inconsistent options: " + o);
    }
    return o;
  }

  /** The options as arguments that reproduce this run. */
  String asArgs() {
    return "--seed=" + seed + " --duration=" + durationSec + (cycles > 0 ? " --cycles=" + cycles : "") + " --faults=" + String.join(",", faults)
        + " --producers=" + producers + " --consumers=" + consumers + " --group-members=" + groupMembers + " --rate=" + rate + " --window=" + window
        + " --partitions=" + partitions + " --value-bytes=" + valueBytes + " --segment-bytes=" + segmentBytes
        + " --hold-min-ms=" + holdMinMs + " --hold-max-ms=" + holdMaxMs
        + " --quiet-min-ms=" + quietMinMs + " --quiet-max-ms=" + quietMaxMs + " --recover-timeout-ms=" + recoverTimeoutMs;
  }
}
