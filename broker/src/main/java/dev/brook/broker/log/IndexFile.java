package dev.brook.broker.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * An append-only file of fixed-size entries, mirrored in a primitive {@code long[]} so lookups
 * never touch the disk. The file exists so that a restart need not rescan closed segments; the
 * memory copy is the one that is read.
 *
 * <p>Threading: one writer (the partition's appender, under {@link PartitionLog}'s write lock)
 * appends and truncates; any number of readers look up without locks. The writer stores an entry,
 * then (when the array grew) publishes the new array through the volatile {@code slots}, then the
 * new count through the volatile {@code count}. A reader reads {@code count} first and
 * {@code slots} second, so it sees an array at least as new as the count and every entry below
 * the count. Arrays never shrink; truncation only lowers the count, and a reader that raced with a
 * truncation is told to retry by {@link PartitionLog}'s truncation generation.
 */
abstract class IndexFile {
  private final Path file;
  private final int entryBytes;
  private final int slotsPerEntry;
  private final ByteBuffer entryBuffer;
  private FileChannel channel;
  private volatile long[] slots;
  private volatile int count;

  IndexFile(Path file, int entryBytes, int slotsPerEntry) {
    this.file = file;
    this.entryBytes = entryBytes;
    this.slotsPerEntry = slotsPerEntry;
    this.entryBuffer = ByteBuffer.allocate(entryBytes);
    this.slots = new long[16 * slotsPerEntry];
  }

  /** Encodes the entry at {@code slots[at..]} into {@code out} (big-endian, {@code entryBytes}). */
  abstract void encode(long[] slots, int at, ByteBuffer out);

  /** Decodes one entry of the file from {@code in} into {@code slots[at..]}. */
  abstract void decode(ByteBuffer in, long[] slots, int at);

  /** Whether the loaded entries are well formed for a segment file of {@code segmentSize} bytes. */
  abstract boolean isConsistent(long segmentSize);

  final Path file() {
    return file;
  }

  final int entries() {
    return count;
  }

  /** The array to read entries from; call {@link #entries()} first (see the class comment). */
  final long[] slots() {
    return slots;
  }

  final int slotsPerEntry() {
    return slotsPerEntry;
  }

  /**
   * Loads the file into memory. Returns false (and loads nothing) when the file is missing, has a
   * partial entry, or {@link #isConsistent} says no: the caller then rebuilds it from the log.
   */
  final boolean load(long segmentSize) throws IOException {
    if (!Files.exists(file)) return false;
    byte[] bytes = Files.readAllBytes(file);
    if (bytes.length % entryBytes != 0) return false;
    int n = bytes.length / entryBytes;
    long[] loaded = new long[Math.max(16, n) * slotsPerEntry];
    ByteBuffer in = ByteBuffer.wrap(bytes);
    for (int i = 0; i < n; i++) {
      decode(in, loaded, i * slotsPerEntry);
    }
    slots = loaded;
    count = n;
    if (!isConsistent(segmentSize)) {
      count = 0;
      return false;
    }
    return true;
  }

  /** Opens the file for appending, creating it, and cuts anything beyond the loaded entries. */
  final void openForAppend() throws IOException {
    if (channel != null && channel.isOpen()) return;
    channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    channel.truncate((long) count * entryBytes);
  }

  /** Appends the entry already stored by the subclass in {@code entry} (length slotsPerEntry). */
  final void appendEntry(long[] entry) throws IOException {
    int n = count;
    long[] a = slots;
    int at = n * slotsPerEntry;
    if (at + slotsPerEntry > a.length) {
      a = Arrays.copyOf(a, a.length * 2);
      System.arraycopy(entry, 0, a, at, slotsPerEntry);
      slots = a;
    } else {
      System.arraycopy(entry, 0, a, at, slotsPerEntry);
    }
    if (channel != null) {
      entryBuffer.clear();
      encode(a, at, entryBuffer);
      entryBuffer.flip();
      long filePos = (long) n * entryBytes;
      while (entryBuffer.hasRemaining()) {
        filePos += channel.write(entryBuffer, filePos);
      }
    }
    count = n + 1;
  }

  /** Lowers the published count to {@code n} entries (memory only; readers stop seeing the rest). */
  final void truncateInMemory(int n) {
    if (n < count) count = n;
  }

  /** Cuts the file to the in-memory count. */
  final void truncateFile() throws IOException {
    if (channel != null) {
      channel.truncate((long) count * entryBytes);
    } else if (Files.exists(file)) {
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
        ch.truncate((long) count * entryBytes);
      }
    }
  }

  /** Drops every entry, in memory and on disk. */
  final void reset() throws IOException {
    count = 0;
    truncateFile();
  }

  /** Writes all entries to a fresh file (after a rebuild done in memory with no channel). */
  final void writeFully() throws IOException {
    int n = count;
    long[] a = slots;
    ByteBuffer out = ByteBuffer.allocate(n * entryBytes);
    for (int i = 0; i < n; i++) {
      encode(a, i * slotsPerEntry, out);
    }
    out.flip();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      while (out.hasRemaining()) ch.write(out);
      ch.force(true);
    }
  }

  final void flush() throws IOException {
    if (channel != null) channel.force(true);
  }

  /** fsyncs and closes the append channel; lookups keep working from memory. */
  final void closeForAppend() throws IOException {
    if (channel == null) return;
    try {
      channel.force(true);
    } finally {
      channel.close();
      channel = null;
    }
  }

  /** Closes without fsync (used when the files are about to be deleted). */
  final void closeQuietly() {
    if (channel == null) return;
    try {
      channel.close();
    } catch (IOException ignored) {
      // about to be deleted
    }
    channel = null;
  }
}
