package dev.brook.protocol;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import com.google.protobuf.ByteString;
import dev.brook.proto.v1.CompressionCodec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;
import org.xerial.snappy.SnappyFramedInputStream;
import org.xerial.snappy.SnappyFramedOutputStream;

/**
 * The batch compression codecs of {@link CompressionCodec}, applied to a whole serialized
 * {@code RecordList}. Only clients (and later, log compaction) compress or decompress: the
 * broker stores and serves compressed batches as they arrived.
 */
public final class Compression {
  private Compression() {}

  /** The codec stored in bits 0-2 of a batch's attributes. */
  public static CompressionCodec codecOf(int attributes) {
    CompressionCodec codec = CompressionCodec.forNumber(attributes & StoredBatch.CODEC_MASK);
    if (codec == null) {
      throw new IllegalArgumentException("unknown compression codec " + (attributes & StoredBatch.CODEC_MASK));
    }
    return codec;
  }

  /** Parses a codec name as used in configs and on the CLI: none, gzip, snappy, lz4, zstd. */
  public static CompressionCodec parse(String name) {
    switch (name.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "none": return CompressionCodec.COMPRESSION_NONE;
      case "gzip": return CompressionCodec.COMPRESSION_GZIP;
      case "snappy": return CompressionCodec.COMPRESSION_SNAPPY;
      case "lz4": return CompressionCodec.COMPRESSION_LZ4;
      case "zstd": return CompressionCodec.COMPRESSION_ZSTD;
      default:
        throw new IllegalArgumentException(
            "unknown compression type '" + name + "' (expected none, gzip, snappy, lz4 or zstd)");
    }
  }

  /** Compresses {@code data} with {@code codec}; NONE returns it unchanged. */
  public static ByteString compress(CompressionCodec codec, ByteString data) {
    if (codec == CompressionCodec.COMPRESSION_NONE) return data;
    ByteString.Output out = ByteString.newOutput(Math.max(64, data.size() / 2));
    try (OutputStream os = wrap(codec, out)) {
      data.writeTo(os);
    } catch (IOException e) {
      throw new UncheckedIOException("compression with " + codec + " failed", e);
    }
    return out.toByteString();
  }

  /** Decompresses {@code data} compressed with {@code codec}; NONE returns it unchanged. */
  public static ByteString decompress(CompressionCodec codec, ByteString data) throws IOException {
    if (codec == CompressionCodec.COMPRESSION_NONE) return data;
    try (InputStream in = unwrap(codec, data.newInput())) {
      return ByteString.readFrom(in);
    }
  }

  private static OutputStream wrap(CompressionCodec codec, OutputStream out) throws IOException {
    switch (codec) {
      case COMPRESSION_GZIP: return new GZIPOutputStream(out, 8192);
      case COMPRESSION_SNAPPY: return new SnappyFramedOutputStream(out);
      // 64 KiB blocks (as Kafka's producer writes), not the library's 4 MiB default: every
      // compressor and decompressor of a batch allocates buffers of the block size.
      case COMPRESSION_LZ4: return new LZ4FrameOutputStream(out, LZ4FrameOutputStream.BLOCKSIZE.SIZE_64KB);
      case COMPRESSION_ZSTD: return new ZstdOutputStream(out);
      default: throw new IllegalArgumentException("unsupported codec " + codec);
    }
  }

  private static InputStream unwrap(CompressionCodec codec, InputStream in) throws IOException {
    switch (codec) {
      case COMPRESSION_GZIP: return new GZIPInputStream(in, 8192);
      case COMPRESSION_SNAPPY: return new SnappyFramedInputStream(in);
      case COMPRESSION_LZ4: return new LZ4FrameInputStream(in);
      case COMPRESSION_ZSTD: return new ZstdInputStream(in);
      default: throw new IllegalArgumentException("unsupported codec " + codec);
    }
  }
}
