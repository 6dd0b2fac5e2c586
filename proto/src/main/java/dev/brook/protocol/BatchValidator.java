package dev.brook.protocol;

import com.github.luben.zstd.RecyclingBufferPool;
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.google.protobuf.ByteString;
import dev.brook.proto.v1.CompressionCodec;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.RecordBatch;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.GZIPInputStream;
import net.jpountz.lz4.LZ4FrameInputStream;
import org.xerial.snappy.SnappyFramedInputStream;
import org.xerial.snappy.pool.CachingBufferPool;

/**
 * Checks that a record batch is exactly what records.proto describes before it is stored, so a
 * consumer in any language never meets a batch it cannot parse or whose offsets lie.
 *
 * <p>The rules, all of them checked on every append (leader and follower alike):
 * <ul>
 *   <li><b>Header.</b> record_count >= 1; attributes carry no unknown bits and a known codec;
 *       base_timestamp <= max_timestamp; producer id, epoch and base sequence are either all -1
 *       (not idempotent) or all >= 0. From producers ({@link Origin#PRODUCER}) the transactional
 *       and control bits are refused: transaction markers are written by brokers, and
 *       transactions are not available yet.
 *   <li><b>CRC</b> (CRC-32C over the fields records.proto lists) matches.
 *   <li><b>Records.</b> After decompression with the batch's codec, {@code records} is a
 *       well-formed {@code RecordList} whose every element is a well-formed {@code Record}: valid
 *       varints, lengths inside their parent, known fields with their declared wire type, header
 *       keys valid UTF-8 (a proto3 {@code string}; parsers reject anything else), no record
 *       larger than {@code maxRecordBytes}. Unknown fields are skipped, as protobuf parsers do.
 *   <li><b>Offsets and timestamps.</b> From producers: exactly record_count records with
 *       offset deltas 0, 1, ..., n-1, the first with timestamp delta 0 (base_timestamp is the
 *       first record's timestamp) and the largest timestamp equal to max_timestamp. From
 *       replicas ({@link Origin#REPLICA}, bytes a leader stored): the same, except that records
 *       may be missing (log compaction keeps a batch's record_count and last offset but drops
 *       records): 1..record_count records with strictly increasing deltas below record_count and
 *       timestamps no larger than max_timestamp.
 * </ul>
 *
 * <p>Nothing is materialized: the validator walks the protobuf wire format over a fixed 64 KiB
 * window that is refilled from the (decompressing) input, so validating allocates nothing per
 * record and memory does not grow with the batch, whatever its compression ratio. The
 * decompressors come from the codec libraries; zstd and snappy draw their buffers from the
 * libraries' recycling pools.
 *
 * <p>Not thread-safe: each thread uses its own instance ({@link #forThread()}).
 */
public final class BatchValidator {
  /** Who built the batch: a producer (offsets not assigned yet) or a leader (bytes from its log). */
  public enum Origin { PRODUCER, REPLICA }

  private static final ThreadLocal<BatchValidator> PER_THREAD = ThreadLocal.withInitial(BatchValidator::new);
  private static final int WINDOW_BYTES = 64 * 1024;
  /** Wire types of the protobuf encoding. */
  private static final int VARINT = 0;
  private static final int FIXED64 = 1;
  private static final int LENGTH_DELIMITED = 2;
  private static final int FIXED32 = 5;
  private static final long MAX_FIELD_NUMBER = (1L << 29) - 1;

  private final byte[] window = new byte[WINDOW_BYTES];
  private final ByteBufferInput bufferInput = new ByteBufferInput();
  private InputStream in;
  private int pos;
  private int limit;
  /** Decompressed bytes that were in earlier windows: the stream position of window[0]. */
  private long windowStart;
  /** The most decompressed bytes the current batch may have. */
  private long maxDecompressed = Long.MAX_VALUE;
  private boolean eof;
  /** Where the current batch's errors point: its index in the request, or its offset. */
  private String where;

  /** The validator of the calling thread. */
  public static BatchValidator forThread() {
    return PER_THREAD.get();
  }

