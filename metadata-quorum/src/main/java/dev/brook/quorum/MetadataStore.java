package dev.brook.quorum;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.brook.quorum.proto.AppliedRecord;
import dev.brook.quorum.proto.BrokerRecord;
import dev.brook.quorum.proto.ClusterRecord;
import dev.brook.quorum.proto.PartitionRecord;
import dev.brook.quorum.proto.TopicRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.rocksdb.Checkpoint;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The quorum's RocksDB: the metadata state itself. Column families: {@code meta} (keys
 * {@code applied} → AppliedRecord, {@code cluster} → ClusterRecord), {@code topics} (name →
 * TopicRecord), {@code partitions} (topic id + big-endian partition → PartitionRecord),
 * {@code brokers} (big-endian node id → BrokerRecord).
 *
 * <p>Invariant: every write is one WriteBatch holding an entry's changes AND its AppliedRecord,
 * synced to disk, so after a crash the database is exactly the state after some applied index.
 *
 * <p>Threading: {@link #write} is called by the single apply thread; {@link #checkpoint} may run
 * concurrently (RocksDB is thread-safe); {@link #close} only after both stopped.
 */
final class MetadataStore implements AutoCloseable {
  static {
    RocksDB.loadLibrary();
  }

  private static final byte[] APPLIED_KEY = "applied".getBytes(StandardCharsets.UTF_8);
  private static final byte[] CLUSTER_KEY = "cluster".getBytes(StandardCharsets.UTF_8);
  private static final String[] FAMILIES = {"meta", "topics", "partitions", "brokers"};

  /** The state read back from the database. */
  record Loaded(MetadataImage image, AppliedRecord applied) {}

  private final Path dir;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions cfOptions;
  private final List<ColumnFamilyHandle> handles = new ArrayList<>();
  private final RocksDB db;
  private final ColumnFamilyHandle meta;
  private final ColumnFamilyHandle topics;
  private final ColumnFamilyHandle partitions;
  private final ColumnFamilyHandle brokers;
  private final WriteOptions syncWrite = new WriteOptions().setSync(true);

  private MetadataStore(Path dir) throws IOException {
    this.dir = dir;
    this.dbOptions = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true);
    this.cfOptions = new ColumnFamilyOptions();
    List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
    descriptors.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions));
    for (String f : FAMILIES) descriptors.add(new ColumnFamilyDescriptor(f.getBytes(StandardCharsets.UTF_8), cfOptions));
    try {
      Files.createDirectories(dir);
      this.db = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
    } catch (RocksDBException e) {
      syncWrite.close();
      cfOptions.close();
      dbOptions.close();
      throw new IOException("cannot open the metadata database in " + dir + ": " + e.getMessage(), e);
    }
    this.meta = handles.get(1);
    this.topics = handles.get(2);
    this.partitions = handles.get(3);
    this.brokers = handles.get(4);
  }

  static MetadataStore open(Path dir) throws IOException {
    return new MetadataStore(dir);
  }

  Path dir() {
    return dir;
  }

  /** Reads the whole state: the image as of the last applied entry, and that entry. */
  Loaded load() throws IOException {
    try {
      AppliedRecord applied = AppliedRecord.getDefaultInstance();
      byte[] a = db.get(meta, APPLIED_KEY);
      if (a != null) applied = AppliedRecord.parseFrom(a);
      byte[] c = db.get(meta, CLUSTER_KEY);
      String clusterId = c == null ? null : ClusterRecord.parseFrom(c).getClusterId();

      Map<String, List<PartitionRecord>> partsById = new HashMap<>();
      try (RocksIterator it = db.newIterator(partitions)) {
        for (it.seekToFirst(); it.isValid(); it.next()) {
          PartitionRecord p = PartitionRecord.parseFrom(it.value());
          partsById.computeIfAbsent(p.getTopicId(), k -> new ArrayList<>()).add(p); // key order = partition order
        }
      }
      Map<String, TopicImage> topicImages = new TreeMap<>();
      try (RocksIterator it = db.newIterator(topics)) {
        for (it.seekToFirst(); it.isValid(); it.next()) {
          TopicRecord t = TopicRecord.parseFrom(it.value());
          List<PartitionRecord> ps = partsById.getOrDefault(t.getTopicId(), List.of());
          if (ps.size() != t.getPartitionCount()) {
            throw new IOException("topic " + t.getName() + " has " + ps.size() + " partition records, expected "
                + t.getPartitionCount() + ": the metadata database is corrupt");
          }
          topicImages.put(t.getName(), Records.toTopicImage(t, ps));
        }
      }
      Map<Integer, BrokerImage> brokerImages = new TreeMap<>();
      try (RocksIterator it = db.newIterator(brokers)) {
        for (it.seekToFirst(); it.isValid(); it.next()) {
          BrokerRecord b = BrokerRecord.parseFrom(it.value());
          brokerImages.put(b.getNodeId(), Records.toBrokerImage(b));
        }
      }
      return new Loaded(new MetadataImage(applied.getMetadataVersion(), clusterId, topicImages, brokerImages), applied);
    } catch (RocksDBException | InvalidProtocolBufferException e) {
      throw new IOException("cannot read the metadata database in " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Writes one entry's changes and its applied record atomically and durably. */
  void write(StoreDelta delta, AppliedRecord applied) throws IOException {
    try (WriteBatch batch = new WriteBatch()) {
      if (delta.cluster != null) batch.put(meta, CLUSTER_KEY, delta.cluster.toByteArray());
      for (StoreDelta.DeletedTopic t : delta.topicDeletes) {
        batch.delete(topics, Records.topicKey(t.name()));
        batch.deleteRange(partitions, Records.partitionKey(t.topicId(), 0), Records.partitionKey(t.topicId(), Integer.MAX_VALUE));
        batch.delete(partitions, Records.partitionKey(t.topicId(), Integer.MAX_VALUE));
      }
      for (TopicRecord t : delta.topicPuts) batch.put(topics, Records.topicKey(t.getName()), t.toByteArray());
      for (PartitionRecord p : delta.partitionPuts) {
        batch.put(partitions, Records.partitionKey(p.getTopicId(), p.getPartition()), p.toByteArray());
      }
      for (BrokerRecord b : delta.brokerPuts) batch.put(brokers, Records.brokerKey(b.getNodeId()), b.toByteArray());
      for (StoreDelta.BrokerPatch patch : delta.brokerPatches) {
        // Deterministic read-modify-write: every replica's database holds the same record here.
        byte[] key = Records.brokerKey(patch.nodeId());
        byte[] old = db.get(brokers, key);
        if (old == null) throw new IOException("broker " + patch.nodeId() + " has no record to change");
        BrokerRecord b = BrokerRecord.parseFrom(old).toBuilder()
            .setFenced(patch.fenced()).setShuttingDown(patch.shuttingDown()).setLeaseExpired(patch.leaseExpired()).build();
        batch.put(brokers, key, b.toByteArray());
      }
      batch.put(meta, APPLIED_KEY, applied.toByteArray());
      db.write(syncWrite, batch);
    } catch (RocksDBException | InvalidProtocolBufferException e) {
      throw new IOException("cannot write the metadata database in " + dir + ": " + e.getMessage(), e);
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
    cfOptions.close();
    dbOptions.close();
  }
}
