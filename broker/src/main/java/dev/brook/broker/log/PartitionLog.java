package dev.brook.broker.log;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.protocol.BatchValidator;
import dev.brook.protocol.InvalidBatchException;
import dev.brook.protocol.StoredBatch;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable log of one partition replica: a directory of {@link LogSegment}s whose
 * concatenation is, byte for byte, the protobuf encoding of a {@code RecordBatchList}. Batches are
 * stored exactly as the producer encoded their records; only the fixed-width base offset and
 * leader epoch are written by the broker.
 *
 * <p>Threading and invariants.
 * <ul>
 *   <li><b>One writer.</b> {@link #append} is called by one thread at a time per partition (the
 *       caller serializes produce requests). Every mutation ({@code append}, roll, retention,
 *       truncation, config change, close) additionally holds {@code writeLock}, so a retention
 *       or flush task on another thread is safe; the lock is uncontended on the append path.
 *   <li><b>Lock-free readers.</b> {@link #read}, {@link #offsetForTimestamp} and the offset
 *       getters never take the lock. The writer writes bytes first, then publishes each touched
 *       segment's size, then the log end offset, all through volatiles; a reader reads the log
 *       end first and never reads beyond it or beyond a segment's published size. An append is
 *       published as a whole, so a reader sees all of a produce request or none of it.
 *   <li><b>Segments</b> live in a {@link ConcurrentSkipListMap} by base offset; they cover
 *       contiguous offset ranges, the last one is the only active (writable) one, and
 *       {@code logStartOffset} is the first segment's base offset.
 *   <li><b>Deletion and truncation under readers.</b> Retention removes whole closed segments:
 *       a reader still in one gets a closed-channel error, retries, and then finds its offset
 *       below the new log start (OFFSET_OUT_OF_RANGE). Truncation first hides the dropped range
 *       (lower log end, segment size, index counts), then bumps {@code truncations}, then changes
 *       files; a reader that saw a different generation before and after its read retries, so no
 *       reader returns bytes from a range that was cut and rewritten.
 *   <li><b>Leader epochs.</b> The {@link LeaderEpochHistory} says where each leader epoch
 *       starts. Its entry for an epoch is persisted before the first batch of that epoch is
 *       written (by {@link #append} as leader, {@link #appendAsFollower} as follower, or
 *       {@link #assignEpoch} when this replica takes over), it is truncated together with the
 *       log, and it is validated (or rebuilt from the batch headers) on open.
 *   <li><b>Leaders and followers write differently.</b> A leader's {@link #append} assigns offsets
 *       and stamps its epoch; a follower's {@link #appendAsFollower} takes frames whose offsets
 *       and epochs the leader assigned and writes them byte for byte. Both follow the same
 *       rolling and flushing rules; the owner ({@code Partition}) makes sure only one of them is
 *       used at a time.
 * </ul>
 */
public final class PartitionLog implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(PartitionLog.class);
  private static final int READ_ATTEMPTS = 5;

  private final Path dir;
  private final LongSupplier clockMs;
  private final ConcurrentSkipListMap<Long, LogSegment> segments = new ConcurrentSkipListMap<>();
  private final ReentrantLock writeLock = new ReentrantLock();
  private final LeaderEpochHistory epochs;
  private volatile LogConfig config;
  private volatile long logStartOffset;
  private volatile long logEndOffset;
  private volatile int truncations;
  private volatile boolean closed;
  private final long recoveryCutAt;

  // Writer state, guarded by writeLock.
  /** Everything below this offset is fsynced: every rolled segment, and the active one up to its last flush. */
  private long flushedOffset;
  /** The offset last written to the {@link RecoveryPoint} file (never above what is durable). */
  private long persistedRecoveryPoint;
  private LogSegment active;
  private final ByteBuffer prefix = ByteBuffer.allocateDirect(LogSegment.MAX_PREFIX_SIZE);
  private long unflushedRecords;
  private long oldestUnflushedMs = -1;
  private boolean failed;

  private PartitionLog(Path dir, LogConfig config, LongSupplier clockMs, List<LogSegment> recovered,
      LeaderEpochHistory epochs, long recoveryCutAt) {
    this.dir = dir;
    this.recoveryCutAt = recoveryCutAt;
    this.epochs = epochs;
    this.config = config;
    this.clockMs = clockMs;
    for (LogSegment s : recovered) segments.put(s.baseOffset, s);
    this.active = recovered.get(recovered.size() - 1);
    this.logStartOffset = recovered.get(0).baseOffset;
    this.logEndOffset = active.endOffset();
    this.flushedOffset = active.baseOffset;
    this.persistedRecoveryPoint = Math.min(RecoveryPoint.read(dir), logEndOffset);
  }

  /**
   * Opens the log of a partition that has no other replica, see
   * {@link #open(Path, LogConfig, LongSupplier, boolean)}.
   */
  public static PartitionLog open(Path dir, LogConfig config, LongSupplier clockMs) throws IOException {
    return open(dir, config, clockMs, false);
  }

  /**
   * Opens the log in {@code dir}, creating it when empty and recovering it otherwise (see
   * {@link SegmentRecovery}). {@code clockMs} is the broker clock, used for append times,
   * segment.ms, flush.ms and retention.ms.
   *
   * @param replicated whether other replicas of the partition exist: then damage found on disk
   *     is set aside and the log cut before it ({@link #recoveryCutAt()}), to be fetched again
   *     from the leader; otherwise the open fails with {@link DamagedLogException} and nothing
   *     on disk is changed
   */
  public static PartitionLog open(Path dir, LogConfig config, LongSupplier clockMs, boolean replicated)
      throws IOException {
    SegmentRecovery.Recovered result = SegmentRecovery.recover(dir, config,
        replicated ? SegmentRecovery.OnDamage.SET_ASIDE_AND_CUT : SegmentRecovery.OnDamage.REFUSE);
    List<LogSegment> recovered = result.segments();
    LeaderEpochHistory epochs;
    try {
      recovered.get(recovered.size() - 1).openForAppend();
      epochs = recoverEpochs(dir, recovered);
    } catch (IOException | RuntimeException e) {
      for (LogSegment s : recovered) {
        try {
          s.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
    PartitionLog log = new PartitionLog(dir, config, clockMs, recovered, epochs, result.cutAt());
    if (RecoveryPoint.read(dir) > log.logEndOffset()) RecoveryPoint.lower(dir, log.logEndOffset());
    return log;
  }

  /**
   * Where recovery cut this log because its data was damaged on disk (the replica must copy
   * everything from there again from its leader before it may be trusted), or -1.
   */
  public long recoveryCutAt() {
    return recoveryCutAt;
  }

  /**
   * Loads the epoch history and fits it to the recovered segments: entries beyond the log end
   * (written before a tail that was lost) are dropped, the first is moved up to the log start.
   * When the file is missing or invalid, or older than the last batch's epoch (which the write
   * order rules out unless the file was tampered with), it is rebuilt from the batch headers.
   */
  private static LeaderEpochHistory recoverEpochs(Path dir, List<LogSegment> segments) throws IOException {
    long start = segments.get(0).baseOffset;
    long end = segments.get(segments.size() - 1).endOffset();
    LeaderEpochHistory loaded = LeaderEpochHistory.load(dir);
    if (loaded != null) {
      loaded.truncateFromEnd(end);
      loaded.truncateFromStart(start);
      int lastBatchEpoch = lastBatchEpoch(segments);
      boolean fits = end == start
          || (!loaded.entries().isEmpty() && loaded.entries().get(0).startOffset() == start
              && loaded.latestEpoch() == lastBatchEpoch);
      if (fits) return loaded;
      LOG.warn("Log {}: {} does not match the log (last batch epoch {}); rebuilding it", dir, loaded, lastBatchEpoch);
    }
    List<LeaderEpochHistory.Entry> seen = new ArrayList<>();
    int last = -1;
    for (LogSegment s : segments) {
      FrameCursor cursor = new FrameCursor().reset(s.readChannel(), s.size());
      for (boolean more = cursor.load(0); more; more = cursor.next()) {
        if (cursor.leaderEpoch > last) {
          seen.add(new LeaderEpochHistory.Entry(cursor.leaderEpoch, cursor.baseOffset));
          last = cursor.leaderEpoch;
        }
      }
    }
    return LeaderEpochHistory.rebuilt(dir, seen);
  }

  /** The epoch of the last batch, read from the last offset index entry onwards; -1 when empty. */
  private static int lastBatchEpoch(List<LogSegment> segments) throws IOException {
    for (int i = segments.size() - 1; i >= 0; i--) {
      LogSegment s = segments.get(i);
      if (s.size() == 0) continue;
      long entry = s.offsetIndex.lastEntry();
      long from = entry < 0 ? 0 : (entry & 0xFFFFFFFFL);
      FrameCursor cursor = new FrameCursor().reset(s.readChannel(), s.size());
      int epoch = -1;
      for (boolean more = cursor.load(from); more; more = cursor.next()) epoch = cursor.leaderEpoch;
      return epoch;
    }
    return -1;
  }

  // ---------------------------------------------------------------------------------------------
  // Append

  /**
   * Checks the batches of one produce request against every rule of records.proto (see
   * {@link BatchValidator}) and this log's max.message.bytes, without writing anything. Safe to
   * call from any thread, outside the append lock: a request is validated in parallel with other
   * partitions' appends.
   *
   * @throws LogException CORRUPT_RECORD, INVALID_REQUEST, UNSUPPORTED_COMPRESSION or
   *     RECORD_TOO_LARGE naming the first batch that breaks a rule
   */
  public ValidatedBatches validate(List<RecordBatch> batches) throws LogException {
    if (batches.isEmpty()) throw new LogException(ErrorCode.INVALID_REQUEST, "a produce request needs at least one batch");
    LogConfig cfg = config;
    BatchValidator validator = BatchValidator.forThread();
    for (int i = 0; i < batches.size(); i++) {
      RecordBatch batch = batches.get(i);
      long frameSize = StoredBatch.frameSize(batch.getRecords().size());
      if (frameSize > cfg.maxMessageBytes()) {
        throw new LogException(ErrorCode.RECORD_TOO_LARGE, "batch " + i + " is " + frameSize
            + " bytes stored, larger than max.message.bytes " + cfg.maxMessageBytes());
      }
      try {
        validator.validate(batch, i, cfg.maxMessageBytes());
      } catch (InvalidBatchException e) {
        throw new LogException(e.code(), e.getMessage());
      }
    }
    return new ValidatedBatches(batches);
  }

  /** Validates ({@link #validate}) and appends ({@link #append(ValidatedBatches, int)}). */
  public AppendResult append(List<RecordBatch> batches, int leaderEpoch) throws LogException {
    return append(validate(batches), leaderEpoch);
  }

  /**
   * Appends the batches of one produce request atomically (all or none), as leader: offsets are
   * assigned consecutively from the log end and the leader epoch is stamped. Only validated
   * batches can be appended (the type says so). Single writer: callers serialize appends per
   * partition.
   */
  public AppendResult append(ValidatedBatches validated, int leaderEpoch) throws LogException {
    List<RecordBatch> batches = validated.batches();
    LogConfig cfg = config;
    writeLock.lock();
    try {
      if (closed) throw new LogException(ErrorCode.STORAGE_ERROR, "log " + dir + " is closed");
      if (failed) throw new LogException(ErrorCode.STORAGE_ERROR, "log " + dir + " failed an earlier write; reopen it to recover");
      if (leaderEpoch < epochs.latestEpoch()) {
        throw new LogException(ErrorCode.FENCED_LEADER_EPOCH, "leader epoch " + leaderEpoch + " is older than epoch "
            + epochs.latestEpoch() + " already in " + dir);
      }
      assignEpochLocked(leaderEpoch, logEndOffset);
      long now = clockMs.getAsLong();
      LogSegment first = active;
      long firstPosition = first.writePosition();
      long firstOffset = logEndOffset;
      long next = firstOffset;
      long maxTimestamp = Long.MIN_VALUE;
      long records = 0;
      try {
        for (RecordBatch batch : batches) {
          int frameSize = StoredBatch.frameSize(batch.getRecords().size());
          if (active.shouldRoll(frameSize, next, batch.getRecordCount(), batch.getMaxTimestamp(), cfg)) roll(next);
          active.append(batch, next, leaderEpoch, prefix, cfg.indexIntervalBytes());
          next += batch.getRecordCount();
          records += batch.getRecordCount();
          maxTimestamp = Math.max(maxTimestamp, batch.getMaxTimestamp());
        }
      } catch (IOException e) {
        rollBack(first, firstPosition, firstOffset, cfg);
        throw new LogException(ErrorCode.STORAGE_ERROR, "write to " + dir + " failed: " + e, e);
      }
      for (LogSegment s : segments.tailMap(first.baseOffset, true).values()) {
        s.publish();
      }
      logEndOffset = next;
      maybeFlush(records, now, cfg);
      return new AppendResult(firstOffset, next - 1, now, maxTimestamp, leaderEpoch);
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Appends frames copied from the leader's log (a follower fetch response's {@code records}):
   * their offsets and epochs are already assigned, so they are written byte for byte, in as few
   * writes as segment rolls allow, never decoded or re-encoded. All or none: every frame is
   * checked first (whole, well formed, CRC, contiguous offsets, non-decreasing epochs) and the
   * first must start exactly at the log end. A batch of a new epoch is recorded in the epoch
   * history before it is written. Single writer, like {@link #append}.
   *
   * @throws LogException CORRUPT_RECORD for a bad frame, OFFSET_OUT_OF_RANGE when the first frame
   *     does not start at the log end, FENCED_LEADER_EPOCH when a frame's epoch is older than
   *     the history's latest, STORAGE_ERROR for I/O failures
   */
  public AppendResult appendAsFollower(ByteString frames) throws LogException {
    // No record size limit: the leader accepted these under the config of their time, and a
    // follower must copy them even if max.message.bytes was lowered since.
    StoredFrames run = StoredFrames.parse(frames, Integer.MAX_VALUE);
    writeLock.lock();
    try {
      if (closed) throw new LogException(ErrorCode.STORAGE_ERROR, "log " + dir + " is closed");
      if (failed) throw new LogException(ErrorCode.STORAGE_ERROR, "log " + dir + " failed an earlier write; reopen it to recover");
      long firstOffset = logEndOffset;
      if (run.firstOffset() != firstOffset) {
        throw new LogException(ErrorCode.OFFSET_OUT_OF_RANGE, "frames start at offset " + run.firstOffset()
            + " but the log ends at " + firstOffset);
      }
      if (run.epoch(0) < epochs.latestEpoch()) {
        throw new LogException(ErrorCode.FENCED_LEADER_EPOCH, "frame at offset " + run.firstOffset() + " has leader epoch "
            + run.epoch(0) + ", older than epoch " + epochs.latestEpoch() + " already in " + dir);
      }
      LogConfig cfg = config;
      long now = clockMs.getAsLong();
      LogSegment first = active;
      long firstPosition = first.writePosition();
      long maxTimestamp = Long.MIN_VALUE;
      try {
        int i = 0;
        while (i < run.count()) {
          if (run.epoch(i) > epochs.latestEpoch()) epochs.assign(run.epoch(i), run.baseOffset(i));
          if (active.shouldRoll(run.size(i), run.baseOffset(i), run.recordCount(i), run.maxTimestamp(i), cfg)) {
            roll(run.baseOffset(i));
          }
          // The longest run from i that stays in this segment and in this epoch: one write. It
          // ends where the leader rolled too (the same size and timestamp rules on the same bytes).
          long segmentFirstMaxTimestamp = active.writePosition() == 0 ? run.maxTimestamp(i) : active.firstBatchMaxTimestamp();
          int j = i + 1;
          long bytes = active.writePosition() + run.size(i);
          while (j < run.count() && run.epoch(j) == run.epoch(i)) {
            bytes += run.size(j);
            if (bytes > cfg.segmentBytes() || run.baseOffset(j) + run.recordCount(j) - 1 - active.baseOffset > Integer.MAX_VALUE
                || LogSegment.spansTooLong(segmentFirstMaxTimestamp, run.maxTimestamp(j), cfg)) {
              break;
            }
            j++;
          }
          active.appendFrames(run, i, j, cfg.indexIntervalBytes());
          for (int k = i; k < j; k++) maxTimestamp = Math.max(maxTimestamp, run.maxTimestamp(k));
          i = j;
        }
      } catch (IOException e) {
        rollBack(first, firstPosition, firstOffset, cfg);
        throw new LogException(ErrorCode.STORAGE_ERROR, "write to " + dir + " failed: " + e, e);
      }
      for (LogSegment s : segments.tailMap(first.baseOffset, true).values()) {
        s.publish();
      }
      long next = run.endOffset();
      logEndOffset = next;
      maybeFlush(next - firstOffset, now, cfg);
      return new AppendResult(firstOffset, next - 1, now, maxTimestamp, epochs.latestEpoch());
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Records that {@code epoch} starts at the current log end, persisted before returning: a
   * replica taking over as leader calls this so that followers' divergence checks see the new
   * epoch even before its first batch. A no-op for an epoch not newer than the latest.
   */
  public void assignEpoch(int epoch) throws IOException {
    writeLock.lock();
    try {
      if (closed) throw new IOException("log " + dir + " is closed");
      epochs.assign(epoch, logEndOffset);
    } finally {
      writeLock.unlock();
    }
  }

  private void assignEpochLocked(int epoch, long startOffset) throws LogException {
    if (epoch <= epochs.latestEpoch()) return;
    try {
      epochs.assign(epoch, startOffset);
    } catch (IOException e) {
      throw new LogException(ErrorCode.STORAGE_ERROR, "cannot record leader epoch " + epoch + " in " + dir + ": " + e, e);
    }
  }

  /** The leader-epoch history of this log (lock-free reads). */
  public LeaderEpochHistory epochs() {
    return epochs;
  }

  /** The latest epoch in the history, -1 when none: what a follower sends as last_fetched_epoch. */
  public int latestEpoch() {
    return epochs.latestEpoch();
  }

  /** Where {@code epoch} ended in this log, see {@link LeaderEpochHistory#endOffsetFor}. */
  public EpochEndOffset endOffsetForEpoch(int epoch) {
    return epochs.endOffsetFor(epoch, logEndOffset);
  }

  /** Closes the active segment (fsync) and starts a new one at {@code baseOffset}. Under writeLock. */
  private void roll(long baseOffset) throws IOException {
    LogSegment old = active;
    old.closeForAppend();
    LogSegment created = LogSegment.create(dir, baseOffset);
    segments.put(baseOffset, created);
    active = created;
    syncDirectory();
    unflushedRecords = 0;
    oldestUnflushedMs = -1;
    // The rolled segment is fsynced: a crash can only tear what comes after it. Recorded now, so
    // recovery never mistakes damage in a closed segment for a torn write.
    flushedOffset = baseOffset;
    persistRecoveryPoint();
    LOG.debug("Log {}: rolled segment {} at offset {}", dir, old, baseOffset);
  }

  /**
   * Undoes the unpublished part of a failed append: deletes segments it created and cuts the
   * segment it started in back to where it began. Nothing here was ever visible to readers. If
   * this fails too, the log refuses further appends until it is reopened (and recovered).
   */
  private void rollBack(LogSegment first, long position, long endOffset, LogConfig cfg) {
    // An interrupt is a common cause (the JDK closes a channel whose writer is interrupted); clear
    // it so the undo itself can use fresh channels, and restore it for the caller.
    boolean interrupted = Thread.interrupted();
    try {
      lowerRecoveryPoint(endOffset);
      for (LogSegment s : new ArrayList<>(segments.tailMap(first.baseOffset, false).values())) {
        segments.remove(s.baseOffset);
        s.delete();
      }
      first.openForAppend();
      active = first;
      first.hideFrom(position, endOffset);
      first.truncateFiles(position, cfg.indexIntervalBytes());
      first.publish();
      epochs.truncateFromEnd(endOffset + 1);
    } catch (IOException | RuntimeException e) {
      failed = true;
      LOG.error("Log {}: could not undo a failed append ({}); appends are refused until the log is reopened", dir, e.toString());
    } finally {
      if (interrupted) Thread.currentThread().interrupt();
    }
  }

  private void maybeFlush(long records, long now, LogConfig cfg) throws LogException {
    unflushedRecords += records;
    if (oldestUnflushedMs < 0) oldestUnflushedMs = now;
    if (unflushedRecords >= cfg.flushMessages() || now - oldestUnflushedMs >= cfg.flushMs()) {
      try {
        flushActive();
      } catch (IOException e) {
        failed = true;
        throw new LogException(ErrorCode.STORAGE_ERROR, "fsync of " + dir + " failed: " + e, e);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Read

  /**
   * Returns whole stored frames starting with the batch that contains {@code fetchOffset}, up to
   * {@code maxBytes} (but always at least one batch when one is readable, so a consumer always
   * progresses) and never a batch whose last offset is at or beyond {@code maxOffsetExclusive}
   * (the high watermark). Thread-safe and lock-free with respect to the writer.
   *
   * <p>Every frame returned passed its CRC and structure check on the way out. A damaged frame
   * ends the result before it; when the first frame is damaged the read fails with
   * {@link CorruptLogException} naming its offset and place.
   *
   * @throws LogException OFFSET_OUT_OF_RANGE when {@code fetchOffset} is outside
   *     [logStartOffset, logEndOffset]; INVALID_REQUEST for a negative {@code maxBytes};
   *     CORRUPT_RECORD ({@link CorruptLogException}) for a damaged batch; STORAGE_ERROR when the
   *     file cannot be read
   */
  public ReadResult read(long fetchOffset, int maxBytes, long maxOffsetExclusive) throws LogException {
    if (maxBytes < 0) throw new LogException(ErrorCode.INVALID_REQUEST, "max bytes must be >= 0, got " + maxBytes);
    Exception lastFailure = null;
    for (int attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      int generation = truncations;
      long start = logStartOffset;
      long end = logEndOffset;
      if (closed) throw new LogException(ErrorCode.STORAGE_ERROR, "log " + dir + " is closed");
      if (fetchOffset < start || fetchOffset > end) throw outOfRange(fetchOffset, start, end);
      long limit = Math.min(end, maxOffsetExclusive);
      if (fetchOffset >= limit) return new ReadResult(ByteString.EMPTY, fetchOffset, start, end);
      LogSegment segment = null;
      try {
        Map.Entry<Long, LogSegment> entry = segments.floorEntry(fetchOffset);
        while (entry != null && entry.getKey() < limit) {
          segment = entry.getValue();
          LogSegment.Slice slice = segment.read(fetchOffset, maxBytes, limit);
          if (slice != null) {
            if (generation != truncations) break;
            return new ReadResult(slice.records(), slice.records().isEmpty() ? fetchOffset : slice.firstBatchOffset(), start, end);
          }
          entry = segments.higherEntry(entry.getKey());
        }
        // Nothing found below a published end offset: the log changed under us.
        lastFailure = new IllegalStateException("no batch found at offset " + fetchOffset);
      } catch (ClosedByInterruptException e) {
        Thread.currentThread().interrupt();
        throw new LogException(ErrorCode.STORAGE_ERROR, "read interrupted", e);
      } catch (IOException | RuntimeException e) {
        lastFailure = e;
        boolean raced = generation != truncations || (segment != null && segment.isClosed()) || closed;
        if (!raced && e instanceof FrameFormatException bad && segment != null) {
          // Not a race with a truncation or deletion: the bytes on disk are damaged.
          throw new CorruptLogException(bad.offset >= 0 ? bad.offset : fetchOffset, segment.logFile(),
              bad.position, bad.getMessage());
        }
        if (!raced && !(e instanceof java.nio.channels.ClosedChannelException)) break;
      }
    }
    long start = logStartOffset;
    long end = logEndOffset;
    if (fetchOffset < start || fetchOffset > end) throw outOfRange(fetchOffset, start, end);
    throw new LogException(ErrorCode.STORAGE_ERROR, "read of " + dir + " at offset " + fetchOffset + " failed: " + lastFailure, lastFailure);
  }

  private static LogException outOfRange(long offset, long start, long end) {
    return new LogException(ErrorCode.OFFSET_OUT_OF_RANGE,
        "offset " + offset + " is out of range; valid offsets are [" + start + ", " + end + "]");
  }

  /**
   * The first record whose timestamp is at least {@code timestampMs}: its offset and timestamp,
   * or null when no record has such a timestamp (Kafka's ListOffsets by time). Found through the
   * time index and the batches' max timestamps; only the records of the batch that holds the
   * answer are decoded. Lock-free.
   */
  public OffsetAndTimestamp offsetForTimestamp(long timestampMs) throws IOException {
    IOException lastFailure = null;
    for (int attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      int generation = truncations;
      long end = logEndOffset;
      try {
        for (LogSegment segment : segments.values()) {
          if (segment.baseOffset >= end) break;
          OffsetAndTimestamp found = segment.findByTimestamp(timestampMs, end);
          if (found != null) {
            if (generation != truncations) throw new FrameFormatException("truncated while searching");
            return new OffsetAndTimestamp(Math.max(found.offset(), logStartOffset), found.timestamp());
          }
        }
        return null;
      } catch (IOException e) {
        lastFailure = e;
        if (closed) break;
      }
    }
    throw lastFailure;
  }

  // ---------------------------------------------------------------------------------------------
  // Offsets, size, maintenance

  /** The first offset still in the log. */
  /** The partition's directory. */
  public Path dir() {
    return dir;
  }

  public long logStartOffset() {
    return logStartOffset;
  }

  /** The base offset of the active (last) segment: everything below it is in closed segments. Lock-free. */
  public long activeSegmentBaseOffset() {
    return segments.lastKey();
  }

  /** The offset the next appended record gets; every offset below it (and >= start) is readable. */
  public long logEndOffset() {
    return logEndOffset;
  }

  /** Published bytes over all segments. */
  public long sizeInBytes() {
    long total = 0;
    for (LogSegment s : segments.values()) total += s.size();
    return total;
  }

  public int segmentCount() {
    return segments.size();
  }

  /** fsyncs the active segment and forgets what was unflushed. Under writeLock. */
  private void flushActive() throws IOException {
    active.flush();
    flushedOffset = active.endOffset();
    unflushedRecords = 0;
    oldestUnflushedMs = -1;
  }

  /**
   * Writes the recovery point when the flushed offset moved past the recorded one. Under
   * writeLock. Called on roll and by the periodic and explicit flushes, not on every fsync of
   * the append path: a recorded value lower than the truth only makes recovery check more.
   */
  private void persistRecoveryPoint() throws IOException {
    if (flushedOffset > persistedRecoveryPoint) {
      RecoveryPoint.write(dir, flushedOffset);
      persistedRecoveryPoint = flushedOffset;
    }
  }

  /** After a truncation to {@code newEnd}: the recovery point may not stay above what is in the log. */
  private void lowerRecoveryPoint(long newEnd) throws IOException {
    flushedOffset = Math.min(flushedOffset, newEnd);
    if (persistedRecoveryPoint > newEnd) {
      RecoveryPoint.lower(dir, newEnd);
      persistedRecoveryPoint = newEnd;
    }
  }

  /** fsyncs the log up to its end (segments that were rolled are already synced). */
  public void flush() throws IOException {
    writeLock.lock();
    try {
      if (closed) return;
      flushActive();
      persistRecoveryPoint();
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * fsyncs the log when its oldest unflushed batch is at least flush.ms old by the log's clock;
   * does nothing otherwise.
   *
   * @return whether it flushed
   */
  public boolean flushIfDue() throws IOException {
    writeLock.lock();
    try {
      if (closed || failed) return false;
      persistRecoveryPoint(); // what the append path's flushes covered
      if (oldestUnflushedMs < 0) return false;
      if (clockMs.getAsLong() - oldestUnflushedMs < config.flushMs()) return false;
      flushActive();
      persistRecoveryPoint();
      return true;
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Deletes closed segments, oldest first, while the oldest one's newest timestamp is older than
   * now - retention.ms (unless retention.ms is -1) or the log is larger than retention.bytes
   * (unless -1). Never deletes the active segment. Advances the log start offset to the new first
   * segment. Returns how many segments were deleted.
   */
  public int enforceRetention() throws IOException {
    return enforceRetention(Long.MAX_VALUE);
  }

  /**
   * As {@link #enforceRetention()}, but deletes only segments that lie wholly below
   * {@code highWatermark} (the next segment starts at or below it): data not yet replicated to
   * every in-sync replica is never removed by retention, so followers always find it.
   */
  public int enforceRetention(long highWatermark) throws IOException {
    writeLock.lock();
    try {
      if (closed) return 0;
      LogConfig cfg = config;
      long now = clockMs.getAsLong();
      long total = sizeInBytes();
      int deleted = 0;
      while (segments.size() > 1) {
        LogSegment oldest = segments.firstEntry().getValue();
        if (oldest == active) break;
        boolean expired = cfg.retentionMs() >= 0 && oldest.maxTimestamp() < now - cfg.retentionMs();
        boolean oversized = cfg.retentionBytes() >= 0 && total > cfg.retentionBytes();
        if (!expired && !oversized) break;
        long newStart = segments.higherKey(oldest.baseOffset);
        if (newStart > highWatermark) break;
        logStartOffset = newStart;
        segments.remove(oldest.baseOffset);
        total -= oldest.size();
        oldest.delete();
        deleted++;
      }
      if (deleted > 0) {
        epochs.truncateFromStart(logStartOffset);
        LOG.info("Log {}: retention deleted {} segment(s); log start offset is now {}", dir, deleted, logStartOffset);
      }
      return deleted;
    } finally {
      writeLock.unlock();
    }
  }

  /** Applies an altered topic config; takes effect from the next append or retention run. */
  public void updateConfig(LogConfig config) {
    this.config = config;
  }

  /**
   * Drops every batch that contains an offset >= {@code offset}; the log end becomes the base
   * offset of the first dropped batch (so an offset inside a batch drops that whole batch).
   * Truncating at or below the log start empties the log and restarts it at {@code offset}.
   * When a damaged batch (a frame that is not one, or a header whose offset does not continue
   * the batch before) is met on the way to the cut, the log is cut where that batch starts
   * instead, at or below {@code offset}: this is how a replica's corrupt log is repaired, and the
   * log stays contiguous (the replica fetches the rest again). Safe against concurrent readers
   * (see the class comment).
   */
  public void truncateTo(long offset) throws IOException {
    writeLock.lock();
    try {
      if (closed) throw new IOException("log " + dir + " is closed");
      if (offset >= logEndOffset) {
        // Nothing to cut, but an epoch that took over here without writing is forgotten.
        epochs.truncateFromEnd(offset);
        return;
      }
      if (offset <= logStartOffset) {
        truncateFully(offset);
        return;
      }
      LogConfig cfg = config;
      LogSegment keep = segments.floorEntry(offset).getValue();
      FrameCursor cursor = new FrameCursor();
      long position;
      long newEnd;
      try {
        if (keep.seek(cursor, offset, keep.size())) {
          position = cursor.position;
          newEnd = cursor.baseOffset;
        } else {
          position = keep.size();
          newEnd = keep.endOffset();
        }
      } catch (FrameFormatException damaged) {
        // Every batch before the damaged one was walked over and continues the one before it.
        if (damaged.position < 0 || damaged.offset < keep.baseOffset || damaged.offset > offset) throw damaged;
        LOG.warn("Log {}: the batch at position {} of {} (offset {}) is damaged, so the log is cut there: {}",
            dir, damaged.position, keep.logFile().getFileName(), damaged.offset, damaged.getMessage());
        position = damaged.position;
        newEnd = damaged.offset;
      }
      List<LogSegment> dropped = new ArrayList<>(segments.tailMap(keep.baseOffset, false).values());
      long oldEnd = logEndOffset;
      // 1. Hide the dropped range from readers.
      logEndOffset = newEnd;
      keep.hideFrom(position, newEnd);
      for (LogSegment s : dropped) segments.remove(s.baseOffset);
      // 2. Readers that started before this point will notice and retry.
      truncations++;
      // 3. Change the files, after the recovery point came down (durably) below the cut.
      lowerRecoveryPoint(newEnd);
      for (LogSegment s : dropped) s.delete();
      keep.openForAppend();
      active = keep;
      keep.truncateFiles(position, cfg.indexIntervalBytes());
      keep.publish();
      epochs.truncateFromEnd(newEnd);
      unflushedRecords = 0;
      oldestUnflushedMs = -1;
      LOG.info("Log {}: truncated to offset {} (was {}), dropping {} later segment(s)", dir, newEnd, oldEnd, dropped.size());
    } catch (IOException | RuntimeException e) {
      failed = true;
      throw e;
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Empties the log (and its epoch history) and restarts it at {@code offset}, which may be
   * beyond the current end: a follower whose log ends before its leader's log start does this.
   */
  public void truncateFullyAndStartAt(long offset) throws IOException {
    if (offset < 0) throw new IllegalArgumentException("offset must be >= 0, got " + offset);
    writeLock.lock();
    try {
      if (closed) throw new IOException("log " + dir + " is closed");
      truncateFully(offset);
    } catch (IOException | RuntimeException e) {
      failed = true;
      throw e;
    } finally {
      writeLock.unlock();
    }
  }

  /** Empties the log and restarts it at {@code offset}. Under writeLock. */
  private void truncateFully(long offset) throws IOException {
    List<LogSegment> all = new ArrayList<>(segments.values());
    logEndOffset = offset;
    logStartOffset = offset;
    segments.clear();
    truncations++;
    // The old files go; a recovery point above the new start would survive them (a crash
    // between the two) and call torn writes of the new log damage.
    lowerRecoveryPoint(Math.min(persistedRecoveryPoint, offset));
    for (LogSegment s : all) s.delete();
    LogSegment created = LogSegment.create(dir, offset);
    segments.put(offset, created);
    active = created;
    epochs.truncateFromEnd(Long.MIN_VALUE);
    // A fresh, empty log at offset: nothing of it can be torn, and nothing before it exists.
    flushedOffset = offset;
    RecoveryPoint.write(dir, offset);
    persistedRecoveryPoint = offset;
    unflushedRecords = 0;
    oldestUnflushedMs = -1;
    LOG.info("Log {}: truncated fully; restarts at offset {}", dir, offset);
  }

  /**
   * fsyncs the directory so a new segment file (or the clean-shutdown marker) survives a power
   * loss, not just its contents. Best effort: some platforms cannot open a directory.
   */
  private void syncDirectory() {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      LOG.debug("Log {}: directory fsync not supported here: {}", dir, e.toString());
    }
  }

  /** fsyncs, closes every file and marks the shutdown clean so the next open skips full scans. */
  @Override
  public void close() throws IOException {
    writeLock.lock();
    try {
      if (closed) return;
      closed = true;
      IOException failure = null;
      for (LogSegment s : segments.values()) {
        try {
          s.close();
        } catch (IOException e) {
          if (failure == null) failure = e;
        }
      }
      if (failure != null || failed) {
        if (failure != null) throw failure;
        return; // no clean marker: the next open scans everything
      }
      Path marker = dir.resolve(SegmentRecovery.CLEAN_SHUTDOWN_FILE);
      try (FileChannel ch = FileChannel.open(marker, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      syncDirectory();
    } finally {
      writeLock.unlock();
    }
  }

  /** Closes the log and removes its directory and every file in it. */
  public void delete() throws IOException {
    writeLock.lock();
    try {
      closed = true;
      for (LogSegment s : segments.values()) s.delete();
      segments.clear();
      if (Files.exists(dir)) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
          for (Path f : files) Files.deleteIfExists(f);
        }
        Files.deleteIfExists(dir);
      }
    } finally {
      writeLock.unlock();
    }
  }

  @Override
  public String toString() {
    return "PartitionLog{" + dir + ", start=" + logStartOffset + ", end=" + logEndOffset + ", segments=" + segments.size() + "}";
  }
}
