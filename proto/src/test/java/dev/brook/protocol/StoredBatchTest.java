package dev.brook.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.CompressionCodec;
import dev.brook.proto.v1.Record;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordBatchList;
import dev.brook.proto.v1.RecordList;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class StoredBatchTest {

  private static RecordBatch batch(int n, int size, CompressionCodec codec) {
    RecordList.Builder list = RecordList.newBuilder();
    for (int i = 0; i < n; i++) {
      list.addRecords(Record.newBuilder().setOffsetDelta(i).setTimestampDelta(i)
          .setValue(ByteString.copyFrom(new byte[size])));
    }
    ByteString records = Compression.compress(codec, list.build().toByteString());
    RecordBatch.Builder b = RecordBatch.newBuilder().setAttributes(codec.getNumber()).setRecordCount(n)
        .setBaseTimestamp(1000).setMaxTimestamp(1000 + n - 1).setProducerId(-1).setProducerEpoch(-1)
        .setBaseSequence(-1).setRecords(records);
    return b.setCrc(StoredBatch.computeCrc(b.build())).build();
  }

  private static ByteBuffer frame(RecordBatch b, long base, int epoch) {
    ByteBuffer buf = ByteBuffer.allocate(StoredBatch.frameSize(b.getRecords().size()));
    StoredBatch.writeFramePrefix(buf, b, base, epoch);
    buf.put(b.getRecords().asReadOnlyByteBuffer());
    return buf.flip();
  }

  @Test
  void framesParseAsRecordBatchListWithAssignedOffsets() throws Exception {
    RecordBatch a = batch(3, 10, CompressionCodec.COMPRESSION_NONE);
    RecordBatch b = batch(200, 100, CompressionCodec.COMPRESSION_LZ4);
    ByteBuffer fa = frame(a, 0, 7);
    ByteBuffer fb = frame(b, 3, 7);
    ByteBuffer log = ByteBuffer.allocate(fa.remaining() + fb.remaining()).put(fa).put(fb).flip();

    RecordBatchList parsed = RecordBatchList.parseFrom(log.duplicate());
    assertThat(parsed.getBatchesCount()).isEqualTo(2);
    assertThat(parsed.getBatches(0).getBaseOffset()).isZero();
    assertThat(parsed.getBatches(1).getBaseOffset()).isEqualTo(3);
    assertThat(parsed.getBatches(1).getPartitionLeaderEpoch()).isEqualTo(7);
    assertThat(parsed.getBatches(1).toBuilder().setBaseOffset(0).setPartitionLeaderEpoch(0).build()).isEqualTo(b);
    assertThat(StoredBatch.computeCrc(parsed.getBatches(1))).isEqualTo(b.getCrc());
    RecordList records = RecordList.parseFrom(Compression.decompress(
        Compression.codecOf(parsed.getBatches(1).getAttributes()), parsed.getBatches(1).getRecords()));
    assertThat(records.getRecordsCount()).isEqualTo(200);

    int sizeA = StoredBatch.frameSizeAt(log, 0, log.limit());
    assertThat(sizeA).isEqualTo(fa.limit());
    assertThat(StoredBatch.isValid(log, 0, sizeA)).isTrue();
    assertThat(StoredBatch.lastOffset(log, sizeA)).isEqualTo(202);
    assertThat(StoredBatch.isValid(log, sizeA, StoredBatch.frameSizeAt(log, sizeA, log.limit()))).isTrue();
  }

  @Test
  void detectsTornAndCorruptFrames() {
    ByteBuffer f = frame(batch(5, 50, CompressionCodec.COMPRESSION_NONE), 10, 1);
    int size = f.limit();
    assertThat(StoredBatch.frameSizeAt(f, 0, size - 1)).isEqualTo(-1);
    assertThat(StoredBatch.isValid(f, 0, size)).isTrue();
    f.put(size - 3, (byte) (f.get(size - 3) ^ 0x10));
    assertThat(StoredBatch.isValid(f, 0, size)).isFalse();
    f.put(size - 3, (byte) (f.get(size - 3) ^ 0x10));
    // Base offset and epoch are not covered by the CRC: patching them keeps the frame valid.
    StoredBatch.assign(f, 0, 99, 4);
    assertThat(StoredBatch.isValid(f, 0, size)).isTrue();
    assertThat(StoredBatch.baseOffset(f, 0)).isEqualTo(99);
    assertThat(StoredBatch.leaderEpoch(f, 0)).isEqualTo(4);
    f.put(0, (byte) 0x12);
    assertThat(StoredBatch.frameSizeAt(f, 0, size)).isEqualTo(-2);
  }

  @Test
  void topicNames() {
    assertThat(TopicNames.invalidReason("orders.v1_x-y")).isNull();
    assertThat(TopicNames.invalidReason("")).isNotNull();
    assertThat(TopicNames.invalidReason("..")).isNotNull();
    assertThat(TopicNames.invalidReason("a b")).contains("' '");
    assertThat(TopicNames.invalidReason("x".repeat(250))).contains("249");
  }
}
