package dev.brook.quorum.raft;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32;
import org.rocksdb.RocksDB;
import org.rocksdb.util.Environment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads RocksDB's native library from one copy per user and library build, instead of RocksDB's
 * default: a fresh 17 MB copy in {@code java.io.tmpdir} per JVM, deleted only when the JVM exits
 * normally. Every node killed with -9 (a crash, the fault-injection suite's hundreds of kills) left
 * its copy behind until /tmp filled up.
 *
 * <p>The copy lives in {@code <java.io.tmpdir>/brook-native-<user>/}, a directory this user owns
 * with mode 0700 (another local user cannot plant a library there), under a name that carries
 * the library's CRC-32, so JVMs of different RocksDB builds never share a file. It is written to a
 * temporary file and renamed into place, so concurrent JVMs never load a half-written one, and
 * it is never rewritten in place (a JVM that mapped it keeps a valid mapping).
 *
 * <p>Whenever any of this is not possible (no POSIX file system, a directory with other owner or
 * mode, an I/O error), RocksDB's own loader is used, as before.
 */
final class RocksDbLibrary {
  private static final Logger LOG = LoggerFactory.getLogger(RocksDbLibrary.class);
  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");

  private RocksDbLibrary() {}

  /** Loads the library (once per JVM; later calls return at once). */
  static synchronized void load() {
    try {
      Path dir = Path.of(System.getProperty("java.io.tmpdir"), "brook-native-" + System.getProperty("user.name"));
      // RocksDB's jar holds librocksdbjni-<platform>.so ("rocksdb" + "jni"), while
      // loadLibrary(paths) looks in each path for getJniLibraryFileName("rocksdbjni"), which is
      // librocksdbjnijni-<platform>.so: the copy gets the name that loader looks for. Should a
      // later RocksDB look for another name, the load below fails and its default is used.
      Path library = extractOnce(dir, Environment.getJniLibraryFileName("rocksdb"),
          Environment.getJniLibraryFileName("rocksdbjni"));
      if (library != null) {
        RocksDB.loadLibrary(List.of(library.getParent().toString()));
        return;
      }
    } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
      LOG.debug("RocksDB's native library could not be loaded from a shared copy ({}); extracting it per JVM", e.toString());
    }
    RocksDB.loadLibrary();
  }

  /**
   * The class-path resource {@code resource} as {@code dir/<crc>/<name>}, extracted if it is not
   * there yet; null when {@code dir} is not this user's alone or there is no such resource.
   */
  static Path extractOnce(Path dir, String resource, String name) throws IOException {
    byte[] bytes;
    try (InputStream in = RocksDB.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) return null;
      bytes = in.readAllBytes();
    }
    if (!ownedPrivateDirectory(dir)) return null;
    CRC32 crc = new CRC32();
    crc.update(bytes);
    Path versionDir = dir.resolve(String.format("%08x", crc.getValue()));
    if (!ownedPrivateDirectory(versionDir)) return null;
    Path target = versionDir.resolve(name);
    if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) && Files.size(target) == bytes.length) return target;
    Path partial = Files.createTempFile(versionDir, name, ".partial");
    try {
      try (OutputStream out = Files.newOutputStream(partial)) {
        out.write(bytes);
      }
      try {
        Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
        if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) || Files.size(target) != bytes.length) throw e;
      }
    } finally {
      Files.deleteIfExists(partial);
    }
    return target;
  }

  /** Creates {@code dir} as mode 0700, or checks that it is a directory of this user's with that mode. */
  private static boolean ownedPrivateDirectory(Path dir) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      try {
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
      } catch (FileAlreadyExistsException e) {
        // created by a concurrent JVM: checked below
      } catch (UnsupportedOperationException e) {
        return false;
      }
    }
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return false;
    String me = System.getProperty("user.name");
    if (!Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).getName().equals(me)) return false;
    return Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS).equals(OWNER_ONLY);
  }
}
