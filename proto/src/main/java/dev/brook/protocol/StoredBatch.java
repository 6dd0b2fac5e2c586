package dev.brook.protocol;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.RecordBatch;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The stored encoding of a {@link RecordBatch}, read and written without protobuf objects.
 *
 * <p>A partition log is the encoding of a {@code RecordBatchList}: a sequence of <em>frames</em>,
 * one per batch. A frame is
 *
 * <pre>
 *   0x0A                      RecordBatchList.batches tag (field 1, length-delimited)
 *   varint  messageLength     length of what follows
 *   66 bytes fixed header     fields 1..10 of RecordBatch, all present, in field order
 *   0x7A                      RecordBatch.records tag (field 15, length-delimited)
 *   varint  recordsLength
 *   recordsLength bytes       the records as the producer sent them (maybe compressed)
 * </pre>
 *
 * <p>Because every header field is fixed-width and always present, the header has fixed offsets
 * (the {@code *_POS} constants, relative to the start of the message, i.e. after the frame's
 * tag and length): the broker patches base offset and leader epoch in place, and a reader finds
 * every field without parsing. Any protobuf parser reads a frame sequence as a RecordBatchList.
 *
 * <p>All methods are static, allocation-free on ByteBuffers (absolute gets only, so the buffer's
 * position is never touched) and thread-safe.
 */
public final class StoredBatch {
  /** Tag of {@code RecordBatchList.batches}: field 1, wire type 2. */
  public static final byte FRAME_TAG = 0x0A;
  /** Tag of {@code RecordBatch.records}: field 15, wire type 2. */
  public static final byte RECORDS_TAG = 0x7A;

  public static final int BASE_OFFSET_POS = 1;
  public static final int LEADER_EPOCH_POS = 10;
  public static final int CRC_POS = 15;
  public static final int ATTRIBUTES_POS = 20;
  public static final int RECORD_COUNT_POS = 25;
  public static final int BASE_TIMESTAMP_POS = 30;
  public static final int MAX_TIMESTAMP_POS = 39;
  public static final int PRODUCER_ID_POS = 48;
  public static final int PRODUCER_EPOCH_POS = 57;
  public static final int BASE_SEQUENCE_POS = 62;
  /** Size of the fixed header, i.e. the offset of the records tag within the message. */
  public static final int HEADER_SIZE = 66;

  /** The smallest possible frame: tag, 1-byte length, header, records tag, 1-byte length. */
  public static final int MIN_FRAME_SIZE = 1 + 1 + HEADER_SIZE + 1 + 1;

  /** Largest frame we accept when reading; guards against a corrupt length reading gigabytes. */
  public static final int MAX_FRAME_SIZE = Integer.MAX_VALUE - 64;

  /** The fixed header bytes that precede the field values, in field order. */
  private static final byte[] FIELD_TAGS = {
    0x09, 0x15, 0x1D, 0x25, 0x2D, 0x31, 0x39, 0x41, 0x4D, 0x55
  };
  private static final int[] FIELD_POS = {
    0, 9, 14, 19, 24, 29, 38, 47, 56, 61
  };

  /** Codec bits of {@code attributes}. */
  public static final int CODEC_MASK = 0x07;
  public static final int TRANSACTIONAL_FLAG = 0x10;
  public static final int CONTROL_FLAG = 0x20;
  /** Bits of attributes that have a meaning; the rest must be zero. */
  public static final int KNOWN_ATTRIBUTE_BITS = CODEC_MASK | TRANSACTIONAL_FLAG | CONTROL_FLAG;

  private StoredBatch() {}

  /** Bytes a varint encoding of the non-negative {@code value} takes. */
  public static int varintSize(int value) {
    if ((value & (~0 << 7)) == 0) return 1;
    if ((value & (~0 << 14)) == 0) return 2;
    if ((value & (~0 << 21)) == 0) return 3;
    if ((value & (~0 << 28)) == 0) return 4;
    return 5;
  }

  /** The message length (after the frame tag and length) of a batch with {@code recordsLength}. */
  public static int messageLength(int recordsLength) {
    return HEADER_SIZE + 1 + varintSize(recordsLength) + recordsLength;
  }

  /** The whole frame size of a batch whose records field is {@code recordsLength} bytes. */
  public static int frameSize(int recordsLength) {
    int messageLength = messageLength(recordsLength);
    return 1 + varintSize(messageLength) + messageLength;
  }

  /** Frame size minus the records bytes: what {@link #writeFramePrefix} writes. */
  public static int framePrefixSize(int recordsLength) {
    return frameSize(recordsLength) - recordsLength;
  }

