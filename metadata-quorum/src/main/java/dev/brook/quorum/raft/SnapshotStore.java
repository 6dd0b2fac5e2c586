package dev.brook.quorum.raft;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.impl.FileListSnapshotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots as RocksDB checkpoints: directories {@code snapshot.<term>_<index>} in the Ratis state
 * machine directory ({@code <raft storage>/<group uuid>/sm}). A checkpoint is created under a
 * {@code .tmp} name and renamed, so a crash never leaves a half snapshot under a valid name.
 *
 * <p>Ratis ships a snapshot to a lagging follower file by file (paths relative to the sm
 * directory, so the {@code snapshot.T_I/} prefix survives) and replaces the follower's whole sm
 * directory with them; the state machine then restores its database from that checkpoint.
 *
 * <p>Threading: {@link #latest} is volatile; {@link #refresh}/{@link #cleanup} run on the apply or
 * snapshot thread, never concurrently with each other (Ratis does not overlap takeSnapshot with
 * apply/reinitialize).
 */
public final class SnapshotStore implements StateMachineStorage {
  private static final Logger LOG = LoggerFactory.getLogger(SnapshotStore.class);
  private static final Pattern NAME = Pattern.compile("snapshot\\.(\\d+)_(\\d+)");
  /** Checkpoints kept: the newest and one before it (in case the newest is being shipped). */
  public static final int RETAINED = 2;

  private volatile Path smDir;
  private volatile SnapshotInfo latest;

  @Override
  public void init(RaftStorage raftStorage) throws IOException {
    this.smDir = raftStorage.getStorageDir().getStateMachineDir().toPath();
    Files.createDirectories(smDir);
    refresh();
  }

  Path dirFor(TermIndex ti) {
    return smDir.resolve("snapshot." + ti.getTerm() + "_" + ti.getIndex());
  }

  Path tmpDirFor(TermIndex ti) {
    return smDir.resolve("snapshot." + ti.getTerm() + "_" + ti.getIndex() + ".tmp");
  }

  /** Rescans the directory: after a checkpoint was added or Ratis installed one. */
  void refresh() throws IOException {
    TermIndex best = null;
    try (Stream<Path> entries = Files.list(smDir)) {
      for (Path p : (Iterable<Path>) entries::iterator) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        if (m.matches() && Files.isDirectory(p)) {
          TermIndex ti = TermIndex.valueOf(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
          if (best == null || ti.compareTo(best) > 0) best = ti;
        }
      }
    }
    latest = best == null ? null : describe(best);
  }

  private SnapshotInfo describe(TermIndex ti) throws IOException {
    List<FileInfo> files = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(dirFor(ti))) {
      for (Path f : (Iterable<Path>) walk.sorted()::iterator) {
        if (Files.isRegularFile(f) && !f.getFileName().toString().endsWith(".md5")) {
          files.add(new FileInfo(f, null)); // null digest: Ratis computes MD5 while sending
        }
      }
    }
    return new FileListSnapshotInfo(files, ti);
  }

  /** The directory of the latest snapshot, or null. */
  Path latestDir() {
    SnapshotInfo s = latest;
    return s == null ? null : dirFor(s.getTermIndex());
  }

  @Override
  public SnapshotInfo getLatestSnapshot() {
    return latest;
  }

  @Override
  public void format() {
    // Nothing to format: the directory is created by init.
  }

  @Override
  public void cleanupOldSnapshots(SnapshotRetentionPolicy policy) throws IOException {
    cleanup();
  }

  /** Deletes all but the {@link #RETAINED} newest checkpoints and any leftover .tmp directory. */
  void cleanup() throws IOException {
    List<Path> snapshots = new ArrayList<>();
    try (Stream<Path> entries = Files.list(smDir)) {
      for (Path p : (Iterable<Path>) entries::iterator) {
        String name = p.getFileName().toString();
        if (NAME.matcher(name).matches()) {
          snapshots.add(p);
        } else if (name.startsWith("snapshot.") && name.endsWith(".tmp")) {
          QuorumStore.deleteRecursively(p);
        }
      }
    }
    snapshots.sort(Comparator.comparing(SnapshotStore::termIndexOf).reversed());
    for (int i = RETAINED; i < snapshots.size(); i++) {
      LOG.info("Deleting old metadata snapshot {}", snapshots.get(i).getFileName());
      QuorumStore.deleteRecursively(snapshots.get(i));
    }
  }

  private static TermIndex termIndexOf(Path p) {
    Matcher m = NAME.matcher(p.getFileName().toString());
    if (!m.matches()) throw new IllegalArgumentException(p.toString());
    return TermIndex.valueOf(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
  }

  @Override
  public File getSnapshotDir() {
    return null; // Ratis's default, the sm directory
  }
}
