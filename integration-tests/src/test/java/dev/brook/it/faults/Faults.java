package dev.brook.it.faults;

import dev.brook.client.PartitionInfo;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The fault kinds, by name:
 * <ul>
 *   <li>{@code kill-random}, {@code kill-quorum-leader}, {@code kill-partition-leader}: SIGKILL of
 *       that node; healed by starting it again on its data dir;
 *   <li>{@code kill-two}: SIGKILL of two nodes at once (the quorum is lost); healed by starting
 *       both again;
 *   <li>{@code pause-random}, {@code pause-partition-leader}: SIGSTOP (the node, a leader perhaps,
 *       freezes with its connections open: a zombie when it wakes); healed by SIGCONT;
 *   <li>{@code isolate}, {@code isolate-leader}: every link between a node (random, or a partition
 *       leader) and its peers black-holed through the proxies (replication, Ratis, the broker's
 *       metadata client), clients still reach it; healed by reopening the links;
 *   <li>{@code isolate-drop}: the same with connections reset and refused instead of black-holed;
 *   <li>{@code torn-tail}: SIGKILL of a random node, then the last 1..64 bytes of the active
 *       segment of each of its partitions cut off (a torn write); healed by starting it;
 *   <li>{@code bit-flip}: a random node stopped cleanly (SIGTERM, so its restart runs no crash
 *       recovery), then one bit flipped in a random closed segment of one of its partitions (bit
 *       rot); healed by starting it;
 *   <li>{@code bit-flip-crash}: the same after SIGKILL (the restart's crash recovery scans the
 *       segments).
 * </ul>
 */
final class Faults {
  private Faults() {}

  static final Map<String, Fault> ALL = new LinkedHashMap<>();

  static {
    add(new Kill("kill-random", Target.RANDOM));
    add(new Kill("kill-quorum-leader", Target.QUORUM_LEADER));
    add(new Kill("kill-partition-leader", Target.PARTITION_LEADER));
    add(new KillTwo());
    add(new Pause("pause-random", Target.RANDOM));
    add(new Pause("pause-partition-leader", Target.PARTITION_LEADER));
    add(new Isolate("isolate", Target.RANDOM, TcpProxy.Mode.BLACKHOLE));
    add(new Isolate("isolate-leader", Target.PARTITION_LEADER, TcpProxy.Mode.BLACKHOLE));
    add(new Isolate("isolate-drop", Target.PARTITION_LEADER, TcpProxy.Mode.DROP));
    add(new TornTail());
    add(new BitFlip("bit-flip", false));
    add(new BitFlip("bit-flip-crash", true));
  }

  private static void add(Fault f) {
    ALL.put(f.kind(), f);
  }

  static Fault byName(String name) {
    Fault f = ALL.get(name);
    if (f == null) throw new IllegalArgumentException("unknown fault kind '" + name + "'; known: " + ALL.keySet());
    return f;
  }

  enum Target { RANDOM, QUORUM_LEADER, PARTITION_LEADER }

  /** The node a fault hits: one that is up, chosen as {@code target} says (random if that is unknown). */
  static int pick(RunContext ctx, Random rng, Target target) {
    FaultCluster c = ctx.cluster();
    int chosen = -1;
    try {
      if (target == Target.QUORUM_LEADER) {
        chosen = c.quorumLeader();
      } else if (target == Target.PARTITION_LEADER) {
        List<PartitionInfo> ps = ctx.cluster().describe(ctx.topic());
        chosen = ps.get(rng.nextInt(ps.size())).leaderId();
      }
    } catch (Exception e) {
      ctx.history().note("cannot find the " + target + " (" + e + "); a random node instead");
    }
    if (chosen >= 1 && chosen <= FaultCluster.SIZE && c.isUp(chosen)) return chosen;
    List<Integer> up = new ArrayList<>();
    for (int id = 1; id <= FaultCluster.SIZE; id++) if (c.isUp(id)) up.add(id);
    if (up.isEmpty()) throw new IllegalStateException("no node is up");
    return up.get(rng.nextInt(up.size()));
  }

  /** Starts node {@code id} again and waits (bounded) until its broker listens. */
  static void restart(RunContext ctx, int id) throws Exception {
    ctx.cluster().startNode(id);
    if (!ctx.cluster().awaitReady(id, 90_000)) {
      ctx.history().note("node " + id + " was not ready 90 s after its restart; see " + ctx.cluster().logFile(id));
    }
  }

  static final class Kill implements Fault {
    private final String kind;
    private final Target target;

    Kill(String kind, Target target) {
      this.kind = kind;
      this.target = target;
    }

    @Override
    public String kind() {
      return kind;
    }

    @Override
    public Injected inject(RunContext ctx, Random rng) {
      int id = pick(ctx, rng, target);
      ctx.cluster().kill9(id);
      return new Injected("node " + id, List.of(id), () -> restart(ctx, id));
    }
  }

  static final class KillTwo implements Fault {
    @Override
    public String kind() {
      return "kill-two";
    }