  /**
   * Writes the frame up to (not including) the records bytes, at the buffer's position, taking
   * every header field from {@code batch} except base offset and leader epoch. The caller writes
   * {@code batch.getRecords()} right after (gathering write), so the records are never copied
   * into this buffer.
   */
  public static void writeFramePrefix(ByteBuffer out, RecordBatch batch, long baseOffset, int leaderEpoch) {
    int recordsLength = batch.getRecords().size();
    out.put(FRAME_TAG);
    putVarint(out, messageLength(recordsLength));
    ByteBuffer le = out.order() == ByteOrder.LITTLE_ENDIAN ? out : out.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    int start = out.position();
    for (int i = 0; i < FIELD_TAGS.length; i++) {
      le.put(start + FIELD_POS[i], FIELD_TAGS[i]);
    }
    le.putLong(start + BASE_OFFSET_POS, baseOffset);
    le.putInt(start + LEADER_EPOCH_POS, leaderEpoch);
    le.putInt(start + CRC_POS, batch.getCrc());
    le.putInt(start + ATTRIBUTES_POS, batch.getAttributes());
    le.putInt(start + RECORD_COUNT_POS, batch.getRecordCount());
    le.putLong(start + BASE_TIMESTAMP_POS, batch.getBaseTimestamp());
    le.putLong(start + MAX_TIMESTAMP_POS, batch.getMaxTimestamp());
    le.putLong(start + PRODUCER_ID_POS, batch.getProducerId());
    le.putInt(start + PRODUCER_EPOCH_POS, batch.getProducerEpoch());
    le.putInt(start + BASE_SEQUENCE_POS, batch.getBaseSequence());
    out.position(start + HEADER_SIZE);
    out.put(RECORDS_TAG);
    putVarint(out, recordsLength);
  }

  private static void putVarint(ByteBuffer out, int value) {
    while ((value & ~0x7F) != 0) {
      out.put((byte) ((value & 0x7F) | 0x80));
      value >>>= 7;
    }
    out.put((byte) value);
  }

  /**
   * Reads a varint at {@code pos}, limited to {@code limit}. Returns the value in the low 32 bits
   * and the number of bytes it took in the high 32 bits; -1 if the varint is incomplete before
   * {@code limit}, -2 if it is malformed (longer than 5 bytes or negative).
   */
  public static long readVarint(ByteBuffer buf, int pos, int limit) {
    int value = 0;
    for (int i = 0; i < 5; i++) {
      if (pos + i >= limit) return -1;
      byte b = buf.get(pos + i);
      value |= (b & 0x7F) << (7 * i);
      if ((b & 0x80) == 0) {
        if (value < 0) return -2;
        return ((long) (i + 1) << 32) | (value & 0xFFFFFFFFL);
      }
    }
    return -2;
  }

  /**
   * Where the message of the frame at {@code pos} starts and how long the frame is.
   *
   * @return the frame size in bytes, or -1 if the frame is incomplete before {@code limit}
   *     (a torn write), or -2 if the bytes at {@code pos} are not a well-formed frame.
   */
  public static int frameSizeAt(ByteBuffer buf, int pos, int limit) {
    if (pos >= limit) return -1;
    if (buf.get(pos) != FRAME_TAG) return -2;
    long v = readVarint(buf, pos + 1, limit);
    if (v < 0) return (int) v;
    int messageLength = (int) v;
    int lengthBytes = (int) (v >>> 32);
    if (messageLength < HEADER_SIZE + 2) return -2;
    long size = 1L + lengthBytes + messageLength;
    if (size > MAX_FRAME_SIZE) return -2;
    if (pos + size > limit) return -1;
    return (int) size;
  }

  /** Offset of the message (fixed header) of the frame at {@code pos}. */
  public static int messageStart(ByteBuffer buf, int pos) {
    byte first = buf.get(pos + 1);
    if ((first & 0x80) == 0) return pos + 2;
    return pos + 1 + (int) (readVarint(buf, pos + 1, buf.limit()) >>> 32);
  }

  private static ByteBuffer le(ByteBuffer buf) {
    return buf.order() == ByteOrder.LITTLE_ENDIAN ? buf : buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }

  // Accessors take the frame position (the 0x0A tag). Each costs one varint peek.
  public static long baseOffset(ByteBuffer buf, int frame) {
    return le(buf).getLong(messageStart(buf, frame) + BASE_OFFSET_POS);
  }

  public static int leaderEpoch(ByteBuffer buf, int frame) {
    return le(buf).getInt(messageStart(buf, frame) + LEADER_EPOCH_POS);
  }

  public static int crc(ByteBuffer buf, int frame) {
    return le(buf).getInt(messageStart(buf, frame) + CRC_POS);
  }

  public static int attributes(ByteBuffer buf, int frame) {
    return le(buf).getInt(messageStart(buf, frame) + ATTRIBUTES_POS);
  }

  public static int recordCount(ByteBuffer buf, int frame) {
    return le(buf).getInt(messageStart(buf, frame) + RECORD_COUNT_POS);
  }

  public static long baseTimestamp(ByteBuffer buf, int frame) {
    return le(buf).getLong(messageStart(buf, frame) + BASE_TIMESTAMP_POS);
  }

  public static long maxTimestamp(ByteBuffer buf, int frame) {
    return le(buf).getLong(messageStart(buf, frame) + MAX_TIMESTAMP_POS);
  }

