package dev.brook.broker.log;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.brook.proto.v1.Record;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordBatchList;
import dev.brook.proto.v1.RecordList;
import dev.brook.protocol.StoredBatch;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Builds producer batches and checks what the log returns. */
final class TestBatches {
  private TestBatches() {}

  /** A batch as a producer sends it: {@code records} records tagged with {@code tag}, CRC set. */
  static RecordBatch batch(String tag, int records, long timestamp, int valueBytes) {
    RecordList.Builder list = RecordList.newBuilder();
    for (int i = 0; i < records; i++) {
      byte[] value = new byte[valueBytes];
      Arrays.fill(value, (byte) ('a' + i % 26));
      byte[] prefix = (tag + "/" + i + ":").getBytes(StandardCharsets.UTF_8);
      System.arraycopy(prefix, 0, value, 0, Math.min(prefix.length, value.length));
      list.addRecords(Record.newBuilder().setOffsetDelta(i).setTimestampDelta(0).setValue(ByteString.copyFrom(value)));
    }
    RecordBatch unsigned = RecordBatch.newBuilder()
        .setRecordCount(records)
        .setBaseTimestamp(timestamp)
        .setMaxTimestamp(timestamp)
        .setProducerId(-1)
        .setProducerEpoch(-1)
        .setBaseSequence(-1)
        .setRecords(list.build().toByteString())
        .build();
    return unsigned.toBuilder().setCrc(StoredBatch.computeCrc(unsigned)).build();
  }

  static RecordBatch batch(String tag, int records, long timestamp) {
    return batch(tag, records, timestamp, 20);
  }

  static LogConfig config(String... keyValues) {
    Map<String, String> map = new HashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) map.put(keyValues[i], keyValues[i + 1]);
    return LogConfig.from(map);
  }

  /** Parses a read result with the generated code, proving it is a valid RecordBatchList. */
  static List<RecordBatch> parse(ReadResult result) {
    try {
      return RecordBatchList.parseFrom(result.records()).getBatchesList();
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError("read result is not a RecordBatchList", e);
    }
  }

  static long lastOffset(RecordBatch b) {
    return b.getBaseOffset() + b.getRecordCount() - 1;
  }

  /** Asserts every batch is CRC-valid and the offsets are contiguous from the first. */
  static void assertWellFormed(List<RecordBatch> batches) {
    for (int i = 0; i < batches.size(); i++) {
      RecordBatch b = batches.get(i);
      assertThat(StoredBatch.computeCrc(b)).as("crc of batch at %d", b.getBaseOffset()).isEqualTo(b.getCrc());
      if (i > 0) assertThat(b.getBaseOffset()).isEqualTo(lastOffset(batches.get(i - 1)) + 1);
    }
  }

  /** Reads the whole log from {@code from}, batch by batch as a consumer would. */
  static List<RecordBatch> readAll(PartitionLog log, long from) throws LogException {
    List<RecordBatch> out = new ArrayList<>();
    long offset = from;
    while (offset < log.logEndOffset()) {
      List<RecordBatch> got = parse(log.read(offset, 4096, Long.MAX_VALUE));
      assertThat(got).isNotEmpty();
      out.addAll(got);
      offset = lastOffset(got.get(got.size() - 1)) + 1;
    }
    return out;
  }

  /** The tag a batch was built with (first record's value prefix). */
  static String tagOf(RecordBatch stored) {
    try {
      String v = RecordList.parseFrom(stored.getRecords()).getRecords(0).getValue().toString(StandardCharsets.UTF_8);
      return v.substring(0, v.indexOf('/'));
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }
}