    @Override
    public Injected inject(RunContext ctx, Random rng) throws Exception {
      int a = pick(ctx, rng, Target.RANDOM);
      int b;
      do {
        b = 1 + rng.nextInt(FaultCluster.SIZE);
      } while (b == a);
      int second = b;
      ctx.cluster().kill9(a);
      ctx.cluster().kill9(second);
      return new Injected("nodes " + a + "," + second, List.of(a, second), () -> {
        ctx.cluster().startNode(a);
        ctx.cluster().startNode(second);
        for (int id : new int[] {a, second}) {
          if (!ctx.cluster().awaitReady(id, 90_000)) ctx.history().note("node " + id + " was not ready 90 s after its restart");
        }
      });
    }
  }

  static final class Pause implements Fault {
    private final String kind;
    private final Target target;

    Pause(String kind, Target target) {
      this.kind = kind;
      this.target = target;
    }

    @Override
    public String kind() {
      return kind;
    }

    @Override
    public Injected inject(RunContext ctx, Random rng) {
      int id = pick(ctx, rng, target);
      ctx.cluster().pause(id);
      return new Injected("node " + id, List.of(id), () -> ctx.cluster().resume(id));
    }
  }

  static final class Isolate implements Fault {
    private final String kind;
    private final Target target;
    private final TcpProxy.Mode mode;

    Isolate(String kind, Target target, TcpProxy.Mode mode) {
      this.kind = kind;
      this.target = target;
      this.mode = mode;
    }

    @Override
    public String kind() {
      return kind;
    }

    @Override
    public Injected inject(RunContext ctx, Random rng) {
      int id = pick(ctx, rng, target);
      ctx.cluster().isolate(id, mode);
      return new Injected("node " + id, List.of(id), () -> ctx.cluster().isolate(id, TcpProxy.Mode.OPEN));
    }
  }

  /** The log directories of node {@code id}'s partitions of the run's topic. */
  static List<Path> partitionDirs(RunContext ctx, int id) throws IOException {
    Path logs = ctx.cluster().dataDir(id).resolve("logs");
    List<Path> out = new ArrayList<>();
    for (int p = 0; p < ctx.partitions(); p++) {
      Path d = logs.resolve(ctx.topic() + "-" + p);
      if (Files.isDirectory(d)) out.add(d);
    }
    return out;
  }

  /** The segment files ({@code *.log}) of a partition directory, oldest first. */
  static List<Path> segments(Path partitionDir) throws IOException {
    try (Stream<Path> s = Files.list(partitionDir)) {
      return s.filter(f -> f.getFileName().toString().endsWith(".log")).sorted().toList();
    }
  }

  static final class TornTail implements Fault {
    @Override
    public String kind() {
      return "torn-tail";
    }

    @Override
    public Injected inject(RunContext ctx, Random rng) throws Exception {
      int id = pick(ctx, rng, Target.RANDOM);
      ctx.cluster().kill9(id);
      List<String> cuts = new ArrayList<>();
      for (Path dir : partitionDirs(ctx, id)) {
        List<Path> segs = segments(dir);
        if (segs.isEmpty()) continue;
        Path active = segs.get(segs.size() - 1);
        long size = Files.size(active);
        if (size == 0) continue;
        long cut = Math.min(size, 1 + rng.nextInt(64));
        try (FileChannel ch = FileChannel.open(active, StandardOpenOption.WRITE)) {
          ch.truncate(size - cut);
        }
        cuts.add(dir.getFileName() + "/" + active.getFileName() + " -" + cut + "B");
      }
      return new Injected("node " + id + " " + cuts, List.of(id), () -> restart(ctx, id));
    }
  }

  static final class BitFlip implements Fault {
    private final String kind;
    private final boolean crash;

    BitFlip(String kind, boolean crash) {
      this.kind = kind;
      this.crash = crash;
    }

    @Override
    public String kind() {
      return kind;
    }

    @Override
    public Injected inject(RunContext ctx, Random rng) throws Exception {
      int id = pick(ctx, rng, Target.RANDOM);
      if (crash) ctx.cluster().kill9(id);
      else ctx.cluster().stop(id, 20_000);
      List<Path> closed = new ArrayList<>();
      for (Path dir : partitionDirs(ctx, id)) {
        List<Path> segs = segments(dir);
        for (int i = 0; i < segs.size() - 1; i++) {
          if (Files.size(segs.get(i)) > 0) closed.add(segs.get(i));
        }
      }
      String what = "no closed segment yet";
      if (!closed.isEmpty()) {
        Path seg = closed.get(rng.nextInt(closed.size()));
        long pos = (long) (rng.nextDouble() * Files.size(seg));
        int bit = rng.nextInt(8);
        try (RandomAccessFile f = new RandomAccessFile(seg.toFile(), "rw")) {
          f.seek(pos);
          int b = f.read();
          f.seek(pos);
          f.write(b ^ (1 << bit));
        }
        what = seg.getParent().getFileName() + "/" + seg.getFileName() + " byte " + pos + " bit " + bit;
      }
      return new Injected("node " + id + " " + what, List.of(id), () -> restart(ctx, id));
    }
  }
}