  /**
   * Validates a batch as a producer sent it.
   *
   * @param index the batch's position in its request, for the message
   * @throws InvalidBatchException naming the rule the batch breaks
   */
  public void validate(RecordBatch batch, int index, int maxRecordBytes) throws InvalidBatchException {
    where = "batch " + index;
    checkHeader(Origin.PRODUCER, batch.getAttributes(), batch.getRecordCount(), batch.getBaseTimestamp(),
        batch.getMaxTimestamp(), batch.getProducerId(), batch.getProducerEpoch(), batch.getBaseSequence());
    if (StoredBatch.computeCrc(batch) != batch.getCrc()) {
      throw corrupt("CRC does not match its content");
    }
    ByteString records = batch.getRecords();
    walk(Origin.PRODUCER, batch.getAttributes(), batch.getRecordCount(), batch.getBaseTimestamp(),
        batch.getMaxTimestamp(), records.newInput(), maxRecordBytes);
  }

  /**
   * Validates a stored frame (tag, length, header, records) at {@code frame} in {@code buf}, as a
   * follower receives it from its leader or a scrubber reads it from disk. {@code frameSize} is
   * what {@link StoredBatch#frameSizeAt} returned.
   */
  public void validateFrame(ByteBuffer buf, int frame, int frameSize, Origin origin, int maxRecordBytes)
      throws InvalidBatchException {
    where = "frame at byte " + frame;
    if (!StoredBatch.isValid(buf, frame, frameSize)) {
      throw corrupt("fails its CRC or header check");
    }
    ByteBuffer le = buf.order() == ByteOrder.LITTLE_ENDIAN ? buf : buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    int m = StoredBatch.messageStart(buf, frame);
    where = "batch at offset " + le.getLong(m + StoredBatch.BASE_OFFSET_POS);
    int attributes = le.getInt(m + StoredBatch.ATTRIBUTES_POS);
    int recordCount = le.getInt(m + StoredBatch.RECORD_COUNT_POS);
    long baseTimestamp = le.getLong(m + StoredBatch.BASE_TIMESTAMP_POS);
    long maxTimestamp = le.getLong(m + StoredBatch.MAX_TIMESTAMP_POS);
    checkHeader(origin, attributes, recordCount, baseTimestamp, maxTimestamp,
        le.getLong(m + StoredBatch.PRODUCER_ID_POS), le.getInt(m + StoredBatch.PRODUCER_EPOCH_POS),
        le.getInt(m + StoredBatch.BASE_SEQUENCE_POS));
    long v = StoredBatch.readVarint(buf, m + StoredBatch.HEADER_SIZE + 1, frame + frameSize);
    int recordsStart = m + StoredBatch.HEADER_SIZE + 1 + (int) (v >>> 32);
    walk(origin, attributes, recordCount, baseTimestamp, maxTimestamp,
        bufferInput.reset(buf, recordsStart, frame + frameSize), maxRecordBytes);
  }

