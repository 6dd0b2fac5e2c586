package dev.brook.broker.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader-epoch history of one partition log (Kafka's {@code leader-epoch-checkpoint}): for
 * each leader epoch that wrote to (or was started on) this log, the offset where it began.
 * Replication compares histories to find where a follower's log diverged from its leader's
 * (KIP-101, KIP-279) instead of trusting the high watermark.
 *
 * <p>Invariants.
 * <ul>
 *   <li>Epochs and start offsets both strictly increase from entry to entry; every start offset
 *       is at most the log end offset (an entry may start <em>at</em> the end: a leader records
 *       its epoch when it takes over, before it writes anything).
 *   <li>Every batch in the log carries the epoch of the entry whose range contains it. The entry
 *       is persisted (written to a temporary file, fsynced, atomically renamed) <em>before</em>
 *       the first batch of its epoch is written, so after a crash the file is never behind the
 *       log; entries beyond the recovered log end are dropped on open.
 *   <li>Truncating the log drops the entries that start at or beyond the new end
 *       ({@link #truncateFromEnd}); retention moves the first entry up to the new log start
 *       ({@link #truncateFromStart}).
 * </ul>
 *
 * <p>Threading: mutated only by the owning {@link PartitionLog} under its write lock; readers
 * (leaders answering follower fetches) read an immutable snapshot through a volatile and take no
 * lock.
 */
public final class LeaderEpochHistory {
  private static final Logger LOG = LoggerFactory.getLogger(LeaderEpochHistory.class);
  static final String FILE_NAME = "leader-epoch-checkpoint";
  private static final int VERSION = 0;

  /** One epoch and the first offset written in it. */
  public record Entry(int epoch, long startOffset) {}

  private final Path file;
  private volatile List<Entry> entries;

  private LeaderEpochHistory(Path file, List<Entry> entries) {
    this.file = file;
    this.entries = List.copyOf(entries);
  }

  /**
   * Loads the history of the log in {@code dir}; null when the file is missing or does not parse
   * (the caller then rebuilds it from the batches with {@link #rebuilt}).
   */
  static LeaderEpochHistory load(Path dir) {
    Path file = dir.resolve(FILE_NAME);
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      LOG.warn("cannot read {}: {}; rebuilding it from the log", file, e.toString());
      return null;
    }
    try {
      if (lines.size() < 2 || Integer.parseInt(lines.get(0).trim()) != VERSION) throw new IllegalArgumentException("bad header");
      int count = Integer.parseInt(lines.get(1).trim());
      if (count < 0 || lines.size() < 2 + count) throw new IllegalArgumentException("bad entry count " + count);
      List<Entry> out = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        String[] parts = lines.get(2 + i).trim().split(" ");
        if (parts.length != 2) throw new IllegalArgumentException("bad entry '" + lines.get(2 + i) + "'");
        Entry e = new Entry(Integer.parseInt(parts[0]), Long.parseLong(parts[1]));
        if (e.epoch() < 0 || e.startOffset() < 0) throw new IllegalArgumentException("negative entry " + e);
        if (!out.isEmpty()) {
          Entry prev = out.get(out.size() - 1);
          if (e.epoch() <= prev.epoch() || e.startOffset() <= prev.startOffset()) {
            throw new IllegalArgumentException("entries out of order: " + prev + " then " + e);
          }
        }
        out.add(e);
      }
      return new LeaderEpochHistory(file, out);
    } catch (RuntimeException e) {
      LOG.warn("{} is invalid ({}); rebuilding it from the log", file, e.getMessage());
      return null;
    }
  }

  /** A history built from the (epoch, base offset) of every batch, in log order; persisted. */
  static LeaderEpochHistory rebuilt(Path dir, List<Entry> batchEpochs) throws IOException {
    LeaderEpochHistory h = new LeaderEpochHistory(dir.resolve(FILE_NAME), List.of());
    List<Entry> out = new ArrayList<>();
    for (Entry e : batchEpochs) {
      Entry last = out.isEmpty() ? null : out.get(out.size() - 1);
      if (last == null || e.epoch() > last.epoch()) out.add(e);
    }
    h.entries = List.copyOf(out);
    h.persist();
    return h;
  }

  /** Every entry, oldest first. Immutable snapshot. */
  public List<Entry> entries() {
    return entries;
  }

  /** The latest epoch, or -1 when the history is empty. */
  public int latestEpoch() {
    List<Entry> es = entries;
    return es.isEmpty() ? -1 : es.get(es.size() - 1).epoch();
  }

  /** The start offset of {@code epoch}, or -1 when the history has no entry for exactly it. */
  public long startOffsetOf(int epoch) {
    for (Entry e : entries) {
      if (e.epoch() == epoch) return e.startOffset();
    }
    return -1;
  }

  /**
   * Where {@code epoch} ended in this log (see {@link EpochEndOffset}): the largest epoch in the
   * history that is {@code <= epoch}, and the start offset of the entry after it, or
   * {@code logEndOffset} when it is the latest. When {@code epoch} is older than every entry the
   * answer is (-1, start offset of the first entry): nothing of this log before that offset
   * belongs to any epoch we know, so a follower keeps nothing at or beyond it. Empty history:
   * {@link EpochEndOffset#UNDEFINED}.
   */
  public EpochEndOffset endOffsetFor(int epoch, long logEndOffset) {
    List<Entry> es = entries;
    if (es.isEmpty()) return EpochEndOffset.UNDEFINED;
    if (epoch < es.get(0).epoch()) return new EpochEndOffset(-1, es.get(0).startOffset());
    for (int i = es.size() - 1; i >= 0; i--) {
      Entry e = es.get(i);
      if (e.epoch() <= epoch) {
        long end = i + 1 < es.size() ? es.get(i + 1).startOffset() : logEndOffset;
        return new EpochEndOffset(e.epoch(), end);
      }
    }
    throw new AssertionError("unreachable");
  }

  /**
   * Records that {@code epoch} starts at {@code startOffset}, persisting before returning. A
   * no-op when the epoch is not newer than the latest one. Entries at or beyond
   * {@code startOffset} (an earlier epoch that took over but wrote nothing) are replaced.
   * Writer only.
   *
   * @return whether the history changed
   */
  boolean assign(int epoch, long startOffset) throws IOException {
    List<Entry> es = entries;
    if (!es.isEmpty() && epoch <= es.get(es.size() - 1).epoch()) return false;
    List<Entry> out = new ArrayList<>(es.size() + 1);
    for (Entry e : es) {
      if (e.startOffset() < startOffset) out.add(e);
    }
    out.add(new Entry(epoch, startOffset));
    replace(out);
    return true;
  }

  /** Drops the entries starting at or beyond {@code endOffset}. Writer only. */
  void truncateFromEnd(long endOffset) throws IOException {
    List<Entry> es = entries;
    if (es.isEmpty() || es.get(es.size() - 1).startOffset() < endOffset) return;
    List<Entry> out = new ArrayList<>();
    for (Entry e : es) {
      if (e.startOffset() < endOffset) out.add(e);
    }
    replace(out);
  }

  /**
   * The log now starts at {@code startOffset}: entries wholly before it go, the last of them is
   * kept with its start moved up to {@code startOffset} (its epoch still covers the first batches).
   * Writer only.
   */
  void truncateFromStart(long startOffset) throws IOException {
    List<Entry> es = entries;
    if (es.isEmpty() || es.get(0).startOffset() >= startOffset) return;
    List<Entry> out = new ArrayList<>();
    Entry covering = null;
    for (Entry e : es) {
      if (e.startOffset() <= startOffset) {
        covering = e;
      } else {
        out.add(e);
      }
    }
    if (covering != null) out.add(0, new Entry(covering.epoch(), startOffset));
    replace(out);
  }

  private void replace(List<Entry> next) throws IOException {
    List<Entry> previous = entries;
    entries = List.copyOf(next);
    try {
      persist();
    } catch (IOException e) {
      entries = previous;
      throw e;
    }
  }

  /** Writes the file atomically: temporary file, fsync, rename, directory fsync. */
  private void persist() throws IOException {
    StringBuilder sb = new StringBuilder();
    List<Entry> es = entries;
    sb.append(VERSION).append('\n').append(es.size()).append('\n');
    for (Entry e : es) sb.append(e.epoch()).append(' ').append(e.startOffset()).append('\n');
    Path tmp = file.resolveSibling(FILE_NAME + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buf = ByteBuffer.wrap(sb.toString().getBytes(StandardCharsets.UTF_8));
      while (buf.hasRemaining()) ch.write(buf);
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
      dir.force(true);
    } catch (IOException e) {
      LOG.debug("directory fsync not supported for {}: {}", file, e.toString());
    }
  }

  @Override
  public String toString() {
    return "LeaderEpochHistory" + entries;
  }
}
