package dev.brook.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.brook.client.serialization.Serdes;
import dev.brook.proto.v1.CompressionCodec;
import dev.brook.proto.v1.Record;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordList;
import dev.brook.protocol.Compression;
import dev.brook.protocol.StoredBatch;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BatchEncodingTest {
  private static final TopicPartition TP = new TopicPartition("t", 0);

  private static ProducerBatch sampleBatch(List<CompletableFuture<RecordMetadata>> futures) {
    ProducerBatch b = new ProducerBatch(TP, 1, new byte[4096], 4096, 0);
    futures.add(b.tryAppend(1000, "k0".getBytes(StandardCharsets.UTF_8), "v0".getBytes(StandardCharsets.UTF_8), List.of()));
    futures.add(b.tryAppend(1005, null, "no key".getBytes(StandardCharsets.UTF_8),
        List.of(new Header("h1", "x".getBytes(StandardCharsets.UTF_8)), new Header("h1", new byte[0]))));
    futures.add(b.tryAppend(990, "tomb".getBytes(StandardCharsets.UTF_8), null, List.of()));
    futures.add(b.tryAppend(1001, new byte[0], new byte[0], List.of()));
    return b;
  }

  @ParameterizedTest
  @EnumSource(value = CompressionCodec.class, names = "UNRECOGNIZED", mode = EnumSource.Mode.EXCLUDE)
  void batchParsesBackWithValidCrc(CompressionCodec codec) throws Exception {
    List<CompletableFuture<RecordMetadata>> futures = new ArrayList<>();
    ProducerBatch b = sampleBatch(futures);
    b.close(codec);
    RecordBatch wire = RecordBatch.parseFrom(b.wire().toByteString());
    assertThat(wire.getCrc()).isEqualTo(StoredBatch.computeCrc(wire));
    assertThat(wire.getAttributes()).isEqualTo(codec.getNumber());
    assertThat(wire.getRecordCount()).isEqualTo(4);
    assertThat(wire.getBaseTimestamp()).isEqualTo(1000);
    assertThat(wire.getMaxTimestamp()).isEqualTo(1005);
    assertThat(wire.getProducerId()).isEqualTo(-1);
    assertThat(wire.getProducerEpoch()).isEqualTo(-1);
    assertThat(wire.getBaseSequence()).isEqualTo(-1);

    List<Record> records = RecordList.parseFrom(Compression.decompress(codec, wire.getRecords())).getRecordsList();
    assertThat(records).hasSize(4);
    assertThat(records.get(0).getKey().toStringUtf8()).isEqualTo("k0");
    assertThat(records.get(0).getOffsetDelta()).isZero();
    assertThat(records.get(1).hasKey()).isFalse();
    assertThat(records.get(1).getOffsetDelta()).isEqualTo(1);
    assertThat(records.get(1).getTimestampDelta()).isEqualTo(5);
    assertThat(records.get(1).getHeadersList()).hasSize(2);
    assertThat(records.get(1).getHeaders(0).getKey()).isEqualTo("h1");
    assertThat(records.get(1).getHeaders(0).getValue().toStringUtf8()).isEqualTo("x");
    assertThat(records.get(2).hasValue()).isFalse();
    assertThat(records.get(2).getTimestampDelta()).isEqualTo(-10);
    assertThat(records.get(3).hasKey()).isTrue();
    assertThat(records.get(3).hasValue()).isTrue();
    assertThat(records.get(3).getOffsetDelta()).isEqualTo(3);

    b.complete(40);
    assertThat(futures.get(3).get()).isEqualTo(new RecordMetadata("t", 0, 43, 1001));
  }

  @ParameterizedTest
  @EnumSource(value = CompressionCodec.class, names = "UNRECOGNIZED", mode = EnumSource.Mode.EXCLUDE)
  void storedFramesDecodeInTheConsumerFromAMidBatchOffset(CompressionCodec codec) {
    ProducerBatch b = sampleBatch(new ArrayList<>());
    b.close(codec);
    RecordBatch wire = b.wire();
    // The broker's stored form: fixed header written by StoredBatch, then the records bytes.
    int recordsLength = wire.getRecords().size();
    ByteBuffer buf = ByteBuffer.allocate(2 * StoredBatch.frameSize(recordsLength));
    for (long base : new long[] {100, 104}) {
      StoredBatch.writeFramePrefix(buf, wire, base, 7);
      buf.put(wire.getRecords().asReadOnlyByteBuffer());
    }
    buf.flip();
    assertThat(StoredBatch.isValid(buf, 0, StoredBatch.frameSizeAt(buf, 0, buf.limit()))).isTrue();

    PartitionRecords pr = new PartitionRecords(TP, ByteString.copyFrom(buf), 102);
    List<ConsumerRecord<String, String>> out = new ArrayList<>();
    assertThat(pr.drain(3, Serdes.stringDeserializer(), Serdes.stringDeserializer(), out)).isEqualTo(3);
    assertThat(out).extracting(ConsumerRecord::offset).containsExactly(102L, 103L, 104L);
    assertThat(out.get(0).value()).isNull();
    assertThat(out.get(0).key()).isEqualTo("tomb");
    assertThat(out.get(0).timestamp()).isEqualTo(990);
    assertThat(out.get(0).leaderEpoch()).isEqualTo(7);
    assertThat(out.get(2).key()).isEqualTo("k0");
    assertThat(pr.nextOffset()).isEqualTo(105);
    out.clear();
    pr.drain(100, Serdes.stringDeserializer(), Serdes.stringDeserializer(), out);
    assertThat(out).extracting(ConsumerRecord::offset).containsExactly(105L, 106L, 107L);
    assertThat(out.get(0).key()).isNull();
    assertThat(out.get(0).headers()).hasSize(2);
    assertThat(pr.isDrained()).isTrue();
    assertThat(pr.nextOffset()).isEqualTo(108);
  }
}