  public static long producerId(ByteBuffer buf, int frame) {
    return le(buf).getLong(messageStart(buf, frame) + PRODUCER_ID_POS);
  }

  /**
   * The offset of the last record: base offset + record count - 1. Producers write
   * record_count - 1 as the last offset delta (see records.proto), and compaction keeps
   * record_count as written, so this holds for every stored batch.
   */
  public static long lastOffset(ByteBuffer buf, int frame) {
    int m = messageStart(buf, frame);
    ByteBuffer le = le(buf);
    return le.getLong(m + BASE_OFFSET_POS) + le.getInt(m + RECORD_COUNT_POS) - 1;
  }

  /** Patches the base offset and leader epoch of the frame at {@code frame} in place. */
  public static void assign(ByteBuffer buf, int frame, long baseOffset, int leaderEpoch) {
    int m = messageStart(buf, frame);
    ByteBuffer le = le(buf);
    le.putLong(m + BASE_OFFSET_POS, baseOffset);
    le.putInt(m + LEADER_EPOCH_POS, leaderEpoch);
  }

  /**
   * Checks that the frame at {@code frame} (of size {@code frameSize}, from
   * {@link #frameSizeAt}) is well formed: field tags in place, records field filling the rest of
   * the message exactly, record count >= 1, and the CRC matching.
   */
  public static boolean isValid(ByteBuffer buf, int frame, int frameSize) {
    int m = messageStart(buf, frame);
    int end = frame + frameSize;
    if (m + HEADER_SIZE + 2 > end) return false;
    for (int i = 0; i < FIELD_TAGS.length; i++) {
      if (buf.get(m + FIELD_POS[i]) != FIELD_TAGS[i]) return false;
    }
    if (buf.get(m + HEADER_SIZE) != RECORDS_TAG) return false;
    long v = readVarint(buf, m + HEADER_SIZE + 1, end);
    if (v < 0) return false;
    int recordsStart = m + HEADER_SIZE + 1 + (int) (v >>> 32);
    if (recordsStart + (int) v != end) return false;
    ByteBuffer le = le(buf);
    if (le.getInt(m + RECORD_COUNT_POS) < 1) return false;
    CrcScratch scratch = SCRATCH.get();
    CRC32C crc = scratch.crc;
    crc.reset();
    // Header field values after the CRC (tags are not covered), then the records bytes.
    ByteBuffer header = scratch.header;
    header.clear();
    header.putInt(le.getInt(m + ATTRIBUTES_POS));
    header.putInt(le.getInt(m + RECORD_COUNT_POS));
    header.putLong(le.getLong(m + BASE_TIMESTAMP_POS));
    header.putLong(le.getLong(m + MAX_TIMESTAMP_POS));
    header.putLong(le.getLong(m + PRODUCER_ID_POS));
    header.putInt(le.getInt(m + PRODUCER_EPOCH_POS));
    header.putInt(le.getInt(m + BASE_SEQUENCE_POS));
    crc.update(header.array(), 0, 40);
    if (buf.hasArray()) {
      crc.update(buf.array(), buf.arrayOffset() + recordsStart, end - recordsStart);
    } else {
      ByteBuffer records = buf.duplicate();
      records.limit(end).position(recordsStart);
      crc.update(records);
    }
    return (int) crc.getValue() == le.getInt(m + CRC_POS);
  }

  /** Per-thread CRC state, so that checking a frame (on every read) allocates nothing. */
  private static final class CrcScratch {
    final CRC32C crc = new CRC32C();
    final ByteBuffer header = ByteBuffer.allocate(40).order(ByteOrder.LITTLE_ENDIAN);
  }

  private static final ThreadLocal<CrcScratch> SCRATCH = ThreadLocal.withInitial(CrcScratch::new);

  /** The CRC-32C a producer puts in {@link RecordBatch#getCrc()} (see records.proto). */
  public static int computeCrc(RecordBatch batch) {
    return computeCrc(batch.getAttributes(), batch.getRecordCount(), batch.getBaseTimestamp(),
        batch.getMaxTimestamp(), batch.getProducerId(), batch.getProducerEpoch(),
        batch.getBaseSequence(), batch.getRecords());
  }

  /** The CRC-32C over the given header values and records bytes (see records.proto). */
  public static int computeCrc(int attributes, int recordCount, long baseTimestamp, long maxTimestamp,
      long producerId, int producerEpoch, int baseSequence, ByteString records) {
    CRC32C crc = new CRC32C();
    byte[] header = new byte[40];
    ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
    h.putInt(attributes).putInt(recordCount).putLong(baseTimestamp).putLong(maxTimestamp)
        .putLong(producerId).putInt(producerEpoch).putInt(baseSequence);
    crc.update(header, 0, header.length);
    for (ByteBuffer part : records.asReadOnlyByteBufferList()) {
      crc.update(part);
    }
    return (int) crc.getValue();
  }
}
