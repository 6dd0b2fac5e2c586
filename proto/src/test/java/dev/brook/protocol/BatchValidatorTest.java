package dev.brook.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import dev.brook.proto.v1.CompressionCodec;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.Record;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordHeader;
import dev.brook.proto.v1.RecordList;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

@Timeout(30)
class BatchValidatorTest {
  private static final int MAX = 1 << 20;
  private static final long TS = 1_700_000_000_000L;
  private final BatchValidator validator = new BatchValidator();

  /** n records as the SDK builds them: deltas 0..n-1, timestamps TS + i, a key, a header. */
  private static RecordList records(int n, int valueBytes) {
    RecordList.Builder list = RecordList.newBuilder();
    for (int i = 0; i < n; i++) {
      byte[] value = new byte[valueBytes];
      Arrays.fill(value, (byte) ('a' + i % 26));
      list.addRecords(Record.newBuilder().setOffsetDelta(i).setTimestampDelta(i)
          .setKey(ByteString.copyFromUtf8("k" + i)).setValue(ByteString.copyFrom(value))
          .addHeaders(RecordHeader.newBuilder().setKey("trace-\u00e9\u4e2d\ud83d\ude00").setValue(ByteString.copyFromUtf8("v"))));
    }
    return list.build();
  }

  private static RecordBatch.Builder header(int count, CompressionCodec codec) {
    return RecordBatch.newBuilder().setAttributes(codec.getNumber()).setRecordCount(count)
        .setBaseTimestamp(TS).setMaxTimestamp(TS + count - 1)
        .setProducerId(-1).setProducerEpoch(-1).setBaseSequence(-1);
  }

  private static RecordBatch signed(RecordBatch.Builder b) {
    return b.setCrc(StoredBatch.computeCrc(b.build())).build();
  }

  private static RecordBatch batch(int claimedCount, CompressionCodec codec, ByteString uncompressed) {
    return signed(header(claimedCount, codec).setRecords(Compression.compress(codec, uncompressed)));
  }

  private InvalidBatchException rejected(RecordBatch b) {
    InvalidBatchException e = catchThrowableOfType(InvalidBatchException.class, () -> validator.validate(b, 0, MAX));
    assertThat(e).as("batch should be refused").isNotNull();
    return e;
  }

  private static ByteBuffer frame(RecordBatch b, long base, int epoch) {
    ByteBuffer buf = ByteBuffer.allocate(StoredBatch.frameSize(b.getRecords().size()));
    StoredBatch.writeFramePrefix(buf, b, base, epoch);
    buf.put(b.getRecords().asReadOnlyByteBuffer());
    return buf.flip();
  }

  @ParameterizedTest
  @EnumSource(value = CompressionCodec.class, names = "UNRECOGNIZED", mode = EnumSource.Mode.EXCLUDE)
  void validBatchesOfEveryCodecPassAsProducedAndAsStored(CompressionCodec codec) throws Exception {
    for (int n : new int[] {1, 7, 2000}) {
      RecordBatch b = batch(n, codec, records(n, 100).toByteString());
      validator.validate(b, 0, MAX);
      ByteBuffer f = frame(b, 42, 3);
      validator.validateFrame(f, 0, f.limit(), BatchValidator.Origin.REPLICA, MAX);
      validator.validateFrame(f, 0, f.limit(), BatchValidator.Origin.PRODUCER, MAX);
    }
  }

  @Test
  void recordsLargerThanTheWindowAndKeysSpanningItAreWalked() throws Exception {
    // A key of 100 KiB and a UTF-8 header key placed so that it straddles the 64 KiB window edge.
    RecordList.Builder list = RecordList.newBuilder();
    list.addRecords(Record.newBuilder().setOffsetDelta(0).setKey(ByteString.copyFrom(new byte[100_000])));
    StringBuilder key = new StringBuilder();
    for (int i = 0; i < 40_000; i++) key.append('\u00e9');
    list.addRecords(Record.newBuilder().setOffsetDelta(1)
        .addHeaders(RecordHeader.newBuilder().setKey(key.toString())));
    RecordBatch b = signed(header(2, CompressionCodec.COMPRESSION_NONE).setMaxTimestamp(TS)
        .setRecords(list.build().toByteString()));
    validator.validate(b, 0, MAX);
  }

