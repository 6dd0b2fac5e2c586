package dev.brook.broker.replica;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The {@code high-watermark} file of a partition directory: one decimal number, replaced
 * atomically (write to a temporary file, then rename), so a crash leaves the old or the new value.
 */
final class HighWatermarkCheckpoint {
  static final String FILE = "high-watermark";

  private HighWatermarkCheckpoint() {}

  /** The recorded high watermark, or 0 when there is none or it cannot be read. */
  static long read(Path dir) {
    Path f = dir.resolve(FILE);
    try {
      return Files.exists(f) ? Math.max(0, Long.parseLong(Files.readString(f, StandardCharsets.US_ASCII).trim())) : 0;
    } catch (IOException | NumberFormatException e) {
      return 0;
    }
  }

  static void write(Path dir, long highWatermark) throws IOException {
    Path tmp = dir.resolve(FILE + ".tmp");
    Files.writeString(tmp, Long.toString(highWatermark) + "\n", StandardCharsets.US_ASCII);
    Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
