package dev.brook.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import dev.brook.client.serialization.Deserializer;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordBatchList;
import dev.brook.protocol.Compression;
import dev.brook.protocol.StoredBatch;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The records one fetch returned for one partition, decoded lazily as the application polls.
 *
 * <p>The fetch's {@code records} bytes are a RecordBatchList; batches are parsed with aliasing
 * (their records bytes are views of the response, not copies), checked against their CRC,
 * decompressed one at a time, and their RecordList is read field by field straight into
 * {@link ConsumerRecord}s, so no intermediate protobuf Record objects are built. Records below
 * the position the fetch asked for (the first batch may start earlier) are skipped.
 *
 * <p>Owned by the consumer's thread; not thread-safe.
 */
final class PartitionRecords {
  final TopicPartition tp;
  private final List<RecordBatch> batches;
  private int batchIndex;
  private RecordBatch batch;
  private CodedInputStream in;
  /** The next offset the application should see: the partition's position. */
  private long nextOffset;

  PartitionRecords(TopicPartition tp, ByteString records, long fetchOffset) {
    this.tp = tp;
    this.nextOffset = fetchOffset;
    try {
      CodedInputStream cis = records.newCodedInput();
      cis.enableAliasing(true);
      this.batches = RecordBatchList.parseFrom(cis).getBatchesList();
    } catch (IOException e) {
      throw new BrookException(ErrorCode.CORRUPT_RECORD, "fetch answer for " + tp + " is not a RecordBatchList", e);
    }
  }

  long nextOffset() {
    return nextOffset;
  }

  /**
   * Decodes up to {@code max} records into {@code out}, advancing the position.
   *
   * @return how many were added
   */
  <K, V> int drain(int max, Deserializer<K> keys, Deserializer<V> values, List<ConsumerRecord<K, V>> out) {
    int added = 0;
    try {
      while (added < max) {
        if (in == null && !openNextBatch()) break;
        if (in.isAtEnd()) {
          // Past the batch's last offset even if compaction removed its last records.
          nextOffset = Math.max(nextOffset, batch.getBaseOffset() + batch.getRecordCount());
          in = null;
          continue;
        }
        ConsumerRecord<K, V> r = readRecord(keys, values);
        if (r != null) {
          out.add(r);
          added++;
        }
      }
    } catch (IOException e) {
      throw new BrookException(ErrorCode.CORRUPT_RECORD, "cannot decode records of " + tp + " at offset " + nextOffset, e);
    }
    return added;
  }

  boolean isDrained() {
    return in == null && batchIndex >= batches.size();
  }

  private boolean openNextBatch() throws IOException {
    while (batchIndex < batches.size()) {
      RecordBatch b = batches.get(batchIndex++);
      long lastOffset = b.getBaseOffset() + b.getRecordCount() - 1;
      if (lastOffset < nextOffset) continue;   // wholly before the position
      if ((b.getAttributes() & StoredBatch.CONTROL_FLAG) != 0) {
        nextOffset = lastOffset + 1;   // transaction markers are not application records
        continue;
      }
      if (StoredBatch.computeCrc(b) != b.getCrc()) {
        throw new BrookException(ErrorCode.CORRUPT_RECORD, "batch at offset " + b.getBaseOffset() + " of " + tp
            + " fails its CRC check");
      }
      ByteString records = Compression.decompress(Compression.codecOf(b.getAttributes()), b.getRecords());
      batch = b;
      in = records.newCodedInput();
      in.enableAliasing(true);
      return true;
    }
    return false;
  }

  private <K, V> ConsumerRecord<K, V> readRecord(Deserializer<K> keys, Deserializer<V> values) throws IOException {
    int tag = in.readTag();
    if (WireFormat.getTagFieldNumber(tag) != 1) {
      in.skipField(tag);
      return null;
    }
    int length = in.readRawVarint32();
    int oldLimit = in.pushLimit(length);
    long timestampDelta = 0;
    int offsetDelta = 0;
    byte[] key = null;
    byte[] value = null;
    List<Header> headers = null;
    while (true) {
      int t = in.readTag();
      if (t == 0) break;
      switch (WireFormat.getTagFieldNumber(t)) {
        case 1: timestampDelta = in.readSInt64(); break;
        case 2: offsetDelta = in.readUInt32(); break;
        case 3: key = in.readByteArray(); break;
        case 4: value = in.readByteArray(); break;
        case 5:
          if (headers == null) headers = new ArrayList<>(2);
          headers.add(readHeader());
          break;
        default: in.skipField(t);
      }
    }
    in.popLimit(oldLimit);
    long offset = batch.getBaseOffset() + offsetDelta;
    if (offset < nextOffset) return null;
    nextOffset = offset + 1;
    return new ConsumerRecord<>(tp.topic(), tp.partition(), offset, batch.getBaseTimestamp() + timestampDelta,
        keys.deserialize(tp.topic(), key), values.deserialize(tp.topic(), value),
        headers == null ? List.of() : headers, batch.getPartitionLeaderEpoch());
  }

  private Header readHeader() throws IOException {
    int length = in.readRawVarint32();
    int oldLimit = in.pushLimit(length);
    String key = "";
    byte[] value = new byte[0];
    while (true) {
      int t = in.readTag();
      if (t == 0) break;
      switch (WireFormat.getTagFieldNumber(t)) {
        case 1: key = in.readStringRequireUtf8(); break;
        case 2: value = in.readByteArray(); break;
        default: in.skipField(t);
      }
    }
    in.popLimit(oldLimit);
    return new Header(key, value);
  }
}
