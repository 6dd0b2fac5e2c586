package dev.brook.quorum.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.util.Environment;

/** One private, reused copy of RocksDB's native library instead of one per JVM. */
@Timeout(60)
class RocksDbLibraryTest {
  private static final String RESOURCE = Environment.getJniLibraryFileName("rocksdb");
  private static final String NAME = Environment.getJniLibraryFileName("rocksdbjni");

  @TempDir
  Path tmp;

  @Test
  void theLibraryIsExtractedOnceIntoAPrivateDirectoryAndReused() throws Exception {
    Path dir = tmp.resolve("brook-native-test");
    Path first = RocksDbLibrary.extractOnce(dir, RESOURCE, NAME);
    assertThat(first).isRegularFile().hasFileName(NAME);
    try (var in = RocksDbLibrary.class.getClassLoader().getResourceAsStream(RESOURCE)) {
      assertThat(Files.readAllBytes(first)).isEqualTo(in.readAllBytes());
    }
    assertThat(Files.getPosixFilePermissions(dir)).isEqualTo(PosixFilePermissions.fromString("rwx------"));
    Files.setLastModifiedTime(first, FileTime.fromMillis(1_000_000));

    Path again = RocksDbLibrary.extractOnce(dir, RESOURCE, NAME);
    assertThat(again).isEqualTo(first);
    assertThat(Files.getLastModifiedTime(again).toMillis()).as("not written again").isEqualTo(1_000_000);
    try (var left = Files.list(first.getParent())) {
      assertThat(left).containsExactly(first); // no partial copies left behind
    }
  }

  @Test
  void aDirectoryOthersMayWriteToOrALinkIsNotUsed() throws Exception {
    Path open = Files.createDirectory(tmp.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    assertThat(RocksDbLibrary.extractOnce(open, RESOURCE, NAME)).isNull();
    try (var left = Files.list(open)) {
      assertThat(left).isEmpty();
    }
    Path real = Files.createDirectory(tmp.resolve("real"), PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rwx------")));
    Path link = Files.createSymbolicLink(tmp.resolve("link"), real);
    assertThat(RocksDbLibrary.extractOnce(link, RESOURCE, NAME)).isNull();
  }

  @Test
  void aLibraryNotOnTheClassPathIsNoCopy() throws Exception {
    assertThat(RocksDbLibrary.extractOnce(tmp.resolve("x"), "librocksdbjni-no-such-platform.so", NAME)).isNull();
  }
}
