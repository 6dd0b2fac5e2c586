package dev.brook.broker.log;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.brook.proto.v1.Record;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordBatchList;
import dev.brook.proto.v1.RecordList;
import dev.brook.protocol.Compression;
import dev.brook.protocol.StoredBatch;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One segment of a partition log: a {@code .log} file of stored frames whose first batch has the
 * base offset in the file name, plus its {@link OffsetIndex} and {@link TimeIndex}.
 *
 * <p>Threading. One writer (the owning {@link PartitionLog}, under its write lock) appends,
 * rolls and truncates; it keeps its position in plain fields and publishes what readers may see
 * through the volatile {@link #size()} only after the bytes are written. Readers use positional
 * reads on a read-only channel and never read at or beyond {@link #size()}. The active segment has
 * a second, write-only channel; readers have their own so that a reader interrupted mid-read
 * (which makes the JDK close the channel it used) cannot break the writer. A segment deleted under
 * a reader closes its channels: the reader sees a {@link java.nio.channels.ClosedChannelException}
 * and {@link PartitionLog#read} retries against the new segment list.
 */
final class LogSegment {
  private static final Logger LOG = LoggerFactory.getLogger(LogSegment.class);
  static final String LOG_SUFFIX = ".log";
  static final String INDEX_SUFFIX = ".index";
  static final String TIME_INDEX_SUFFIX = ".timeindex";

  /** Frame tag, longest length varint, fixed header, records tag, longest records varint. */
  static final int MAX_PREFIX_SIZE = 1 + 5 + StoredBatch.HEADER_SIZE + 1 + 5;

  final long baseOffset;
  private final Path logFile;
  final OffsetIndex offsetIndex;
  final TimeIndex timeIndex;

  private volatile FileChannel readChannel;
  private volatile boolean closed;
  private volatile long size;
  private volatile long maxTimestamp = Long.MIN_VALUE;
  /**
   * Set when an offset index entry pointed at a batch other than the one it names while the log
   * itself was sound (the index file was damaged on disk, and passed its load checks): from then
   * on reads walk this segment's batch headers from its start and ignore the index, whose file is
   * deleted so that the next start rebuilds it from the log. The data was never wrong, so this is
   * not corruption of the replica.
   */
  private volatile boolean offsetIndexDistrusted;

  // Writer state, touched only under PartitionLog's write lock.
  private FileChannel writeChannel;
  private long writePosition;
  private long endOffset;
  private int relOffsetOfMaxTimestamp;
  private long firstBatchMaxTimestamp = Long.MIN_VALUE;
  private long bytesSinceIndexEntry;

  private LogSegment(Path dir, long baseOffset) throws IOException {
    this.baseOffset = baseOffset;
    String name = fileName(baseOffset);
    this.logFile = dir.resolve(name + LOG_SUFFIX);
    this.offsetIndex = new OffsetIndex(dir.resolve(name + INDEX_SUFFIX));
    this.timeIndex = new TimeIndex(dir.resolve(name + TIME_INDEX_SUFFIX));
    this.endOffset = baseOffset;
  }

  /** Kafka's naming: the base offset, zero-padded to 20 digits. */
  static String fileName(long baseOffset) {
    return String.format("%020d", baseOffset);
  }

  /** Creates an empty segment, open for appends. */
  static LogSegment create(Path dir, long baseOffset) throws IOException {
    LogSegment s = new LogSegment(dir, baseOffset);
    Files.deleteIfExists(s.offsetIndex.file());
    Files.deleteIfExists(s.timeIndex.file());
    FileChannel.open(s.logFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING).close();
    s.readChannel = FileChannel.open(s.logFile, StandardOpenOption.READ);
    s.openForAppend();
    return s;
  }

  /** Opens an existing segment file for reading; recovery then loads or rebuilds its state. */
  static LogSegment openExisting(Path dir, long baseOffset) throws IOException {
    LogSegment s = new LogSegment(dir, baseOffset);
    s.readChannel = FileChannel.open(s.logFile, StandardOpenOption.READ);
    s.writePosition = s.readChannel.size();
    s.size = s.writePosition;
    return s;
  }

  Path logFile() {
    return logFile;
  }

  /** Bytes readers may read: every frame below is whole and belongs to the published log. */
  long size() {
    return size;
  }

  /** The largest max timestamp of the segment's batches, Long.MIN_VALUE when empty. */
  long maxTimestamp() {
    return maxTimestamp;
  }

  boolean isClosed() {
    return closed;
  }

  /** Writer only: the offset after this segment's last batch. */
  long endOffset() {
    return endOffset;
  }

  /** Writer only: bytes written, published or not. */
  long writePosition() {
    return writePosition;
  }

  /** The channel readers use; reopened if a reader's interrupt closed it. */
  FileChannel readChannel() throws IOException {
    FileChannel ch = readChannel;
    if (ch.isOpen() || closed) return ch;
    synchronized (this) {
      if (!readChannel.isOpen() && !closed) {
        readChannel = FileChannel.open(logFile, StandardOpenOption.READ);
      }
      return readChannel;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writer side

  /** Sets the writer state found by recovery (or a post-truncation scan) and publishes it. */
  void restore(SegmentRecovery.ScanResult scan) {
    writePosition = scan.validBytes();
    endOffset = scan.endOffset();
    maxTimestamp = scan.maxTimestamp();
    relOffsetOfMaxTimestamp = scan.relOffsetOfMaxTimestamp();
    firstBatchMaxTimestamp = scan.firstBatchMaxTimestamp();
    bytesSinceIndexEntry = scan.bytesSinceIndexEntry();
    size = writePosition;
  }

  /** Sets the state of a closed segment whose index files were loaded instead of scanned. */
  void restoreClosed(long nextSegmentBase) {
    endOffset = nextSegmentBase;
    maxTimestamp = timeIndex.lastTimestamp();
    relOffsetOfMaxTimestamp = (int) Math.max(0, timeIndex.lastRelOffset());
  }

  /** Opens the write channels; also reopens them after an interrupt closed them mid-write. */
  void openForAppend() throws IOException {
    if (writeChannel == null || !writeChannel.isOpen()) {
      writeChannel = FileChannel.open(logFile, StandardOpenOption.WRITE);
      writeChannel.position(writePosition);
    }
    offsetIndex.openForAppend();
    timeIndex.openForAppend();
  }

  /** The max timestamp of the segment's first batch, or Long.MIN_VALUE when empty. */
  long firstBatchMaxTimestamp() {
    return firstBatchMaxTimestamp;
  }

  boolean isActive() {
    return writeChannel != null;
  }

  /**
   * Whether a batch of {@code frameSize} bytes with offsets from {@code batchBase} must go to a
   * new segment: the file would pass segment.bytes, the relative offset would not fit the index's
   * int32, or the batch's timestamps are more than segment.ms past the segment's first batch
   * (Kafka's rule: time is measured in record timestamps, not on the broker's clock, so a producer
   * replaying old data does not roll a segment per batch, and a follower, seeing the same
   * batches, rolls exactly where its leader did). An empty segment never rolls, so a single batch
   * larger than segment.bytes still finds a home.
   */
  boolean shouldRoll(int frameSize, long batchBase, int recordCount, long batchMaxTimestamp, LogConfig config) {
    if (writePosition == 0) return false;
    if (writePosition + frameSize > config.segmentBytes()) return true;
    if (batchBase + recordCount - 1 - baseOffset > Integer.MAX_VALUE) return true;
    return rollsForTime(batchMaxTimestamp, config);
  }

  /** Whether a batch with this max timestamp is more than segment.ms newer than the first batch. */
  boolean rollsForTime(long batchMaxTimestamp, LogConfig config) {
    return writePosition != 0 && spansTooLong(firstBatchMaxTimestamp, batchMaxTimestamp, config);
  }

  /** Whether {@code batchMaxTimestamp} is more than segment.ms after {@code firstMaxTimestamp}. */
  static boolean spansTooLong(long firstMaxTimestamp, long batchMaxTimestamp, LogConfig config) {
    if (firstMaxTimestamp == Long.MIN_VALUE || batchMaxTimestamp <= firstMaxTimestamp) return false;
    long span = batchMaxTimestamp - firstMaxTimestamp;
    return span < 0 /* overflow */ || span > config.segmentMs();
  }

  /**
   * Writes one batch as a frame at the end of the file with a gathering write of a small prefix
   * (frame tag, lengths, fixed header with the assigned base offset and epoch) and the records
   * bytes exactly as they arrived, never copied into a buffer of ours. Not visible to readers
   * until {@link #publish()}.
   */
  void append(RecordBatch batch, long batchBase, int leaderEpoch, ByteBuffer prefix, int indexIntervalBytes)
      throws IOException {
    ByteString records = batch.getRecords();
    prefix.clear();
    StoredBatch.writeFramePrefix(prefix, batch, batchBase, leaderEpoch);
    prefix.flip();
    List<ByteBuffer> parts = records.asReadOnlyByteBufferList();
    ByteBuffer[] sources = new ByteBuffer[1 + parts.size()];
    sources[0] = prefix;
    for (int i = 0; i < parts.size(); i++) {
      sources[i + 1] = parts.get(i);
    }
    long frameSize = prefix.remaining() + (long) records.size();
    long remaining = frameSize;
    while (remaining > 0) {
      remaining -= writeChannel.write(sources);
    }
    appended(batchBase, batch.getRecordCount(), batch.getMaxTimestamp(), frameSize, indexIntervalBytes);
  }

  /**
   * Writes stored frames exactly as a leader sent them (offsets and epochs already assigned, see
   * {@link PartitionLog#appendAsFollower}): frames {@code from} (inclusive) to {@code to}
   * (exclusive) of {@code frames}, in one write of the contiguous bytes. Not visible to readers
   * until {@link #publish()}.
   */
  void appendFrames(StoredFrames frames, int from, int to, int indexIntervalBytes) throws IOException {
    ByteBuffer run = frames.bytes().duplicate();
    run.limit(frames.position(to - 1) + frames.size(to - 1)).position(frames.position(from));
    while (run.hasRemaining()) {
      writeChannel.write(run);
    }
    for (int i = from; i < to; i++) {
      appended(frames.baseOffset(i), frames.recordCount(i), frames.maxTimestamp(i), frames.size(i), indexIntervalBytes);
    }
  }

  /** Writer bookkeeping after a frame was written at {@link #writePosition}: indexes, timestamps, end. */
  private void appended(long batchBase, int recordCount, long batchMaxTimestamp, long frameSize, int indexIntervalBytes)
      throws IOException {
    long position = writePosition;
    int rel = (int) (batchBase - baseOffset);
    if (position == 0) firstBatchMaxTimestamp = batchMaxTimestamp;
    if (batchMaxTimestamp > maxTimestamp || position == 0) {
      maxTimestamp = batchMaxTimestamp;
      relOffsetOfMaxTimestamp = rel;
    }
    if (bytesSinceIndexEntry > indexIntervalBytes) {
      offsetIndex.append(rel, (int) position);
      timeIndex.maybeAppend(maxTimestamp, relOffsetOfMaxTimestamp);
      bytesSinceIndexEntry = 0;
    }
    bytesSinceIndexEntry += frameSize;
    writePosition = position + frameSize;
    endOffset = batchBase + recordCount;
  }

  /** Makes everything written so far visible to readers. */
  void publish() {
    size = writePosition;
  }

  /** fdatasync of the log file (indexes are rebuilt on recovery, so they are synced only on roll). */
  void flush() throws IOException {
    if (writeChannel != null) writeChannel.force(false);
  }

  /**
   * The segment stops being active: records its final max timestamp in the time index (so a
   * restart need not scan it), fsyncs everything and closes the write channels.
   */
  void closeForAppend() throws IOException {
    if (writeChannel == null) return;
    if (writePosition > 0) timeIndex.maybeAppend(maxTimestamp, relOffsetOfMaxTimestamp);
    try {
      writeChannel.force(true);
    } finally {
      writeChannel.close();
      writeChannel = null;
    }
    offsetIndex.closeForAppend();
    timeIndex.closeForAppend();
  }

  /**
   * Step one of a truncation to {@code position} (the start of the batch at {@code newEndOffset}):
   * readers stop seeing anything at or beyond it. Nothing on disk changes yet.
   */
  void hideFrom(long position, long newEndOffset) {
    if (position < size) size = position;
    offsetIndex.truncateInMemoryTo(newEndOffset - baseOffset);
    timeIndex.truncateInMemoryTo(newEndOffset - baseOffset);
  }

  /**
   * Step two of a truncation: cuts the files at {@code position} and recomputes the writer state
   * by scanning what is left. Must follow {@link #hideFrom}. The segment must be active.
   */
  void truncateFiles(long position, int indexIntervalBytes) throws IOException {
    writeChannel.truncate(position);
    writeChannel.position(position);
    offsetIndex.truncateFile();
    timeIndex.truncateFile();
    SegmentRecovery.ScanResult scan = SegmentRecovery.scanHeaders(this, position, indexIntervalBytes);
    restore(scan);
  }

  /** Closes the channels (fsyncing an active segment), keeping the files. */
  void close() throws IOException {
    try {
      closeForAppend();
    } finally {
      closed = true;
      readChannel.close();
    }
  }

  /** Closes without fsync and removes the files. */
  void delete() throws IOException {
    closed = true;
    if (writeChannel != null) {
      try {
        writeChannel.close();
      } catch (IOException ignored) {
        // the file goes away anyway
      }
      writeChannel = null;
    }
    offsetIndex.closeQuietly();
    timeIndex.closeQuietly();
    try {
      readChannel.close();
    } catch (IOException ignored) {
      // the file goes away anyway
    }
    Files.deleteIfExists(logFile);
    Files.deleteIfExists(offsetIndex.file());
    Files.deleteIfExists(timeIndex.file());
  }

  // ---------------------------------------------------------------------------------------------
  // Reader side (lock-free)

  /**
   * Positions {@code cursor} on the batch containing {@code offset} (or the first batch after it),
   * reading below {@code limit} only. False when no such batch is in this segment.
   */
  boolean seek(FrameCursor cursor, long offset, long limit) throws IOException {
    cursor.reset(readChannel(), limit);
    long entry = offsetIndexDistrusted ? -1 : offsetIndex.floorEntry(offset - baseOffset);
    if (entry < 0) return walk(cursor, offset, 0, baseOffset);
    try {
      return walk(cursor, offset, entry & 0xFFFFFFFFL, baseOffset + (entry >>> 32));
    } catch (FrameFormatException fromIndex) {
      // The index or the log is damaged. Walking from the first batch tells which: it throws
      // when the log is (that is corruption, reported as such), and succeeds when only the index is.
      boolean found = walk(cursor, offset, 0, baseOffset);
      distrustOffsetIndex(fromIndex.getMessage());
      return found;
    }
  }

  /**
   * Walks batch headers from the batch at {@code position}, which must start at {@code expected},
   * to the one containing {@code offset} (or the first after it).
   */
  private static boolean walk(FrameCursor cursor, long offset, long position, long expected) throws IOException {
    long at = position;
    try {
      if (!cursor.load(at)) return false;
      // base_offset is not covered by the CRC: every header walked over must continue the one
      // before, or a damaged offset would make the walk land on (and serve) the wrong batch.
      while (true) {
        if (cursor.baseOffset != expected) {
          throw new FrameFormatException("batch at position " + cursor.position + " claims offset " + cursor.baseOffset
              + ", expected " + expected, cursor.position, expected);
        }
        if (cursor.lastOffset() >= offset) return true;
        expected = cursor.lastOffset() + 1;
        at = cursor.position + cursor.frameSize;
        if (!cursor.next()) return false;
      }
    } catch (FrameFormatException e) {
      if (e.position >= 0) throw e;
      // Not a frame where one must start: name the place and the offset that belongs there.
      throw new FrameFormatException(e.getMessage(), at, expected);
    }
  }

  private void distrustOffsetIndex(String problem) {
    if (offsetIndexDistrusted) return;
    offsetIndexDistrusted = true;
    LOG.warn("Offset index {} is damaged ({}); the log is sound: reading the segment without it, and the index is "
        + "rebuilt from the log at the next start", offsetIndex.file(), problem);
    try {
      // An open append channel keeps writing to the unlinked file; the memory copy is not read any more.
      Files.deleteIfExists(offsetIndex.file());
    } catch (IOException e) {
      LOG.warn("Cannot delete the damaged offset index {}: {}", offsetIndex.file(), e.toString());
    }
  }

  /** Whether a damaged offset index was found and is ignored (see {@link #offsetIndexDistrusted}). */
  boolean offsetIndexDistrusted() {
    return offsetIndexDistrusted;
  }

  /** Frames read by {@link #read}: {@code records} may be empty when the next batch is not readable yet. */
  record Slice(ByteString records, long firstBatchOffset) {}

  /**
   * Reads whole frames starting with the batch containing {@code fetchOffset}: at most
   * {@code maxBytes}, but at least one batch, and no batch whose last offset is at or beyond
   * {@code limitOffset}. Returns null when this segment has no batch at or after
   * {@code fetchOffset}.
   *
   * <p>The bytes are copied once, from the page cache into a heap array with a positional read,
   * and handed to protobuf without another copy. The array is sized to the bytes available up to
   * {@code maxBytes}; the returned ByteString covers only the whole frames, so at most one partial
   * frame at the end is read for nothing. (mmap or a FileRegion-style zero-copy send is a
   * possible later step; gRPC copies the ByteString into its own buffers anyway.)
   */
  Slice read(long fetchOffset, int maxBytes, long limitOffset) throws IOException {
    long limit = size;
    FrameCursor cursor = FrameCursor.forThisThread();
    if (!seek(cursor, fetchOffset, limit)) return null;
    long firstBase = cursor.baseOffset;
    if (firstBase > fetchOffset) {
      // Offsets have no gaps (no compaction yet): the batch holding fetchOffset is missing.
      throw new FrameFormatException("no batch holds offset " + fetchOffset + "; the next starts at " + firstBase,
          cursor.position, fetchOffset);
    }
    if (cursor.lastOffset() >= limitOffset) return new Slice(ByteString.EMPTY, firstBase);
    long start = cursor.position;
    int firstSize = cursor.frameSize;
    long end = limit;
    // Only a bound on the bytes read (every frame is checked against limitOffset below), so an
    // index entry that cannot be right (inside the first frame) is ignored rather than trusted.
    long beyondLimit = offsetIndexDistrusted ? -1 : offsetIndex.ceilingPosition(limitOffset - baseOffset);
    if (beyondLimit >= start + firstSize) end = Math.min(end, beyondLimit);
    int length = (int) Math.min(end - start, Math.max(maxBytes, firstSize));
    byte[] bytes = new byte[length];
    readFully(readChannel(), bytes, start);
    ByteBuffer view = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int taken = 0;
    long expected = firstBase;
    while (taken < length) {
      int frame = StoredBatch.frameSizeAt(view, taken, length);
      if (frame == -1) break;
      // Every frame served is checked (structure, CRC, contiguous offsets): a batch damaged on
      // disk after it was written must never reach a consumer or a follower as if it were good.
      String problem = frame < 0 ? "not a frame"
          : !StoredBatch.isValid(view, taken, frame) ? "CRC or header mismatch"
          : taken > 0 && StoredBatch.baseOffset(view, taken) != expected ? "offsets not contiguous" : null;
      if (problem != null) {
        if (taken == 0) throw new FrameFormatException(problem, start, expected);
        break; // serve the good frames before it; the next read starts at the bad one
      }
      if (StoredBatch.lastOffset(view, taken) >= limitOffset) break;
      expected = StoredBatch.lastOffset(view, taken) + 1;
      taken += frame;
    }
    if (taken < firstSize || StoredBatch.baseOffset(view, 0) != firstBase) {
      throw new FrameFormatException("frame at position " + start + " changed while reading");
    }
    return new Slice(UnsafeByteOperations.unsafeWrap(bytes, 0, taken), firstBase);
  }

  private static void readFully(FileChannel channel, byte[] bytes, long position) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(bytes);
    while (buf.hasRemaining()) {
      int n = channel.read(buf, position + buf.position());
      if (n < 0) throw new EOFException("segment ended at " + (position + buf.position()));
    }
  }

  /**
   * The first record below {@code limitOffset} whose timestamp is at least {@code timestamp}: its
   * offset and timestamp, or null. Starts after the last time index entry below the timestamp,
   * skips batches whose max timestamp is smaller, and decodes the records of the first batch that
   * may hold one (an offset lookup, not the data path, so decoding is fine here).
   */
  OffsetAndTimestamp findByTimestamp(long timestamp, long limitOffset) throws IOException {
    if (maxTimestamp < timestamp) return null;
    long rel = timeIndex.lastRelOffsetBelow(timestamp);
    FrameCursor cursor = FrameCursor.forThisThread();
    // The batch holding rel (a hint from the time index) through the offset index's checked walk;
    // the scan from there on only skips batches by max timestamp.
    if (rel >= 0 ? !seek(cursor, baseOffset + rel, size) : !cursor.reset(readChannel(), size).load(0)) return null;
    do {
      if (cursor.baseOffset >= limitOffset) return null;
      if (cursor.maxTimestamp >= timestamp) {
        OffsetAndTimestamp found = firstRecordAtOrAfter(cursor.position, cursor.frameSize, timestamp, limitOffset);
        if (found != null) return found;
      }
    } while (cursor.next());
    return null;
  }

  private OffsetAndTimestamp firstRecordAtOrAfter(long position, int frameSize, long timestamp, long limitOffset)
      throws IOException {
    byte[] bytes = new byte[frameSize];
    readFully(readChannel(), bytes, position);
    RecordBatchList list = RecordBatchList.parseFrom(bytes);
    if (list.getBatchesCount() != 1) throw new FrameFormatException("not one batch at position " + position);
    RecordBatch batch = list.getBatches(0);
    RecordList records = RecordList.parseFrom(Compression.decompress(
        Compression.codecOf(batch.getAttributes()), batch.getRecords()));
    for (Record r : records.getRecordsList()) {
      long offset = batch.getBaseOffset() + r.getOffsetDelta();
      long ts = batch.getBaseTimestamp() + r.getTimestampDelta();
      if (offset >= limitOffset) return null;
      if (ts >= timestamp) return new OffsetAndTimestamp(offset, ts);
    }
    return null;
  }

  @Override
  public String toString() {
    return logFile.getFileName().toString();
  }
}