  private void checkHeader(Origin origin, int attributes, int recordCount, long baseTimestamp, long maxTimestamp,
      long producerId, int producerEpoch, int baseSequence) throws InvalidBatchException {
    if (recordCount < 1) {
      throw invalid("record_count must be >= 1, got " + recordCount);
    }
    if ((attributes & ~StoredBatch.KNOWN_ATTRIBUTE_BITS) != 0) {
      throw invalid("unknown attribute bits 0x" + Integer.toHexString(attributes & ~StoredBatch.KNOWN_ATTRIBUTE_BITS));
    }
    int codec = attributes & StoredBatch.CODEC_MASK;
    if (CompressionCodec.forNumber(codec) == null) {
      throw new InvalidBatchException(ErrorCode.UNSUPPORTED_COMPRESSION, where + ": unknown compression codec " + codec);
    }
    if (origin == Origin.PRODUCER && (attributes & StoredBatch.CONTROL_FLAG) != 0) {
      throw invalid("control batches (transaction markers) are written by brokers, not producers");
    }
    if (origin == Origin.PRODUCER && (attributes & StoredBatch.TRANSACTIONAL_FLAG) != 0) {
      throw invalid("transactional batches are not supported by this broker");
    }
    if (baseTimestamp > maxTimestamp) {
      throw corrupt("base_timestamp " + baseTimestamp + " is after max_timestamp " + maxTimestamp);
    }
    boolean none = producerId == -1 && producerEpoch == -1 && baseSequence == -1;
    boolean all = producerId >= 0 && producerEpoch >= 0 && baseSequence >= 0;
    if (!none && !all) {
      throw invalid("producer_id " + producerId + ", producer_epoch " + producerEpoch + " and base_sequence "
          + baseSequence + " must all be -1 (not idempotent) or all be >= 0");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The records walk

  private void walk(Origin origin, int attributes, int recordCount, long baseTimestamp, long maxTimestamp,
      InputStream raw, int maxRecordBytes) throws InvalidBatchException {
    CompressionCodec codec = CompressionCodec.forNumber(attributes & StoredBatch.CODEC_MASK);
    try {
      in = decompressing(codec, raw);
      pos = 0;
      limit = 0;
      windowStart = 0;
      eof = false;
      // Everything in the records is either a record (each at most maxRecordBytes) or an
      // unknown field skipped like one: the walk never reads more than this, whatever the codec
      // inflates to, so a small batch cannot make the broker decompress gigabytes.
      maxDecompressed = (long) recordCount * ((long) maxRecordBytes + 16) + maxRecordBytes;
      int seen = 0;
      long lastDelta = -1;
      long largestTimestamp = Long.MIN_VALUE;
      while (!atEnd()) {
        long tag = readTag();
        int field = (int) (tag >>> 3);
        int wireType = (int) (tag & 7);
        if (field != 1) {
          skipField(field, wireType, Long.MAX_VALUE);
          continue;
        }
        expectWireType(wireType, LENGTH_DELIMITED, "RecordList.records");
        long length = readVarint();
        if (length < 0) throw corrupt("record " + seen + " has a negative length");
        if (length > maxRecordBytes) {
          throw new InvalidBatchException(ErrorCode.RECORD_TOO_LARGE, where + ": record " + seen + " is " + length
              + " bytes, larger than max.message.bytes " + maxRecordBytes);
        }
        if (seen == recordCount) {
          throw corrupt("holds more records than its record_count " + recordCount);
        }
        long end = position() + length;
        long timestampDelta = 0;
        long offsetDelta = 0;
        while (position() < end) {
          long t = readTag();
          int f = (int) (t >>> 3);
          int w = (int) (t & 7);
          switch (f) {
            case 1 -> {
              expectWireType(w, VARINT, "Record.timestamp_delta");
              long zigzag = readVarint();
              timestampDelta = (zigzag >>> 1) ^ -(zigzag & 1);
            }
            case 2 -> {
              expectWireType(w, VARINT, "Record.offset_delta");
              offsetDelta = readVarint();
              if (offsetDelta >>> 32 != 0) throw corrupt("record " + seen + ": offset_delta is not a uint32");
            }
            case 3, 4 -> {
              expectWireType(w, LENGTH_DELIMITED, f == 3 ? "Record.key" : "Record.value");
              skip(readLength(end));
            }
            case 5 -> {
              expectWireType(w, LENGTH_DELIMITED, "Record.headers");
              long headerLength = readLength(end);
              header(seen, position() + headerLength);
            }
            default -> skipField(f, w, end);
          }
        }
        if (position() != end) throw corrupt("record " + seen + " overruns its length");
        if (origin == Origin.PRODUCER) {
          if (offsetDelta != seen) {
            throw corrupt("record " + seen + " has offset_delta " + offsetDelta + ", expected " + seen);
          }
          if (seen == 0 && timestampDelta != 0) {
            throw corrupt("the first record has timestamp_delta " + timestampDelta
                + ", expected 0 (base_timestamp is the first record's timestamp)");
          }
        } else if (offsetDelta <= lastDelta || offsetDelta >= recordCount) {
          throw corrupt("record " + seen + " has offset_delta " + offsetDelta + " after " + lastDelta
              + " (deltas must increase and stay below record_count " + recordCount + ")");
        }
        long timestamp = baseTimestamp + timestampDelta;
        if (((baseTimestamp ^ timestamp) & (timestampDelta ^ timestamp)) < 0) {
          throw corrupt("record " + seen + ": base_timestamp + timestamp_delta overflows");
        }
        largestTimestamp = Math.max(largestTimestamp, timestamp);
        lastDelta = offsetDelta;
        seen++;
      }
      if (origin == Origin.PRODUCER && seen != recordCount) {
        throw corrupt("record_count is " + recordCount + " but the records hold " + seen);
      }
      if (seen == 0) throw corrupt("holds no records");
      if (origin == Origin.PRODUCER ? largestTimestamp != maxTimestamp : largestTimestamp > maxTimestamp) {
        throw corrupt("max_timestamp is " + maxTimestamp + " but the largest record timestamp is " + largestTimestamp);
      }
    } catch (DecompressedTooLarge e) {
      throw corrupt("the records decompress to more than " + maxDecompressed + " bytes, more than "
          + recordCount + " records of at most " + maxRecordBytes + " bytes can take");
    } catch (IOException | RuntimeException e) {
      throw corrupt("records do not decompress with " + codecName(codec) + ": " + e.getMessage());
    } finally {
      InputStream stream = in;
      in = null;
      if (stream != null && stream != raw) {
        try {
          stream.close();
        } catch (IOException | RuntimeException ignored) {
          // Only pooled buffers to give back; nothing was written.
        }
      }
    }
  }

  /** A RecordHeader ending at stream position {@code end}. */
  private void header(int record, long end) throws IOException, InvalidBatchException {
    while (position() < end) {
      long t = readTag();
      int f = (int) (t >>> 3);
      int w = (int) (t & 7);
      if (f == 1) {
        expectWireType(w, LENGTH_DELIMITED, "RecordHeader.key");
        long length = readLength(end);
        if (!utf8(length)) throw corrupt("record " + record + ": a header key is not valid UTF-8");
      } else if (f == 2) {
        expectWireType(w, LENGTH_DELIMITED, "RecordHeader.value");
        skip(readLength(end));
      } else {
        skipField(f, w, end);
      }
    }
    if (position() != end) throw corrupt("record " + record + ": a header overruns its length");
  }

  /**
   * A field tag. Field numbers are 1..2^29-1; a longer varint would be read differently by
   * different parsers (protobuf-java keeps its low 32 bits, others refuse it), so it is refused.
   */
  private long readTag() throws IOException, InvalidBatchException {
    long tag = readVarint();
    if (tag >>> 32 != 0 || (tag >>> 3) > MAX_FIELD_NUMBER) throw corrupt("a field tag out of range in the records");
    return tag;
  }

  private void skipField(int field, int wireType, long end) throws IOException, InvalidBatchException {
    if (field == 0) throw corrupt("field number 0 in the records");
    switch (wireType) {
      case VARINT -> readVarint();
      case FIXED64 -> skip(8);
      case FIXED32 -> skip(4);
      case LENGTH_DELIMITED -> skip(readLength(end));
      default -> throw corrupt("wire type " + wireType + " (groups or invalid) in the records");
    }
  }

  private void expectWireType(int actual, int expected, String field) throws InvalidBatchException {
    if (actual != expected) throw corrupt(field + " has wire type " + actual + ", expected " + expected);
  }

  /** A length prefix that must fit before {@code end}. */
  private long readLength(long end) throws IOException, InvalidBatchException {
    long length = readVarint();
    if (length < 0 || position() + length > end) throw corrupt("a length overruns its enclosing message");
    return length;
  }

  /**
   * Reads {@code length} bytes as UTF-8 (RFC 3629: shortest forms only, no surrogates, at most
   * U+10FFFF), streaming across windows. False when they are not valid.
   */
  private boolean utf8(long length) throws IOException, InvalidBatchException {
    long left = length;
    while (left > 0) {
      int b = readByte();
      left--;
      if (b < 0x80) continue;
      int more;
      int lo = 0x80;
      int hi = 0xBF;
      if (b >= 0xC2 && b <= 0xDF) {
        more = 1;
      } else if (b >= 0xE0 && b <= 0xEF) {
        more = 2;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
      } else if (b >= 0xF0 && b <= 0xF4) {
        more = 3;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
      } else {
        return false;
      }
      if (left < more) return false;
      for (int i = 0; i < more; i++) {
        int c = readByte();
        left--;
        if (c < lo || c > hi) return false;
        lo = 0x80;
        hi = 0xBF;
      }
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // The window over the (decompressed) stream

  private long position() {
    return windowStart + pos;
  }

  private boolean atEnd() throws IOException {
    return pos == limit && !fill();
  }

  /** Moves what is left of the window to its start and reads more; false at end of stream. */
  private boolean fill() throws IOException {
    if (eof) return false;
    int left = limit - pos;
    System.arraycopy(window, pos, window, 0, left);
    windowStart += pos;
    pos = 0;
    limit = left;
    int n = in.read(window, limit, window.length - limit);
    if (n < 0) {
      eof = true;
      return limit > 0;
    }
    limit += n;
    if (windowStart + limit > maxDecompressed) {
      throw new DecompressedTooLarge();
    }
    return true;
  }

  private int readByte() throws IOException, InvalidBatchException {
    while (pos == limit) {
      if (!fill()) throw corrupt("the records end in the middle of a record");
    }
    return window[pos++] & 0xFF;
  }

  private long readVarint() throws IOException, InvalidBatchException {
    if (limit - pos >= 10) {
      // Fast path: the whole varint is in the window.
      long value = 0;
      for (int shift = 0; shift < 70; shift += 7) {
        byte b = window[pos++];
        value |= (long) (b & 0x7F) << shift;
        if (b >= 0) return value;
      }
      throw corrupt("malformed varint in the records");
    }
    long value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      int b = readByte();
      value |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) return value;
    }
    throw corrupt("malformed varint in the records");
  }

  private void skip(long n) throws IOException, InvalidBatchException {
    long left = n;
    while (left > 0) {
      if (pos == limit && !fill()) throw corrupt("the records end in the middle of a record");
      int step = (int) Math.min(left, limit - pos);
      pos += step;
      left -= step;
    }
  }

  private static InputStream decompressing(CompressionCodec codec, InputStream raw) throws IOException {
    return switch (codec) {
      case COMPRESSION_NONE -> raw;
      case COMPRESSION_GZIP -> new GZIPInputStream(raw, 8192);
      case COMPRESSION_SNAPPY -> new SnappyFramedInputStream(raw, true, CachingBufferPool.getInstance());
      case COMPRESSION_LZ4 -> new LZ4FrameInputStream(raw);
      case COMPRESSION_ZSTD -> new ZstdInputStreamNoFinalizer(raw, RecyclingBufferPool.INSTANCE);
      default -> throw new IllegalArgumentException("unsupported codec " + codec);
    };
  }

  private static String codecName(CompressionCodec codec) {
    return codec == CompressionCodec.COMPRESSION_NONE ? "no codec (they are malformed)" : codec.name();
  }

  private InvalidBatchException corrupt(String what) {
    return new InvalidBatchException(ErrorCode.CORRUPT_RECORD, where + ": " + what);
  }

  private InvalidBatchException invalid(String what) {
    return new InvalidBatchException(ErrorCode.INVALID_REQUEST, where + ": " + what);
  }

  /** The walk read more decompressed bytes than the batch can legitimately hold. */
  private static final class DecompressedTooLarge extends RuntimeException {
    private static final long serialVersionUID = 1L;

    DecompressedTooLarge() {
      super(null, null, false, false);
    }
  }

  /** An InputStream over a range of a ByteBuffer, reset per frame (absolute gets, no copy of the buffer). */
  private static final class ByteBufferInput extends InputStream {
    private ByteBuffer buf;
    private int position;
    private int end;

    ByteBufferInput reset(ByteBuffer buf, int from, int to) {
      this.buf = buf;
      this.position = from;
      this.end = to;
      return this;
    }

    @Override
    public int read() {
      return position < end ? buf.get(position++) & 0xFF : -1;
    }

    @Override
    public int read(byte[] dst, int off, int len) {
      if (len == 0) return 0;
      if (position >= end) return -1;
      int n = Math.min(len, end - position);
      buf.get(position, dst, off, n);
      position += n;
      return n;
    }

    @Override
    public int available() {
      return end - position;
    }
  }
}
