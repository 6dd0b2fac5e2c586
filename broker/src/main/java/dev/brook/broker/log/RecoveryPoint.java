package dev.brook.broker.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The {@code recovery-point} file of a partition directory: an offset below which every batch was
 * fsynced (Kafka's recovery-point-offset-checkpoint, per partition). It is written only after
 * the data it covers is on disk, and replaced atomically (temporary file, then rename), so any
 * value a crash leaves behind, old or new, is at most what is durable; a lost or unreadable file
 * reads as "unknown", the conservative answer. {@link SegmentRecovery} trusts what lies below
 * it and checks only what comes after, the only part a crash can have torn.
 */
final class RecoveryPoint {
  static final String FILE = "recovery-point";

  private RecoveryPoint() {}

  /** The recorded recovery point, or -1 when there is none or it cannot be read. */
  static long read(Path dir) {
    Path f = dir.resolve(FILE);
    try {
      return Files.exists(f) ? Long.parseLong(Files.readString(f, StandardCharsets.US_ASCII).trim()) : -1;
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Records a higher recovery point. Not fsynced: losing it in a power failure leaves an older,
   * lower value, which is still true.
   */
  static void write(Path dir, long offset) throws IOException {
    Path tmp = dir.resolve(FILE + ".tmp");
    Files.writeString(tmp, Long.toString(offset) + "\n", StandardCharsets.US_ASCII);
    Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /**
   * Records a lower recovery point durably (file and directory fsynced) before the caller cuts
   * the log below the old one: a value that survived a crash above the log's real end would make
   * recovery mistake a torn write there for damage.
   */
  static void lower(Path dir, long offset) throws IOException {
    Path tmp = dir.resolve(FILE + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(ByteBuffer.wrap((Long.toString(offset) + "\n").getBytes(StandardCharsets.US_ASCII)));
      ch.force(true);
    }
    Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    syncDirectory(dir);
  }

  static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Some platforms cannot open a directory; the rename is as durable as they allow.
    }
  }
}
