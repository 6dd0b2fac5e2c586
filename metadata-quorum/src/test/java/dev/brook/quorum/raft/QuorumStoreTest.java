package dev.brook.quorum.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.quorum.proto.AppliedRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;

@Timeout(30)
class QuorumStoreTest {
  @TempDir
  Path dir;

  @Test
  void aFreshDatabaseGetsTheCurrentFormatAndKeepsWhatWasCommitted() throws Exception {
    Path db = dir.resolve("db");
    try (QuorumStore store = QuorumStore.open(db, List.of("a", "b"))) {
      QuorumStore.Batch batch = store.newBatch();
      batch.writer(Set.of("a")).put("a", key("k"), key("v"));
      store.commit(batch, AppliedRecord.newBuilder().setTerm(1).setIndex(7).putDomainVersions("x", 7).build());
    }
    try (QuorumStore store = QuorumStore.open(db, List.of("a", "b"))) {
      assertThat(store.applied().getIndex()).isEqualTo(7);
      assertThat(store.applied().getDomainVersionsMap()).containsEntry("x", 7L);
      assertThat(store.reader(Set.of("a")).get("a", key("k"))).isEqualTo(key("v"));
      assertThat(store.reader(Set.of("b")).get("b", key("k"))).isNull();
    }
    assertThat(metaValue(db, "format")).isEqualTo(String.valueOf(QuorumStore.FORMAT));
  }

  @Test
  void aDomainCannotTouchAnotherDomainsFamily() throws Exception {
    try (QuorumStore store = QuorumStore.open(dir.resolve("db"), List.of("a", "b"))) {
      StoreWriter onlyA = store.newBatch().writer(Set.of("a"));
      assertThatThrownBy(() -> onlyA.put("b", key("k"), key("v"))).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("not this domain's");
      assertThatThrownBy(() -> onlyA.get("meta", key("applied"))).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void aFormatOneDatabaseIsRefusedAndLeftAsItWas() throws Exception {
    Path db = dir.resolve("db");
    // What a build before the domain layout wrote: meta/applied, no meta/format, four families.
    writeRaw(db, List.of("meta", "topics", "partitions", "brokers"), "applied",
        AppliedRecord.newBuilder().setTerm(1).setIndex(3).build().toByteArray());
    List<String> before = families(db);

    assertThatThrownBy(() -> QuorumStore.open(db, List.of("cluster", "topics", "partitions", "brokers")))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("format 1").hasMessageContaining("no migration");
    assertThat(families(db)).isEqualTo(before);
    assertThat(metaValue(db, "format")).isNull();
  }

  @Test
  void aNewerFormatIsRefused() throws Exception {
    Path db = dir.resolve("db");
    writeRaw(db, List.of("meta"), "format", "3".getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(() -> QuorumStore.open(db, List.of("a"))).isInstanceOf(IOException.class)
        .hasMessageContaining("has format 3");
  }

  @Test
  void aFamilyNoDomainDeclaresIsKeptOpen() throws Exception {
    Path db = dir.resolve("db");
    try (QuorumStore store = QuorumStore.open(db, List.of("a", "later"))) {
      store.commit(store.newBatch(), AppliedRecord.newBuilder().setIndex(1).build());
    }
    try (QuorumStore store = QuorumStore.open(db, List.of("a"))) {
      assertThat(store.applied().getIndex()).isEqualTo(1);
    }
    assertThat(families(db)).contains("later");
  }

  private static byte[] key(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static void writeRaw(Path db, List<String> families, String metaKey, byte[] value) throws Exception {
    List<ColumnFamilyDescriptor> ds = new ArrayList<>();
    ds.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY));
    for (String f : families) ds.add(new ColumnFamilyDescriptor(f.getBytes(StandardCharsets.UTF_8)));
    List<ColumnFamilyHandle> hs = new ArrayList<>();
    java.nio.file.Files.createDirectories(db);
    try (DBOptions o = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true);
        RocksDB rdb = RocksDB.open(o, db.toString(), ds, hs)) {
      rdb.put(hs.get(1 + families.indexOf("meta")), key(metaKey), value);
      for (ColumnFamilyHandle h : hs) h.close();
    }
  }

  private static List<String> families(Path db) throws Exception {
    try (Options o = new Options()) {
      List<String> out = new ArrayList<>();
      for (byte[] f : RocksDB.listColumnFamilies(o, db.toString())) out.add(new String(f, StandardCharsets.UTF_8));
      return out;
    }
  }

  private static String metaValue(Path db, String key) throws Exception {
    List<String> fs = families(db);
    List<ColumnFamilyDescriptor> ds = new ArrayList<>();
    for (String f : fs) ds.add(new ColumnFamilyDescriptor(f.getBytes(StandardCharsets.UTF_8)));
    List<ColumnFamilyHandle> hs = new ArrayList<>();
    try (DBOptions o = new DBOptions(); RocksDB rdb = RocksDB.openReadOnly(o, db.toString(), ds, hs)) {
      byte[] v = rdb.get(hs.get(fs.indexOf("meta")), key(key));
      for (ColumnFamilyHandle h : hs) h.close();
      return v == null ? null : new String(v, StandardCharsets.UTF_8);
    }
  }
}
