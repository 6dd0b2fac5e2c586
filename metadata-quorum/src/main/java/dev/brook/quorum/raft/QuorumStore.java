package dev.brook.quorum.raft;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.brook.quorum.proto.AppliedRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.rocksdb.Checkpoint;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The quorum's RocksDB: the state of every domain. The Raft layer owns the {@code meta} column
 * family (keys {@code format} and {@code applied}, see quorum.proto's AppliedRecord); each
 * {@link QuorumDomain} owns the families it declares, and reads and writes only those.
 *
 * <p>Invariant: every write is one WriteBatch holding an entry's changes of every domain AND its
 * AppliedRecord, so after a crash the database is exactly the state after some applied index.
 * The batch goes to RocksDB's write-ahead log without an fsync: the entry is durable already in
 * the Ratis log (fsynced on a majority before it was committed, and kept until a snapshot covers
 * it), so a tail of batches lost with the machine is applied again from there at the next start.
 * A process crash (kill -9) loses nothing (the WAL is in the page cache); snapshots are RocksDB
 * checkpoints, which flush everything first. One fsync per entry less on every voter is what lets
 * a voter apply hundreds of group commits per second.
 *
 * <p>Format: {@link #FORMAT} is written into a fresh database. A database without a format
 * number that has applied entries was written by an earlier development build (format 1: the
 * cluster id in {@code meta}, one metadata version); it is refused with a message saying so, as
 * is a newer format. There is no release to upgrade from, so there is no migration.
 *
 * <p>Threading: {@link #commit} is called by the single apply thread; {@link #checkpoint} may
 * run concurrently (RocksDB is thread-safe); {@link #close} only after both stopped.
 */
public final class QuorumStore implements AutoCloseable {
  static {
    RocksDbLibrary.load();
  }

  /** The database format this build reads and writes. */
  public static final int FORMAT = 2;
  static final String META = "meta";
  private static final byte[] APPLIED_KEY = "applied".getBytes(StandardCharsets.UTF_8);
  private static final byte[] FORMAT_KEY = "format".getBytes(StandardCharsets.UTF_8);

  private final Path dir;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions cfOptions;
  private final List<ColumnFamilyHandle> handles = new ArrayList<>();
  private final Map<String, ColumnFamilyHandle> families = new HashMap<>();
  private final RocksDB db;
  private final ColumnFamilyHandle meta;
  private final WriteOptions syncWrite = new WriteOptions().setSync(true);
  /** For entries' batches: WAL, no fsync (see the class comment). */
  private final WriteOptions walWrite = new WriteOptions().setSync(false);

  private QuorumStore(Path dir, Collection<String> domainFamilies) throws IOException {
    this.dir = dir;
    Files.createDirectories(dir);
    Set<String> names = new LinkedHashSet<>();
    names.add(META);
    names.addAll(domainFamilies);
    // RocksDB opens only with every family the database has: keep ones no domain declares
    // (a domain of a newer build) open and untouched.
    for (String existing : existingFamilies(dir)) {
      if (!existing.equals(new String(RocksDB.DEFAULT_COLUMN_FAMILY, StandardCharsets.UTF_8))) names.add(existing);
    }
    checkFormat(dir);
    this.dbOptions = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true);
    this.cfOptions = new ColumnFamilyOptions();
    List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
    descriptors.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions));
    for (String f : names) descriptors.add(new ColumnFamilyDescriptor(f.getBytes(StandardCharsets.UTF_8), cfOptions));
    RocksDB opened;
    try {
      opened = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
      int i = 1;
      for (String f : names) families.put(f, handles.get(i++));
      if (opened.get(families.get(META), FORMAT_KEY) == null) {
        opened.put(families.get(META), syncWrite, FORMAT_KEY, String.valueOf(FORMAT).getBytes(StandardCharsets.UTF_8));
      }
    } catch (RocksDBException e) {
      for (ColumnFamilyHandle h : handles) h.close();
      syncWrite.close();
      cfOptions.close();
      dbOptions.close();
      throw new IOException("cannot open the metadata database in " + dir + ": " + e.getMessage(), e);
    }
    this.db = opened;
    this.meta = families.get(META);
  }

  /**
   * Opens (creating if needed) the database in {@code dir} with the Raft layer's family and
   * {@code domainFamilies}; refuses a database of another format.
   */
  public static QuorumStore open(Path dir, Collection<String> domainFamilies) throws IOException {
    return new QuorumStore(dir, domainFamilies);
  }

  private static List<String> existingFamilies(Path dir) throws IOException {
    if (!Files.exists(dir.resolve("CURRENT"))) return List.of();
    try (Options o = new Options()) {
      List<String> out = new ArrayList<>();
      for (byte[] f : RocksDB.listColumnFamilies(o, dir.toString())) out.add(new String(f, StandardCharsets.UTF_8));
      return out;
    } catch (RocksDBException e) {
      throw new IOException("cannot read the metadata database in " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads the format of an existing database without changing it (read-only open), and refuses
   * one this build cannot read. A database that never applied anything counts as fresh.
   */
  private static void checkFormat(Path dir) throws IOException {
    List<String> existing = existingFamilies(dir);
    if (!existing.contains(META)) return; // fresh, or created and never written
    List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
    List<ColumnFamilyHandle> hs = new ArrayList<>();
    try (ColumnFamilyOptions cfo = new ColumnFamilyOptions(); DBOptions dbo = new DBOptions()) {
      for (String f : existing) descriptors.add(new ColumnFamilyDescriptor(f.getBytes(StandardCharsets.UTF_8), cfo));
      try (RocksDB ro = RocksDB.openReadOnly(dbo, dir.toString(), descriptors, hs)) {
        ColumnFamilyHandle m = hs.get(existing.indexOf(META));
        byte[] format = ro.get(m, FORMAT_KEY);
        byte[] applied = ro.get(m, APPLIED_KEY);
        if (format == null && applied != null) {
          throw new IOException("the metadata database in " + dir + " has format 1, written by an earlier development"
              + " build of Brook; this build reads format " + FORMAT + " only and there is no migration: remove the"
              + " quorum directory (" + dir.getParent() + ") to start the node with an empty quorum");
        }
        if (format != null) {
          String f = new String(format, StandardCharsets.UTF_8);
          if (!f.equals(String.valueOf(FORMAT))) {
            throw new IOException("the metadata database in " + dir + " has format " + f + "; this build reads format "
                + FORMAT + " only");
          }
        }
      } finally {
        for (ColumnFamilyHandle h : hs) h.close();
      }
    } catch (RocksDBException e) {
      throw new IOException("cannot read the metadata database in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The last applied entry (the default instance when nothing was applied). */
  AppliedRecord applied() throws IOException {
    try {
      byte[] a = db.get(meta, APPLIED_KEY);
      return a == null ? AppliedRecord.getDefaultInstance() : AppliedRecord.parseFrom(a);
    } catch (RocksDBException | InvalidProtocolBufferException e) {
      throw new IOException("cannot read the metadata database in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** A reader of the families in {@code owned}. */
  StoreReader reader(Set<String> owned) {
    return new Reader(owned);
  }

  /** An empty write batch for one entry; {@link Batch#writer} scopes it per domain. */
  Batch newBatch() {
    return new Batch();
  }

  /** Writes one entry's batch and its applied record atomically (WAL, no fsync), then frees the batch. */
  void commit(Batch batch, AppliedRecord applied) throws IOException {
    try (WriteBatch b = batch.batch) {
      b.put(meta, APPLIED_KEY, applied.toByteArray());
      db.write(walWrite, b);
    } catch (RocksDBException e) {
      throw new IOException("cannot write the metadata database in " + dir + ": " + e.getMessage(), e);
    }
  }

  private ColumnFamilyHandle family(Set<String> owned, String name) {
    if (!owned.contains(name)) throw new IllegalArgumentException("column family " + name + " is not this domain's");
    ColumnFamilyHandle h = families.get(name);
    if (h == null) throw new IllegalArgumentException("no column family " + name);
    return h;
  }

  private class Reader implements StoreReader {
    final Set<String> owned;

    Reader(Set<String> owned) {
      this.owned = owned;
    }

    @Override
    public byte[] get(String family, byte[] key) throws IOException {
      try {
        return db.get(family(owned, family), key);
      } catch (RocksDBException e) {
        throw new IOException("cannot read the metadata database in " + dir + ": " + e.getMessage(), e);
      }
    }

    @Override
    public void forEach(String family, EntryVisitor visitor) throws IOException {
      try (RocksIterator it = db.newIterator(family(owned, family))) {
        for (it.seekToFirst(); it.isValid(); it.next()) visitor.visit(it.key(), it.value());
        it.status();
      } catch (RocksDBException e) {
        throw new IOException("cannot read the metadata database in " + dir + ": " + e.getMessage(), e);
      }
    }
  }

  /** One entry's write batch. Not thread-safe: the apply thread builds and commits it. */
  final class Batch {
    private final WriteBatch batch = new WriteBatch();

    /** A writer into this batch restricted to the families in {@code owned}. */
    StoreWriter writer(Set<String> owned) {
      return new Writer(owned);
    }

    private final class Writer extends Reader implements StoreWriter {
      Writer(Set<String> owned) {
        super(owned);
      }

      @Override
      public void put(String family, byte[] key, byte[] value) {
        try {
          batch.put(family(owned, family), key, value);
        } catch (RocksDBException e) {
          throw new IllegalStateException("cannot add to a write batch: " + e.getMessage(), e);
        }
      }

      @Override
      public void delete(String family, byte[] key) {
        try {
          batch.delete(family(owned, family), key);
        } catch (RocksDBException e) {
          throw new IllegalStateException("cannot add to a write batch: " + e.getMessage(), e);
        }
      }

      @Override
      public void deleteRange(String family, byte[] from, byte[] to) {
        try {
          batch.deleteRange(family(owned, family), from, to);
        } catch (RocksDBException e) {
          throw new IllegalStateException("cannot add to a write batch: " + e.getMessage(), e);
        }
      }
    }
  }

  /** Creates a RocksDB checkpoint (hard links where possible) in {@code target}, which must not exist. */
  void checkpoint(Path target) throws IOException {
    try (Checkpoint cp = Checkpoint.create(db)) {
      cp.createCheckpoint(target.toString());
    } catch (RocksDBException e) {
      throw new IOException("cannot checkpoint the metadata database into " + target + ": " + e.getMessage(), e);
    }
  }

  /**
   * Replaces the database directory {@code dbDir} (closed) with a copy of the checkpoint in
   * {@code checkpointDir}, skipping the {@code .md5} files Ratis adds when it ships a snapshot.
   */
  static void restore(Path checkpointDir, Path dbDir) throws IOException {
    Path staging = dbDir.resolveSibling(dbDir.getFileName() + ".restoring");
    deleteRecursively(staging);
    Files.createDirectories(staging);
    try (Stream<Path> files = Files.list(checkpointDir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(f) && !f.getFileName().toString().endsWith(".md5")) {
          Files.copy(f, staging.resolve(f.getFileName()));
        }
      }
    }
    deleteRecursively(dbDir);
    Files.move(staging, dbDir);
  }

  static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p)) return;
    try (Stream<Path> walk = Files.walk(p)) {
      for (Path q : (Iterable<Path>) walk.sorted((x, y) -> y.compareTo(x))::iterator) {
        Files.delete(q);
      }
    }
  }

  @Override
  public void close() {
    for (ColumnFamilyHandle h : handles) h.close();
    db.close();
    syncWrite.close();
    walWrite.close();
    cfOptions.close();
    dbOptions.close();
  }
}