  @Test
  void tombstonesEmptyValuesAndUnknownFieldsAreValid() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CodedOutputStream cos = CodedOutputStream.newInstance(out);
    // Record 0: a tombstone with a key and an unknown field 9 (fixed32), as a newer client may write.
    Record r0 = Record.newBuilder().setKey(ByteString.copyFromUtf8("gone")).build();
    ByteArrayOutputStream r0bytes = new ByteArrayOutputStream();
    CodedOutputStream r0out = CodedOutputStream.newInstance(r0bytes);
    r0.writeTo(r0out);
    r0out.writeFixed32(9, 7);
    r0out.flush();
    cos.writeByteArray(1, r0bytes.toByteArray());
    cos.writeMessage(1, Record.newBuilder().setOffsetDelta(1).setValue(ByteString.EMPTY).build());
    cos.writeUInt64(7, 99); // unknown RecordList field
    cos.flush();
    RecordBatch b = signed(header(2, CompressionCodec.COMPRESSION_NONE).setMaxTimestamp(TS)
        .setRecords(ByteString.copyFrom(out.toByteArray())));
    validator.validate(b, 0, MAX);
  }

  @Test
  void moreRecordsThanRecordCountIsCorrupt() {
    InvalidBatchException e = rejected(batch(3, CompressionCodec.COMPRESSION_NONE, records(5, 10).toByteString()));
    assertThat(e.code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(e.getMessage()).contains("more records than its record_count 3");
  }

  @Test
  void fewerRecordsThanRecordCountIsCorrupt() {
    RecordBatch b = signed(header(5, CompressionCodec.COMPRESSION_NONE).setMaxTimestamp(TS + 2)
        .setRecords(records(3, 10).toByteString()));
    InvalidBatchException e = rejected(b);
    assertThat(e.code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(e.getMessage()).contains("record_count is 5 but the records hold 3");
  }

  @ParameterizedTest
  @EnumSource(value = CompressionCodec.class, names = {"COMPRESSION_GZIP", "COMPRESSION_SNAPPY",
      "COMPRESSION_LZ4", "COMPRESSION_ZSTD"})
  void bytesThatAreNotOfTheNamedCodecAreCorrupt(CompressionCodec codec) {
    // Uncompressed records, labelled as compressed.
    RecordBatch b = signed(header(3, codec).setRecords(records(3, 10).toByteString()));
    InvalidBatchException e = rejected(b);
    assertThat(e.code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(e.getMessage()).contains("do not decompress with " + codec.name());
  }

  @ParameterizedTest
  @EnumSource(value = CompressionCodec.class, names = "UNRECOGNIZED", mode = EnumSource.Mode.EXCLUDE)
  void truncatedCompressedOrPlainRecordsAreCorrupt(CompressionCodec codec) {
    ByteString whole = Compression.compress(codec, records(50, 100).toByteString());
    RecordBatch b = signed(header(50, codec).setRecords(whole.substring(0, whole.size() - 7)));
    assertThat(rejected(b).code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
  }

  @Test
  void randomBytesAreCorrupt() {
    byte[] junk = new byte[500];
    new Random(7).nextBytes(junk);
    RecordBatch b = signed(header(3, CompressionCodec.COMPRESSION_NONE).setRecords(ByteString.copyFrom(junk)));
    assertThat(rejected(b).code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
  }

  @Test
  void offsetDeltasMustBeZeroToNMinusOne() {
    RecordList list = RecordList.newBuilder()
        .addRecords(Record.newBuilder().setOffsetDelta(0))
        .addRecords(Record.newBuilder().setOffsetDelta(2))
        .addRecords(Record.newBuilder().setOffsetDelta(1)).build();
    RecordBatch b = signed(header(3, CompressionCodec.COMPRESSION_NONE).setMaxTimestamp(TS).setRecords(list.toByteString()));
    InvalidBatchException e = rejected(b);
    assertThat(e.code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(e.getMessage()).contains("record 1 has offset_delta 2, expected 1");
  }

  @Test
  void timestampsMustAgreeWithTheHeader() {
    RecordList firstNotZero = RecordList.newBuilder().addRecords(Record.newBuilder().setTimestampDelta(5)).build();
    assertThat(rejected(signed(header(1, CompressionCodec.COMPRESSION_NONE).setMaxTimestamp(TS + 5)
        .setRecords(firstNotZero.toByteString()))).getMessage()).contains("timestamp_delta 5, expected 0");

    InvalidBatchException wrongMax = rejected(signed(header(3, CompressionCodec.COMPRESSION_NONE).setMaxTimestamp(TS + 9)
        .setRecords(records(3, 1).toByteString())));
    assertThat(wrongMax.code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(wrongMax.getMessage()).contains("max_timestamp is " + (TS + 9) + " but the largest record timestamp is " + (TS + 2));

    InvalidBatchException backwards = rejected(signed(header(1, CompressionCodec.COMPRESSION_NONE)
        .setBaseTimestamp(TS + 1).setMaxTimestamp(TS).setRecords(records(1, 1).toByteString())));
    assertThat(backwards.getMessage()).contains("is after max_timestamp");

    RecordList overflow = RecordList.newBuilder().addRecords(Record.newBuilder())
        .addRecords(Record.newBuilder().setOffsetDelta(1).setTimestampDelta(Long.MAX_VALUE)).build();
    assertThat(rejected(signed(header(2, CompressionCodec.COMPRESSION_NONE).setMaxTimestamp(Long.MAX_VALUE)
        .setRecords(overflow.toByteString()))).getMessage()).contains("overflows");
  }

  @Test
  void headerKeysMustBeUtf8() throws IOException {
    for (byte[] bad : new byte[][] {
        {(byte) 0xC3}, // truncated 2-byte sequence
        {(byte) 0xC0, (byte) 0x80}, // overlong NUL
        {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, // a surrogate
        {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, // beyond U+10FFFF
        {(byte) 0xFF}}) {
      ByteArrayOutputStream header = new ByteArrayOutputStream();
      CodedOutputStream h = CodedOutputStream.newInstance(header);
      h.writeByteArray(1, bad);
      h.flush();
      ByteArrayOutputStream record = new ByteArrayOutputStream();
      CodedOutputStream r = CodedOutputStream.newInstance(record);
      r.writeByteArray(5, header.toByteArray());
      r.flush();
      ByteArrayOutputStream list = new ByteArrayOutputStream();
      CodedOutputStream l = CodedOutputStream.newInstance(list);
      l.writeByteArray(1, record.toByteArray());
      l.flush();
      RecordBatch b = signed(header(1, CompressionCodec.COMPRESSION_NONE).setMaxTimestamp(TS)
          .setRecords(ByteString.copyFrom(list.toByteArray())));
      InvalidBatchException e = rejected(b);
      assertThat(e.code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
      assertThat(e.getMessage()).contains("header key is not valid UTF-8");
    }
  }

  @Test
  void aRecordLargerThanTheLimitIsTooLargeEvenWhenCompressedSmall() {
    RecordList big = RecordList.newBuilder().addRecords(Record.newBuilder()
        .setValue(ByteString.copyFrom(new byte[2 * MAX]))).build();
    RecordBatch b = signed(header(1, CompressionCodec.COMPRESSION_ZSTD).setMaxTimestamp(TS)
        .setRecords(Compression.compress(CompressionCodec.COMPRESSION_ZSTD, big.toByteString())));
    assertThat(b.getRecords().size()).isLessThan(MAX);
    InvalidBatchException e = rejected(b);
    assertThat(e.code()).isEqualTo(ErrorCode.RECORD_TOO_LARGE);
  }

  @Test
  void knownFieldsWithTheWrongWireTypeAreCorrupt() throws IOException {
    ByteArrayOutputStream record = new ByteArrayOutputStream();
    CodedOutputStream r = CodedOutputStream.newInstance(record);
    r.writeByteArray(2, new byte[] {1}); // offset_delta as bytes
    r.flush();
    ByteArrayOutputStream list = new ByteArrayOutputStream();
    CodedOutputStream l = CodedOutputStream.newInstance(list);
    l.writeByteArray(1, record.toByteArray());
    l.flush();
    RecordBatch b = signed(header(1, CompressionCodec.COMPRESSION_NONE).setMaxTimestamp(TS)
        .setRecords(ByteString.copyFrom(list.toByteArray())));
    assertThat(rejected(b).getMessage()).contains("Record.offset_delta has wire type 2");
  }

  @Test
  void aTagBeyond32BitsIsCorruptNotAnUnknownField() throws IOException {
    // protobuf-java would keep the low 32 bits (field 1, a sixth record); other parsers refuse it.
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CodedOutputStream cos = CodedOutputStream.newInstance(out);
    RecordList three = records(3, 10);
    three.writeTo(cos);
    cos.writeUInt64NoTag((1L << 32) | 0x0A);
    byte[] extra = Record.newBuilder().setOffsetDelta(3).build().toByteArray();
    cos.writeUInt32NoTag(extra.length);
    cos.writeRawBytes(extra);
    cos.flush();
    RecordBatch b = signed(header(3, CompressionCodec.COMPRESSION_NONE).setMaxTimestamp(TS + 2)
        .setRecords(ByteString.copyFrom(out.toByteArray())));
    InvalidBatchException e = rejected(b);
    assertThat(e.code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(e.getMessage()).contains("field tag out of range");
  }

  @Test
  void aSmallBatchThatInflatesFarBeyondItsRecordsIsRefused() throws IOException {
    // One tiny record, then an unknown field of 64 MiB of zeros: a few KiB with zstd.
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CodedOutputStream cos = CodedOutputStream.newInstance(out);
    records(1, 10).writeTo(cos);
    cos.writeByteArray(9, new byte[64 << 20]);
    cos.flush();
    ByteString compressed = Compression.compress(CompressionCodec.COMPRESSION_ZSTD, ByteString.copyFrom(out.toByteArray()));
    assertThat(compressed.size()).isLessThan(MAX);
    RecordBatch b = signed(header(1, CompressionCodec.COMPRESSION_ZSTD).setMaxTimestamp(TS).setRecords(compressed));
    InvalidBatchException e = rejected(b);
    assertThat(e.code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(e.getMessage()).contains("decompress to more than");
  }

  @Test
  void crcMismatchIsCorrupt() {
    RecordBatch good = batch(3, CompressionCodec.COMPRESSION_NONE, records(3, 10).toByteString());
    InvalidBatchException e = rejected(good.toBuilder().setCrc(good.getCrc() ^ 1).build());
    assertThat(e.code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(e.getMessage()).contains("CRC");
  }

  @Test
  void headerRulesAreInvalidRequests() {
    ByteString three = records(3, 10).toByteString();
    assertThat(rejected(signed(header(0, CompressionCodec.COMPRESSION_NONE).setRecords(three))).code())
        .isEqualTo(ErrorCode.INVALID_REQUEST);
    assertThat(rejected(signed(header(3, CompressionCodec.COMPRESSION_NONE).setAttributes(0x40).setRecords(three))).code())
        .isEqualTo(ErrorCode.INVALID_REQUEST);
    assertThat(rejected(signed(header(3, CompressionCodec.COMPRESSION_NONE).setAttributes(5).setRecords(three))).code())
        .isEqualTo(ErrorCode.UNSUPPORTED_COMPRESSION);
    assertThat(rejected(signed(header(3, CompressionCodec.COMPRESSION_NONE).setAttributes(StoredBatch.CONTROL_FLAG)
        .setRecords(three))).getMessage()).contains("control batches");
    assertThat(rejected(signed(header(3, CompressionCodec.COMPRESSION_NONE).setAttributes(StoredBatch.TRANSACTIONAL_FLAG)
        .setRecords(three))).code()).isEqualTo(ErrorCode.INVALID_REQUEST);
    assertThat(rejected(signed(header(3, CompressionCodec.COMPRESSION_NONE).setProducerId(12).setRecords(three))).getMessage())
        .contains("must all be -1");
  }

  @Test
  void storedFramesMayHaveCompactionGapsButNotDisorder() throws Exception {
    RecordList gaps = RecordList.newBuilder()
        .addRecords(Record.newBuilder().setOffsetDelta(1).setTimestampDelta(1))
        .addRecords(Record.newBuilder().setOffsetDelta(4).setTimestampDelta(2)).build();
    RecordBatch compacted = signed(header(5, CompressionCodec.COMPRESSION_NONE).setMaxTimestamp(TS + 4)
        .setRecords(gaps.toByteString()));
    ByteBuffer f = frame(compacted, 100, 2);
    assertThatCode(() -> validator.validateFrame(f, 0, f.limit(), BatchValidator.Origin.REPLICA, MAX)).doesNotThrowAnyException();
    assertThat(rejected(compacted).code()).isEqualTo(ErrorCode.CORRUPT_RECORD);

    RecordList disorder = RecordList.newBuilder()
        .addRecords(Record.newBuilder().setOffsetDelta(3))
        .addRecords(Record.newBuilder().setOffsetDelta(2)).build();
    RecordBatch bad = signed(header(5, CompressionCodec.COMPRESSION_NONE).setMaxTimestamp(TS).setRecords(disorder.toByteString()));
    ByteBuffer g = frame(bad, 100, 2);
    InvalidBatchException e = catchThrowableOfType(InvalidBatchException.class,
        () -> validator.validateFrame(g, 0, g.limit(), BatchValidator.Origin.REPLICA, MAX));
    assertThat(e.code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
    assertThat(e.getMessage()).startsWith("batch at offset 100");
  }

  @Test
  void aFlippedBitInAStoredFrameIsFound() {
    RecordBatch b = batch(10, CompressionCodec.COMPRESSION_LZ4, records(10, 50).toByteString());
    ByteBuffer f = frame(b, 0, 1);
    f.put(f.limit() - 3, (byte) (f.get(f.limit() - 3) ^ 0x10));
    InvalidBatchException e = catchThrowableOfType(InvalidBatchException.class,
        () -> validator.validateFrame(f, 0, f.limit(), BatchValidator.Origin.REPLICA, MAX));
    assertThat(e.code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
  }

  @Test
  void theValidatorIsReusableAfterAFailure() throws Exception {
    rejected(batch(3, CompressionCodec.COMPRESSION_GZIP, records(5, 10).toByteString()));
    assertThatCode(() -> validator.validate(batch(4, CompressionCodec.COMPRESSION_GZIP, records(4, 10).toByteString()), 1, MAX))
        .doesNotThrowAnyException();
  }
}
