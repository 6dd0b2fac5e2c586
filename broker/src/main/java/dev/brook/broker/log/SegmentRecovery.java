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
 * Kafka's {@code LogSegment.recover} does.
 *
 * <ul>
 *   <li>The last segment, and every segment after a shutdown that did not write the
 *       {@value #CLEAN_SHUTDOWN_FILE} marker, is scanned frame by frame: each frame must be whole,
 *       well formed, CRC-valid and continue the offsets of the one before. At the first frame that
 *       is not, the file is cut there, later segments are deleted, and one WARN line says what was
 *       dropped. Indexes of scanned segments are rebuilt from the scan.
 *   <li>Other segments keep their index files when they load and look consistent; otherwise they
 *       are scanned (and rebuilt) too.
 * </ul>
 *
 * <p>Single-threaded: runs inside {@link PartitionLog#open} before the log is visible to anyone.
 * A full scan after an unclean shutdown reads every segment; a recovery-point checkpoint (as
 * Kafka keeps) would bound that to the segments written since the last flush.
 */
final class SegmentRecovery {
  private static final Logger LOG = LoggerFactory.getLogger(SegmentRecovery.class);
  static final String CLEAN_SHUTDOWN_FILE = ".clean-shutdown";
  private static final int SCAN_BUFFER_BYTES = 1 << 20;

  /** What a scan found: the valid prefix of the file and the writer state at its end. */
  record ScanResult(long validBytes, long endOffset, long maxTimestamp, int relOffsetOfMaxTimestamp,
      long firstBatchMaxTimestamp, long bytesSinceIndexEntry, String problem) {}

  private SegmentRecovery() {}

  /** Opens (or creates) the log in {@code dir}; returns its segments by base offset, at least one. */
  static List<LogSegment> recover(Path dir, LogConfig config) throws IOException {
    Files.createDirectories(dir);
    boolean clean = Files.deleteIfExists(dir.resolve(CLEAN_SHUTDOWN_FILE));
    List<Long> bases = listSegments(dir);
    if (bases.isEmpty()) return new ArrayList<>(List.of(LogSegment.create(dir, 0)));

    List<LogSegment> segments = new ArrayList<>();
    List<Boolean> scanned = new ArrayList<>();
    long expectedBase = -1;
    for (int i = 0; i < bases.size(); i++) {
      long base = bases.get(i);
      if (expectedBase >= 0 && base != expectedBase) {
        long dropped = deleteSegments(dir, bases.subList(i, bases.size()));
        LOG.warn("Log {}: segment {} does not continue at offset {}; deleted {} bytes in {} segment(s) from offset {}",
            dir, LogSegment.fileName(base), expectedBase, dropped, bases.size() - i, base);
        break;
      }
      LogSegment segment = LogSegment.openExisting(dir, base);
      boolean last = i == bases.size() - 1;
      if (clean && !last && loadIndexes(segment)) {
        segments.add(segment);
        scanned.add(false);
        expectedBase = -1;
        continue;
      }
      long fileSize = segment.size();
      ScanResult scan = scanAndRebuild(segment, config.indexIntervalBytes());
      if (scan.problem() != null) {
        try (FileChannel ch = FileChannel.open(segment.logFile(), StandardOpenOption.WRITE)) {
          ch.truncate(scan.validBytes());
          ch.force(true);
        }
        long dropped = deleteSegments(dir, bases.subList(i + 1, bases.size()));
        LOG.warn("Log {}: {} in segment {} at offset {} (position {}); truncated {} bytes there{}",
            dir, scan.problem(), LogSegment.fileName(base), scan.endOffset(), scan.validBytes(),
            fileSize - scan.validBytes(),
            dropped > 0 || i + 1 < bases.size()
                ? " and deleted " + (bases.size() - i - 1) + " later segment(s) of " + dropped + " bytes" : "");
      }
      segment.restore(scan);
      segment.offsetIndex.writeFully();
      segment.timeIndex.writeFully();
      segments.add(segment);
      scanned.add(true);
      expectedBase = scan.endOffset();
      if (scan.problem() != null) break;
    }
    for (int i = 0; i < segments.size() - 1; i++) {
      if (!scanned.get(i)) segments.get(i).restoreClosed(segments.get(i + 1).baseOffset);
    }
    return segments;
  }

  /** Base offsets of the {@code .log} files; removes index files that have no log file. */
  private static List<Long> listSegments(Path dir) throws IOException {
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

  private static long deleteSegments(Path dir, List<Long> bases) throws IOException {
    long bytes = 0;
    for (long base : bases) {
      String name = LogSegment.fileName(base);
      Path log = dir.resolve(name + LogSegment.LOG_SUFFIX);
      if (Files.exists(log)) bytes += Files.size(log);
      Files.deleteIfExists(log);
      Files.deleteIfExists(dir.resolve(name + LogSegment.INDEX_SUFFIX));
      Files.deleteIfExists(dir.resolve(name + LogSegment.TIME_INDEX_SUFFIX));
    }
    return bytes;
  }

  /**
   * Loads a closed segment's index files; false when they are missing or do not fit the log file
   * (entries out of order or beyond the file, no time entry for a non-empty file, first frame or
   * last indexed frame not where the index says).
   */
  private static boolean loadIndexes(LogSegment segment) throws IOException {
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
