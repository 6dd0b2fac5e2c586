package dev.brook.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.UnsafeByteOperations;
import dev.brook.proto.v1.CompressionCodec;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.protocol.Compression;
import dev.brook.protocol.StoredBatch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The records of one partition on their way to the broker.
 *
 * <p>While open, records are encoded straight into {@code buffer} as the protobuf encoding of a
 * {@code RecordList} (each record a field-1 entry), so no per-record object survives the append
 * except the future handed to the caller and its timestamp. {@link #close} turns the buffer into
 * the wire {@link RecordBatch} (compressing, computing the CRC) and gives the array back.
 *
 * <p>Threading: appends happen under the partition deque's lock (see {@link RecordAccumulator});
 * close, retry bookkeeping and completion happen on the sender or on a gRPC callback thread,
 * after the batch left the deque, so they never race with appends. A batch is completed
 * exactly once ({@link #complete}/{@link #fail} are guarded).
 */
final class ProducerBatch {
  /** A record with a zero-length varint-prefixed body still costs this much; used for sizing. */
  static final int RECORD_OVERHEAD = 1 + 5;

  final TopicPartition tp;
  /** Creation order across the producer; retries are re-inserted by it to keep partition order. */
  final long sequence;
  final long createdMs;
  final int reservedBytes;
  final CompletableFuture<Void> done = new CompletableFuture<>();

  private byte[] buffer;
  private CodedOutputStream out;
  private int recordCount;
  private long baseTimestamp;
  private long maxTimestamp;
  private boolean full;
  @SuppressWarnings("unchecked")
  private CompletableFuture<RecordMetadata>[] futures = new CompletableFuture[16];
  private long[] timestamps = new long[16];

  private RecordBatch wire;
  private int attempts;
  private long retryAtMs;
  private boolean completed;

  ProducerBatch(TopicPartition tp, long sequence, byte[] buffer, int reservedBytes, long createdMs) {
    this.tp = tp;
    this.sequence = sequence;
    this.buffer = buffer;
    this.reservedBytes = reservedBytes;
    this.createdMs = createdMs;
    this.out = CodedOutputStream.newInstance(buffer);
  }

  /** Encoded size of one record in a RecordList, tag and length prefix included. */
  static int recordSize(long timestampDelta, int offsetDelta, byte[] key, byte[] value, List<Header> headers) {
    int body = bodySize(timestampDelta, offsetDelta, key, value, headers);
    return 1 + CodedOutputStream.computeUInt32SizeNoTag(body) + body;
  }

  private static int bodySize(long timestampDelta, int offsetDelta, byte[] key, byte[] value, List<Header> headers) {
    int size = 0;
    if (timestampDelta != 0) size += CodedOutputStream.computeSInt64Size(1, timestampDelta);
    if (offsetDelta != 0) size += CodedOutputStream.computeUInt32Size(2, offsetDelta);
    if (key != null) size += CodedOutputStream.computeByteArraySize(3, key);
    if (value != null) size += CodedOutputStream.computeByteArraySize(4, value);
    for (int i = 0, n = headers.size(); i < n; i++) {
      int h = headerSize(headers.get(i));
      size += 1 + CodedOutputStream.computeUInt32SizeNoTag(h) + h;
    }
    return size;
  }

  private static int headerSize(Header h) {
    int size = h.key().isEmpty() ? 0 : CodedOutputStream.computeStringSize(1, h.key());
    if (h.value() != null && h.value().length > 0) size += CodedOutputStream.computeByteArraySize(2, h.value());
    return size;
  }

  /**
   * Appends a record if it fits (the first record always fits: the buffer was sized for it).
   * Returns null and marks the batch full when it does not.
   */
  CompletableFuture<RecordMetadata> tryAppend(long timestamp, byte[] key, byte[] value, List<Header> headers) {
    if (out == null || full) return null;
    long delta = recordCount == 0 ? 0 : timestamp - baseTimestamp;
    int body = bodySize(delta, recordCount, key, value, headers);
    int total = 1 + CodedOutputStream.computeUInt32SizeNoTag(body) + body;
    if (recordCount > 0 && total > out.spaceLeft()) {
      full = true;
      return null;
    }
    try {
      out.writeTag(1, 2);
      out.writeUInt32NoTag(body);
      if (delta != 0) out.writeSInt64(1, delta);
      if (recordCount != 0) out.writeUInt32(2, recordCount);
      if (key != null) out.writeByteArray(3, key);
      if (value != null) out.writeByteArray(4, value);
      for (int i = 0, n = headers.size(); i < n; i++) {
        Header h = headers.get(i);
        out.writeTag(5, 2);
        out.writeUInt32NoTag(headerSize(h));
        if (!h.key().isEmpty()) out.writeString(1, h.key());
        if (h.value() != null && h.value().length > 0) out.writeByteArray(2, h.value());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);   // cannot happen: the size was checked
    }
    if (recordCount == 0) {
      baseTimestamp = timestamp;
      maxTimestamp = timestamp;
    } else if (timestamp > maxTimestamp) {
      maxTimestamp = timestamp;
    }
    if (recordCount == futures.length) {
      futures = java.util.Arrays.copyOf(futures, recordCount * 2);
      timestamps = java.util.Arrays.copyOf(timestamps, recordCount * 2);
    }
    CompletableFuture<RecordMetadata> f = new CompletableFuture<>();
    futures[recordCount] = f;
    timestamps[recordCount] = timestamp;
    recordCount++;
    if (out.spaceLeft() < RECORD_OVERHEAD) full = true;
    return f;
  }

  boolean isFull() {
    return full;
  }

  boolean isClosed() {
    return wire != null;
  }

  int recordCount() {
    return recordCount;
  }

  /** Bytes of encoded records so far (before compression). */
  int sizeInBytes() {
    return wire != null ? wire.getRecords().size() : buffer.length - out.spaceLeft();
  }

  /**
   * Builds the wire batch: records copied (or compressed) out of the buffer, CRC over the header
   * fields and records as records.proto says. Returns the buffer, which the caller recycles.
   */
  byte[] close(CompressionCodec codec) {
    int length = buffer.length - out.spaceLeft();
    ByteString records = codec == CompressionCodec.COMPRESSION_NONE
        ? ByteString.copyFrom(buffer, 0, length)
        : Compression.compress(codec, UnsafeByteOperations.unsafeWrap(buffer, 0, length));
    int attributes = codec.getNumber();
    int crc = StoredBatch.computeCrc(attributes, recordCount, baseTimestamp, maxTimestamp, -1L, -1, -1, records);
    wire = RecordBatch.newBuilder()
        .setCrc(crc)
        .setAttributes(attributes)
        .setRecordCount(recordCount)
        .setBaseTimestamp(baseTimestamp)
        .setMaxTimestamp(maxTimestamp)
        .setProducerId(-1L)
        .setProducerEpoch(-1)
        .setBaseSequence(-1)
        .setRecords(records)
        .build();
    byte[] b = buffer;
    buffer = null;
    out = null;
    return b;
  }

  RecordBatch wire() {
    return wire;
  }

  int attempts() {
    return attempts;
  }

  long retryAtMs() {
    return retryAtMs;
  }

  void scheduleRetry(long atMs) {
    attempts++;
    retryAtMs = atMs;
  }

  boolean isRetry() {
    return attempts > 0;
  }

  /** Completes every record's future; {@code baseOffset} -1 (acks=0) gives offsets -1. */
  boolean complete(long baseOffset) {
    CompletableFuture<RecordMetadata>[] fs;
    synchronized (this) {
      if (completed) return false;
      completed = true;
      fs = futures;
    }
    for (int i = 0; i < recordCount; i++) {
      fs[i].complete(new RecordMetadata(tp.topic(), tp.partition(), baseOffset < 0 ? -1 : baseOffset + i, timestamps[i]));
    }
    futures = null;
    done.complete(null);
    return true;
  }

  boolean fail(RuntimeException e) {
    CompletableFuture<RecordMetadata>[] fs;
    synchronized (this) {
      if (completed) return false;
      completed = true;
      fs = futures;
    }
    for (int i = 0; i < recordCount; i++) fs[i].completeExceptionally(e);
    futures = null;
    done.complete(null);
    return true;
  }
}
