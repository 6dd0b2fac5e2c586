package dev.brook.broker.log;

import dev.brook.protocol.StoredBatch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the segments of a partition directory and brings them to a consistent state, the way
 * Kafka's {@code LogSegment.recover} does, but without ever deleting data it cannot prove was
 * never durable.
 *
 * <ul>
 *   <li><b>What is trusted.</b> After a clean shutdown (the {@value #CLEAN_SHUTDOWN_FILE} marker)
 *       every closed segment; after a crash, the closed segments that end at or below the
 *       {@link RecoveryPoint} (everything there was fsynced). Their index files are loaded; a
 *       segment whose indexes do not fit its file is scanned instead.
 *   <li><b>What is scanned</b> frame by frame (whole, well formed, CRC-valid, offsets continuing
 *       the frame before): the last segment, and every segment that is not trusted. Indexes of
 *       scanned segments are rebuilt from the scan.
 *   <li><b>A torn tail</b> is a problem in the last segment, after a crash, at or beyond the
 *       recovery point: the batches a crash can have torn. The file is cut there (one WARN line
 *       says how much); those batches were never fsynced, and replicas or producers' retries
 *       cover them as their acks level promised.
 *   <li><b>Damage</b> is any other problem: a bad batch in a closed segment or below the recovery
 *       point, or a segment that does not continue the one before. Those bytes were durable, so
 *       they were changed on disk. With {@link OnDamage#SET_ASIDE_AND_CUT} (the partition has
 *       other replicas) the damaged segment is copied aside ({@code .corrupt-<time>}), cut before
 *       the bad batch, and every later segment is renamed aside ({@code .detached-<time>}): the
 *       log ends at the last good batch and the replica fetcher copies the rest from the leader.
 *       With {@link OnDamage#REFUSE} (no other replica) nothing is changed and the open fails with
 *       a {@link DamagedLogException} that says what was found and what the repair command would
 *       set aside ({@link LogRepair}).
 * </ul>
 *
 * <p>Single-threaded: runs inside {@link PartitionLog#open} before the log is visible to anyone.
 */
final class SegmentRecovery {
  private static final Logger LOG = LoggerFactory.getLogger(SegmentRecovery.class);
  static final String CLEAN_SHUTDOWN_FILE = ".clean-shutdown";
  static final String CORRUPT_SUFFIX = ".corrupt-";
  static final String DETACHED_SUFFIX = ".detached-";
  static final String TORN_SUFFIX = ".torn-";
  private static final int SCAN_BUFFER_BYTES = 1 << 20;
  /**
   * A frame longer than this is treated as a damaged length rather than read into memory: more
   * than twice the largest gRPC message a broker accepts by default (max.request.bytes), so no
   * batch that could be produced or replicated with default limits comes near it.
   */
  static final long MAX_SCANNED_FRAME_BYTES = 256L << 20;

  /** What to do with damage (see the class comment). */
  enum OnDamage { SET_ASIDE_AND_CUT, REFUSE }

  /** What a scan found: the valid prefix of the file and the writer state at its end. */
  record ScanResult(long validBytes, long endOffset, long maxTimestamp, int relOffsetOfMaxTimestamp,
      long firstBatchMaxTimestamp, long bytesSinceIndexEntry, String problem) {}

  /** The recovered segments, and the offset where damage cut the log (-1 when it did not). */
  record Recovered(List<LogSegment> segments, long cutAt) {}

  private SegmentRecovery() {}

  /** Opens (or creates) the log in {@code dir}; returns its segments by base offset, at least one. */
  static Recovered recover(Path dir, LogConfig config, OnDamage onDamage) throws IOException {
    Files.createDirectories(dir);
    boolean clean = Files.deleteIfExists(dir.resolve(CLEAN_SHUTDOWN_FILE));
    long recoveryPoint = RecoveryPoint.read(dir);
    List<Long> bases = listSegments(dir);
    if (bases.isEmpty()) return new Recovered(new ArrayList<>(List.of(LogSegment.create(dir, 0))), -1);

    List<LogSegment> segments = new ArrayList<>();
    List<Boolean> scanned = new ArrayList<>();
    long cutAt = -1;
    try {
      long expectedBase = -1;
      for (int i = 0; i < bases.size(); i++) {
        long base = bases.get(i);
        if (expectedBase >= 0 && base != expectedBase) {
          String problem = "segment " + LogSegment.fileName(base) + " does not continue at offset " + expectedBase;
          damaged(dir, onDamage, expectedBase, base, 0, problem, recoveryPoint, bases.subList(i, bases.size()), false);
          cutAt = expectedBase;
          break;
        }
        LogSegment segment = LogSegment.openExisting(dir, base);
        segments.add(segment);
        boolean last = i == bases.size() - 1;
        boolean flushed = !last && (clean || (recoveryPoint >= 0 && bases.get(i + 1) <= recoveryPoint));
        if (flushed && loadIndexes(segment, bases.get(i + 1))) {
          scanned.add(false);
          expectedBase = -1;
          continue;
        }
        ScanResult scan = scanAndRebuild(segment, config.indexIntervalBytes());
        if (scan.problem() != null) {
          // Torn: after a crash, beyond what was flushed, and nothing whole follows (a write that
          // stopped part-way). A valid batch after the bad one means the bytes changed in place.
          boolean torn = !clean && last && scan.endOffset() >= recoveryPoint
              && !validFrameAfter(segment, scan.validBytes());
          long fileSize = segment.size();
          if (torn) {
            Path evidence = segment.logFile().resolveSibling(segment.logFile().getFileName() + TORN_SUFFIX
                + System.currentTimeMillis());
            copyRange(segment.logFile(), scan.validBytes(), evidence);
            try (FileChannel ch = FileChannel.open(segment.logFile(), StandardOpenOption.WRITE)) {
              ch.truncate(scan.validBytes());
              ch.force(true);
            }
            LOG.warn("Log {}: torn tail after a crash: {} in segment {} at offset {} (position {}), beyond the last"
                + " flushed offset {}; cut {} bytes there (kept in {})", dir, scan.problem(), LogSegment.fileName(base),
                scan.endOffset(), scan.validBytes(), recoveryPoint, fileSize - scan.validBytes(), evidence.getFileName());
          } else {
            damaged(dir, onDamage, scan.endOffset(), base, scan.validBytes(), scan.problem(), recoveryPoint,
                bases.subList(i + 1, bases.size()), true);
            cutAt = scan.endOffset();
          }
        }
        segment.restore(scan);
        segment.offsetIndex.writeFully();
        segment.timeIndex.writeFully();
        scanned.add(true);
        expectedBase = scan.endOffset();
        if (scan.problem() != null) break;
      }
    } catch (IOException | RuntimeException e) {
      for (LogSegment s : segments) {
        try {
          s.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
    for (int i = 0; i < segments.size() - 1; i++) {
      if (!scanned.get(i)) segments.get(i).restoreClosed(segments.get(i + 1).baseOffset);
    }
    return new Recovered(segments, cutAt);
  }

  /**
   * Damage at {@code offset} (position {@code validBytes} of segment {@code base}, or the whole
   * of the segments in {@code later} when {@code inSegment} is false): sets it aside and cuts
   * the log there, or refuses (see {@link OnDamage}).
   */
  private static void damaged(Path dir, OnDamage onDamage, long offset, long base, long validBytes, String problem,
      long recoveryPoint, List<Long> later, boolean inSegment) throws IOException {
    long bytes = (inSegment ? Files.size(logFile(dir, base)) - validBytes : 0) + sizes(dir, later);
    int segmentCount = later.size() + (inSegment ? 1 : 0);
    String where = inSegment ? "corrupt batch at offset " + offset + " in segment " + LogSegment.fileName(base)
        + " (position " + validBytes + "): " + problem : problem;
    String why = recoveryPoint >= 0 ? "below the last flushed offset " + recoveryPoint : "in data that was flushed";
    if (onDamage == OnDamage.REFUSE) {
      throw new DamagedLogException(dir, offset, "Log " + dir + ": " + where + ". It lies " + why
          + ", so the disk changed it after it was written (not a torn write). This partition has no other replica to"
          + " repair it from: nothing was changed and the partition stays offline on this broker. To set aside"
          + " everything from offset " + offset + " (" + bytes + " bytes in " + segmentCount + " segment(s), kept, not"
          + " deleted) and bring the partition back, stop the node and run: bin/brook log repair --dir " + dir
          + " --truncate-at " + offset);
    }
    String stamp = Long.toString(System.currentTimeMillis());
    LogRepair.setAside(dir, inSegment ? base : -1, validBytes, later, stamp);
    LOG.warn("Log {}: {}, {}: damaged on disk. Set aside {} bytes in {} segment(s) (*{}{}, *{}{}); the log now ends at"
        + " offset {} and the rest is fetched again from the leader", dir, where, why, bytes, segmentCount,
        CORRUPT_SUFFIX, stamp, DETACHED_SUFFIX, stamp, offset);
  }

  /**
   * Whether a whole, CRC-valid frame starts anywhere after position {@code from} of the segment:
   * then the problem at {@code from} is damage in the middle, not the end of an interrupted write.
   */
  private static boolean validFrameAfter(LogSegment segment, long from) throws IOException {
    FileChannel ch = segment.readChannel();
    long size = ch.size();
    Buffered in = new Buffered(ch, size);
    for (long pos = from + 1; pos + StoredBatch.MIN_FRAME_SIZE <= size; pos++) {
      int at = in.ensure(pos, (int) Math.min(16, size - pos));
      if (in.buffer.get(at) != StoredBatch.FRAME_TAG) continue;
      long v = StoredBatch.readVarint(in.buffer, at + 1, in.length);
      if (v < 0 || (int) v < StoredBatch.HEADER_SIZE + 2) continue;
      long frameSize = 1 + (v >>> 32) + (int) v;
      if (pos + frameSize > size || frameSize > MAX_SCANNED_FRAME_BYTES) continue;
      at = in.ensure(pos, (int) frameSize);
      if (StoredBatch.frameSizeAt(in.buffer, at, in.length) == frameSize
          && StoredBatch.isValid(in.buffer, at, (int) frameSize)) {
        return true;
      }
    }
    return false;
  }

  /** Copies the bytes of {@code file} from {@code from} to its end into a new file {@code to}, fsynced. */
  private static void copyRange(Path file, long from, Path to) throws IOException {
    try (FileChannel src = FileChannel.open(file, StandardOpenOption.READ);
         FileChannel dst = FileChannel.open(to, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      long size = src.size();
      long done = 0;
      while (from + done < size) done += src.transferTo(from + done, size - from - done, dst);
      dst.force(true);
    }
    RecoveryPoint.syncDirectory(file.getParent());
  }

  static Path logFile(Path dir, long base) {
    return dir.resolve(LogSegment.fileName(base) + LogSegment.LOG_SUFFIX);
  }

  private static long sizes(Path dir, List<Long> bases) throws IOException {
    long bytes = 0;
    for (long b : bases) {
      Path f = logFile(dir, b);
      if (Files.exists(f)) bytes += Files.size(f);
    }
    return bytes;
  }

  /** Base offsets of the {@code .log} files; removes index files that have no log file. */
  static List<Long> listSegments(Path dir) throws IOException {
    TreeSet<Long> logs = new TreeSet<>();
    List<Path> indexes = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        if (name.endsWith(LogSegment.LOG_SUFFIX)) {
          Long base = parseBase(name, LogSegment.LOG_SUFFIX);
          if (base != null) logs.add(base);
        } else if (name.endsWith(LogSegment.INDEX_SUFFIX) || name.endsWith(LogSegment.TIME_INDEX_SUFFIX)) {
          indexes.add(f);
        }
      }
    }
    for (Path index : indexes) {
      String name = index.getFileName().toString();
      String suffix = name.endsWith(LogSegment.INDEX_SUFFIX) ? LogSegment.INDEX_SUFFIX : LogSegment.TIME_INDEX_SUFFIX;
      Long base = parseBase(name, suffix);
      if (base == null || !logs.contains(base)) Files.deleteIfExists(index);
    }
    return new ArrayList<>(logs);
  }

  private static Long parseBase(String name, String suffix) {
    String digits = name.substring(0, name.length() - suffix.length());
    if (digits.length() != 20) return null;
    for (int i = 0; i < digits.length(); i++) {
      if (!Character.isDigit(digits.charAt(i))) return null;
    }
    try {
      return Long.parseLong(digits);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /**
   * Loads a closed segment's index files; false when they are missing or do not fit the log file
   * (entries out of order or beyond the file, no time entry for a non-empty file, first frame or
   * last indexed frame not where the index says), or when the batches after the last indexed one
   * do not run contiguously up to {@code nextBase}, where the next segment starts.
   */
  private static boolean loadIndexes(LogSegment segment, long nextBase) throws IOException {
    long size = segment.size();
    if (!segment.offsetIndex.load(size) || !segment.timeIndex.load(size)) return false;
    if (size > 0 && segment.timeIndex.entries() == 0) return false;
    if (size == 0) return true;
    FrameCursor cursor = new FrameCursor().reset(segment.readChannel(), size);
    try {
      if (!cursor.load(0) || cursor.baseOffset != segment.baseOffset) return false;
      long last = segment.offsetIndex.lastEntry();
      if (last >= 0) {
        long rel = last >>> 32;
        long pos = last & 0xFFFFFFFFL;
        if (!cursor.load(pos) || cursor.baseOffset != segment.baseOffset + rel) return false;
      }
      // The tail after the last index entry (at most about index.interval.bytes): headers only.
      long expected = cursor.baseOffset;
      do {
        if (cursor.baseOffset != expected) return false;
        expected = cursor.lastOffset() + 1;
      } while (cursor.next());
      if (expected != nextBase) return false;
      long lastTimeRel = segment.timeIndex.lastRelOffset();
      if (last >= 0 && lastTimeRel > Integer.MAX_VALUE) return false;
    } catch (FrameFormatException e) {
      return false;
    }
    return true;
  }

  /**
   * Scans every frame of the segment with full validation (structure, CRC, contiguous offsets
   * starting at the segment's base), rebuilding both indexes in memory as appends would have.
   * Stops at the first frame that fails; {@link ScanResult#problem()} then says why.
   */
  static ScanResult scanAndRebuild(LogSegment segment, int indexIntervalBytes) throws IOException {
    segment.offsetIndex.truncateInMemory(0);
    segment.timeIndex.truncateInMemory(0);
    FileChannel ch = segment.readChannel();
    long fileSize = ch.size();
    Buffered in = new Buffered(ch, fileSize);
    long pos = 0;
    long expected = segment.baseOffset;
    long maxTs = Long.MIN_VALUE;
    int relOfMax = 0;
    long firstTs = Long.MIN_VALUE;
    long sinceIndex = 0;
    String problem = null;
    while (pos < fileSize) {
      int at = in.ensure(pos, (int) Math.min(16, fileSize - pos));
      ByteBuffer buf = in.buffer;
      if (buf.get(at) != StoredBatch.FRAME_TAG) {
        problem = "invalid frame (no frame tag)";
        break;
      }
      long v = StoredBatch.readVarint(buf, at + 1, in.length);
      if (v == -1) {
        problem = "torn frame (incomplete length)";
        break;
      }
      if (v < 0 || (int) v < StoredBatch.HEADER_SIZE + 2) {
        problem = "invalid frame (bad length)";
        break;
      }
      long frameSize = 1 + (v >>> 32) + (int) v;
      if (frameSize > MAX_SCANNED_FRAME_BYTES) {
        problem = "invalid frame (length " + frameSize + " is implausible)";
        break;
      }
      if (pos + frameSize > fileSize) {
        problem = "torn frame (" + frameSize + " bytes, " + (fileSize - pos) + " present)";
        break;
      }
      at = in.ensure(pos, (int) frameSize);
      buf = in.buffer;
      int fs = StoredBatch.frameSizeAt(buf, at, in.length);
      if (fs != frameSize || !StoredBatch.isValid(buf, at, fs)) {
        problem = "corrupt frame (CRC or header mismatch)";
        break;
      }
      long base = StoredBatch.baseOffset(buf, at);
      int count = StoredBatch.recordCount(buf, at);
      if (base != expected) {
        problem = "non-contiguous frame (base offset " + base + ")";
        break;
      }
      if (base + count - 1 - segment.baseOffset > Integer.MAX_VALUE) {
        problem = "frame beyond the segment's offset range";
        break;
      }
      int rel = (int) (base - segment.baseOffset);
      long ts = StoredBatch.maxTimestamp(buf, at);
      if (pos == 0) firstTs = ts;
      if (pos == 0 || ts > maxTs) {
        maxTs = ts;
        relOfMax = rel;
      }
      if (sinceIndex > indexIntervalBytes) {
        segment.offsetIndex.append(rel, (int) pos);
        segment.timeIndex.maybeAppend(maxTs, relOfMax);
        sinceIndex = 0;
      }
      sinceIndex += frameSize;
      pos += frameSize;
      expected = base + count;
    }
    if (pos > 0) segment.timeIndex.maybeAppend(maxTs, relOfMax);
    return new ScanResult(pos, expected, maxTs, relOfMax, firstTs, sinceIndex, problem);
  }

  /**
   * Recomputes the writer state of a segment cut at {@code limit} from its frame headers only,
   * keeping its (already truncated) indexes. Used after a truncation, where the frames were
   * validated when they were appended.
   */
  static ScanResult scanHeaders(LogSegment segment, long limit, int indexIntervalBytes) throws IOException {
    FrameCursor cursor = new FrameCursor().reset(segment.readChannel(), limit);
    long end = segment.baseOffset;
    long maxTs = Long.MIN_VALUE;
    int relOfMax = 0;
    long firstTs = Long.MIN_VALUE;
    boolean more = cursor.load(0);
    while (more) {
      int rel = (int) (cursor.baseOffset - segment.baseOffset);
      if (cursor.position == 0) firstTs = cursor.maxTimestamp;
      if (cursor.position == 0 || cursor.maxTimestamp > maxTs) {
        maxTs = cursor.maxTimestamp;
        relOfMax = rel;
      }
      end = cursor.baseOffset + cursor.recordCount;
      more = cursor.next();
    }
    long lastIndexed = segment.offsetIndex.lastEntry();
    long sinceIndex = lastIndexed < 0 ? limit : limit - (lastIndexed & 0xFFFFFFFFL);
    return new ScanResult(limit, end, maxTs, relOfMax, firstTs, sinceIndex, null);
  }

  /** A window of a file in a heap buffer that grows to hold the largest frame seen. */
  private static final class Buffered {
    private final FileChannel channel;
    private final long fileSize;
    ByteBuffer buffer;
    long start = -1;
    int length;

    Buffered(FileChannel channel, long fileSize) {
      this.channel = channel;
      this.fileSize = fileSize;
      this.buffer = ByteBuffer.allocate((int) Math.max(64, Math.min(fileSize, SCAN_BUFFER_BYTES))).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Makes file bytes [pos, pos + n) available; returns the index of {@code pos} in the buffer. */
    int ensure(long pos, int n) throws IOException {
      if (start >= 0 && pos >= start && pos + n <= start + length) return (int) (pos - start);
      if (n > buffer.capacity()) buffer = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
      int want = (int) Math.min(buffer.capacity(), fileSize - pos);
      buffer.clear().limit(want);
      while (buffer.hasRemaining()) {
        if (channel.read(buffer, pos + buffer.position()) < 0) break;
      }
      start = pos;
      length = buffer.position();
      buffer.clear();
      if (length < n) throw new java.io.EOFException("segment shrank while being recovered");
      return 0;
    }
  }
}
