package dev.brook.broker.log;

import static dev.brook.broker.log.TestBatches.assertWellFormed;
import static dev.brook.broker.log.TestBatches.batch;
import static dev.brook.broker.log.TestBatches.config;
import static dev.brook.broker.log.TestBatches.readAll;
import static dev.brook.broker.log.TestBatches.tagOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.proto.v1.RecordBatch;
import dev.brook.protocol.StoredBatch;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SegmentRecoveryTest {
  private static final LogConfig CONFIG = config("segment.bytes", "1024", "index.interval.bytes", "100");

  @TempDir Path dir;
  private final AtomicLong clock = new AtomicLong(5_000);
  private PartitionLog log;

  @AfterEach
  void tearDown() throws IOException {
    if (log != null) log.close();
  }

  private PartitionLog open() throws IOException {
    log = PartitionLog.open(dir, CONFIG, clock::get);
    return log;
  }

  /** Writes {@code n} batches of 3 records, closes cleanly; returns the batches' tags in order. */
  private List<String> writeAndClose(int n) throws Exception {
    open();
    for (int i = 0; i < n; i++) {
      log.append(List.of(batch("b" + i, 3, clock.get() + i)), 1);
    }
    log.close();
    log = null;
    return IntStream.range(0, n).mapToObj(i -> "b" + i).collect(Collectors.toList());
  }

  private List<Path> segmentFiles() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.toString().endsWith(".log")).sorted().collect(Collectors.toList());
    }
  }

  /** Start positions of the frames in a segment file. */
  private static List<Integer> framePositions(Path file) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file));
    List<Integer> positions = new ArrayList<>();
    int pos = 0;
    while (pos < buf.limit()) {
      positions.add(pos);
      int size = StoredBatch.frameSizeAt(buf, pos, buf.limit());
      assertThat(size).isPositive();
      pos += size;
    }
    return positions;
  }

  @Test
  void reopenAfterCleanCloseKeepsEverything() throws Exception {
    List<String> tags = writeAndClose(40);
    assertThat(dir.resolve(".clean-shutdown")).exists();
    int segments = segmentFiles().size();

    open();
    assertThat(dir.resolve(".clean-shutdown")).doesNotExist();
    assertThat(log.segmentCount()).isEqualTo(segments);
    assertThat(log.logEndOffset()).isEqualTo(120);
    List<RecordBatch> all = readAll(log, 0);
    assertWellFormed(all);
    assertThat(all).extracting(TestBatches::tagOf).isEqualTo(tags);
    assertThat(log.offsetForTimestamp(clock.get() + 20)).isEqualTo(new OffsetAndTimestamp(60, clock.get() + 20));
    assertThat(log.append(List.of(batch("next", 1, 0)), 2).firstOffset()).isEqualTo(120);
  }

  @Test
  void tornTailIsTruncatedAtTheLastWholeBatch() throws Exception {
    List<String> tags = writeAndClose(40);
    Path last = segmentFiles().get(segmentFiles().size() - 1);
    List<Integer> frames = framePositions(last);
    int lastFrame = frames.get(frames.size() - 1);
    long size = Files.size(last);
    try (RandomAccessFile f = new RandomAccessFile(last.toFile(), "rw")) {
      f.setLength(size - 10); // cut mid-frame, as a crash during a write would
    }
    crashed();

    open();
    assertThat(Files.size(last)).isEqualTo(lastFrame);
    assertThat(log.logEndOffset()).isEqualTo(117);
    List<RecordBatch> all = readAll(log, 0);
    assertWellFormed(all);
    assertThat(all).extracting(TestBatches::tagOf).isEqualTo(tags.subList(0, 39));
    assertThat(log.append(List.of(batch("after", 1, 0)), 2).firstOffset()).isEqualTo(117);
  }

  /** Removes the clean-shutdown marker: the next open recovers as after a kill -9. */
  private void crashed() throws IOException {
    Files.delete(dir.resolve(".clean-shutdown"));
  }

  @Test
  void bitFlipInTheLastBatchAfterACrashIsATornTailAndTruncatesExactlyThatBatch() throws Exception {
    List<String> tags = writeAndClose(40);
    Path last = segmentFiles().get(segmentFiles().size() - 1);
    List<Integer> frames = framePositions(last);
    int lastFrame = frames.get(frames.size() - 1);
    flipByte(last, Files.size(last) - 3); // inside the last batch's records, beyond the recovery point
    crashed();

    open();
    assertThat(Files.size(last)).isEqualTo(lastFrame);
    assertThat(log.logEndOffset()).isEqualTo(117);
    assertThat(readAll(log, 0)).extracting(TestBatches::tagOf).isEqualTo(tags.subList(0, 39));
  }

  /** Flips a byte in the records of the third batch of the second segment; returns that batch's base offset. */
  private long damageSecondSegment() throws IOException {
    List<Path> segments = segmentFiles();
    assertThat(segments.size()).isGreaterThan(3);
    Path second = segments.get(1);
    List<Integer> frames = framePositions(second);
    flipByte(second, frames.get(2) + 80);
    return Long.parseLong(second.getFileName().toString().substring(0, 20)) + 2 * 3;
  }

  private Map<String, byte[]> files() throws IOException {
    Map<String, byte[]> out = new TreeMap<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(f -> f.toString().endsWith(".log")).collect(Collectors.toList())) {
        out.put(f.getFileName().toString(), Files.readAllBytes(f));
      }
    }
    return out;
  }

  @Test
  void damageInAClosedSegmentOfAnUnreplicatedLogIsRefusedAndNothingChanges() throws Exception {
    writeAndClose(40);
    crashed();
    Files.delete(dir.resolve(RecoveryPoint.FILE)); // no recovery point: every segment is scanned
    long bad = damageSecondSegment();
    Map<String, byte[]> before = files();

    assertThatThrownBy(this::open).isInstanceOfSatisfying(DamagedLogException.class, e -> {
      assertThat(e.offset()).isEqualTo(bad);
      assertThat(e.getMessage()).contains("corrupt batch at offset " + bad).contains("nothing was changed")
          .contains("bin/brook log repair --dir " + dir + " --truncate-at " + bad);
    });
    log = null;
    assertThat(files()).usingRecursiveComparison().isEqualTo(before);

    // The documented repair: everything from the bad batch is set aside (not deleted), the rest opens.
    LogRepair.Result repaired = LogRepair.truncateAt(dir, bad);
    assertThat(repaired.segmentsSetAside()).isEqualTo(before.size() - 1); // the cut one and every later one
    open();
    assertThat(log.logEndOffset()).isEqualTo(bad);
    assertThat(readAll(log, 0)).hasSize((int) (bad / 3));
    try (Stream<Path> files = Files.list(dir)) {
      List<String> names = files.map(f -> f.getFileName().toString()).collect(Collectors.toList());
      assertThat(names).anyMatch(n -> n.contains(".log.corrupt-")).anyMatch(n -> n.contains(".log.detached-"));
    }
  }

  @Test
  void damageInAClosedSegmentOfAReplicatedLogIsSetAsideAndTheLogCutBeforeIt() throws Exception {
    List<String> tags = writeAndClose(40);
    crashed();
    Files.delete(dir.resolve(RecoveryPoint.FILE));
    long bad = damageSecondSegment();
    long bytesBefore = files().values().stream().mapToLong(b -> b.length).sum();

    log = PartitionLog.open(dir, CONFIG, clock::get, true);
    assertThat(log.recoveryCutAt()).isEqualTo(bad);
    assertThat(log.logEndOffset()).isEqualTo(bad);
    assertThat(log.segmentCount()).isEqualTo(2);
    List<RecordBatch> all = readAll(log, 0);
    assertWellFormed(all);
    assertThat(all).extracting(TestBatches::tagOf).isEqualTo(tags.subList(0, (int) (bad / 3)));
    // Nothing was deleted: the damaged segment was copied aside whole, the later ones renamed aside.
    long live = 0;
    long detached = 0;
    long corruptCopy = 0;
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.collect(Collectors.toList())) {
        String name = f.getFileName().toString();
        if (name.endsWith(".log")) live += Files.size(f);
        if (name.contains(".log.detached-")) detached += Files.size(f);
        if (name.contains(".log.corrupt-")) corruptCopy += Files.size(f);
      }
    }
    long cutSegment = Files.size(segmentFiles().get(1));
    assertThat(corruptCopy).isGreaterThan(cutSegment);
    assertThat(live - cutSegment + corruptCopy + detached).isEqualTo(bytesBefore);
    assertThat(log.append(List.of(batch("refetched", 3, 0)), 2).firstOffset()).isEqualTo(bad);
  }

  @Test
  void closedSegmentsBelowTheRecoveryPointAreTrustedAtOpenAndCheckedOnRead() throws Exception {
    writeAndClose(40);
    crashed();
    assertThat(RecoveryPoint.read(dir)).as("written at every roll").isPositive();
    long bad = damageSecondSegment();

    open(); // the damaged segment is below the recovery point: not scanned
    assertThat(log.logEndOffset()).isEqualTo(120);
    assertThatThrownBy(() -> log.read(bad, 4096, Long.MAX_VALUE)).isInstanceOfSatisfying(CorruptLogException.class,
        e -> assertThat(e.offset()).isEqualTo(bad));
    // What lies before it is served, and stops short of it.
    List<RecordBatch> before = TestBatches.parse(log.read(bad - 6, 1 << 20, Long.MAX_VALUE));
    assertThat(before).hasSize(2);
  }

  @Test
  void aBadBatchInTheMiddleOfTheActiveSegmentAfterACrashIsDamageNotATornTail() throws Exception {
    List<String> tags = writeAndClose(40);
    Path last = segmentFiles().get(segmentFiles().size() - 1);
    List<Integer> frames = framePositions(last);
    assertThat(frames.size()).isGreaterThan(2);
    flipByte(last, frames.get(1) + 80); // the second batch; whole, valid batches follow it
    crashed();
    Map<String, byte[]> before = files();
    assertThatThrownBy(this::open).isInstanceOf(DamagedLogException.class);
    log = null;
    assertThat(files()).usingRecursiveComparison().isEqualTo(before);
    assertThat(tags).hasSize(40);
  }

  @Test
  void aTornTailIsKeptAsideWhenCut() throws Exception {
    writeAndClose(40);
    Path last = segmentFiles().get(segmentFiles().size() - 1);
    long size = Files.size(last);
    try (RandomAccessFile f = new RandomAccessFile(last.toFile(), "rw")) {
      f.setLength(size - 10);
    }
    crashed();
    open();
    try (Stream<Path> files = Files.list(dir)) {
      Path torn = files.filter(f -> f.getFileName().toString().contains(".log.torn-")).findFirst().orElseThrow();
      assertThat(Files.size(torn)).isEqualTo(size - 10 - Files.size(last));
    }
  }

  @Test
  void aDamagedLastBatchAfterACleanShutdownIsDamageNotATornWrite() throws Exception {
    writeAndClose(40);
    Path last = segmentFiles().get(segmentFiles().size() - 1);
    flipByte(last, Files.size(last) - 3);
    assertThatThrownBy(this::open).isInstanceOf(DamagedLogException.class);
    log = null;
  }

  @Test
  void aDamagedBaseOffsetOutsideTheCrcIsCaughtByContinuityNotServed() throws Exception {
    writeAndClose(40); // clean: closed segments are trusted at open, so only reads can find this
    Path second = segmentFiles().get(1);
    List<Integer> frames = framePositions(second);
    long secondBase = Long.parseLong(second.getFileName().toString().substring(0, 20));
    long bad = secondBase + 3; // the second batch of the segment
    ByteBuffer file = ByteBuffer.wrap(Files.readAllBytes(second));
    int baseOffsetAt = StoredBatch.messageStart(file, frames.get(1)) + StoredBatch.BASE_OFFSET_POS;
    flipByte(second, baseOffsetAt); // now claims another offset; its CRC still matches

    open();
    assertThatThrownBy(() -> log.read(bad, 1 << 20, Long.MAX_VALUE)).isInstanceOfSatisfying(CorruptLogException.class,
        e -> assertThat(e.offset()).isEqualTo(bad));
    assertThatThrownBy(() -> log.read(bad + 1, 1 << 20, Long.MAX_VALUE)).isInstanceOf(CorruptLogException.class);
    // A read from before it serves up to it and no further, with the right offsets.
    List<RecordBatch> before = TestBatches.parse(log.read(secondBase, 1 << 20, Long.MAX_VALUE));
    assertThat(before).extracting(RecordBatch::getBaseOffset).containsExactly(secondBase);
  }

  @Test
  void missingIndexFilesAreRebuilt() throws Exception {
    List<String> tags = writeAndClose(60);
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.filter(p -> p.toString().endsWith("index")).collect(Collectors.toList())) Files.delete(p);
    }

    open();
    assertThat(readAll(log, 0)).extracting(TestBatches::tagOf).isEqualTo(tags);
    for (long offset = 0; offset < 180; offset += 7) {
      RecordBatch got = TestBatches.parse(log.read(offset, 1, Long.MAX_VALUE)).get(0);
      assertThat(got.getBaseOffset()).isEqualTo(offset / 3 * 3);
    }
    assertThat(log.offsetForTimestamp(clock.get() + 50)).isEqualTo(new OffsetAndTimestamp(150, clock.get() + 50));
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.filter(p -> p.toString().endsWith(".index")).count()).isEqualTo(segmentFiles().size());
    }
  }

  @Test
  void garbageIndexFilesAreRebuilt() throws Exception {
    List<String> tags = writeAndClose(60);
    Path firstIndex = dir.resolve("00000000000000000000.index");
    assertThat(Files.size(firstIndex)).isPositive();
    Files.write(firstIndex, new byte[] {0, 0, 0, 9, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 1}); // out of order
    Files.write(dir.resolve("00000000000000000000.timeindex"), new byte[] {1, 2, 3}); // partial entry

    open();
    assertThat(readAll(log, 0)).extracting(TestBatches::tagOf).isEqualTo(tags);
    for (long offset = 0; offset < 30; offset++) {
      assertThat(TestBatches.parse(log.read(offset, 1, Long.MAX_VALUE)).get(0).getBaseOffset()).isEqualTo(offset / 3 * 3);
    }
    assertThat(log.offsetForTimestamp(clock.get() + 2)).isEqualTo(new OffsetAndTimestamp(6, clock.get() + 2));
  }

  @Test
  void aLogIsCutAtADamagedBaseOffsetToRepairIt() throws Exception {
    List<String> tags = writeAndClose(40);
    Path second = segmentFiles().get(1);
    List<Integer> frames = framePositions(second);
    long secondBase = Long.parseLong(second.getFileName().toString().substring(0, 20));
    long bad = secondBase + 3;
    ByteBuffer file = ByteBuffer.wrap(Files.readAllBytes(second));
    flipByte(second, StoredBatch.messageStart(file, frames.get(1)) + StoredBatch.BASE_OFFSET_POS);

    open();
    assertThatThrownBy(() -> log.read(bad, 1 << 20, Long.MAX_VALUE)).isInstanceOf(CorruptLogException.class);
    // The repair of a replica: cut at the corrupt batch (the walk to it cannot find it by offset).
    log.truncateTo(bad);
    assertThat(log.logEndOffset()).isEqualTo(bad);
    assertThat(Files.size(second)).isEqualTo((long) frames.get(1));
    assertThat(log.append(List.of(batch("refetched", 3, clock.get())), 2).firstOffset()).isEqualTo(bad);
    List<RecordBatch> all = readAll(log, 0);
    assertWellFormed(all);
    List<String> expected = new ArrayList<>(tags.subList(0, (int) (bad / 3)));
    expected.add("refetched");
    assertThat(all).extracting(TestBatches::tagOf).isEqualTo(expected);
    // A cut below the damage does not need to find it.
    log.truncateTo(secondBase);
    assertThat(log.logEndOffset()).isEqualTo(secondBase);
  }

  @Test
  void damagedIndexEntriesThatPassTheLoadChecksAreNotCorruptionAndAreRebuilt() throws Exception {
    List<String> tags = writeAndClose(60);
    Path firstIndex = dir.resolve("00000000000000000000.index");
    ByteBuffer entries = ByteBuffer.wrap(Files.readAllBytes(firstIndex));
    assertThat(entries.limit()).isGreaterThanOrEqualTo(3 * OffsetIndex.ENTRY_BYTES);
    // Still ordered and inside the segment, so the load accepts them, but wrong: entry 0 points
    // inside its batch, entry 1 names an offset its batch does not start at.
    entries.putInt(4, entries.getInt(4) + 1);
    entries.putInt(8, entries.getInt(8) + 1);
    Files.write(firstIndex, entries.array());

    open();
    long firstSegmentEnd = Long.parseLong(segmentFiles().get(1).getFileName().toString().replace(".log", ""));
    for (long offset = 0; offset < firstSegmentEnd; offset++) {
      assertThat(TestBatches.parse(log.read(offset, 1, Long.MAX_VALUE)).get(0).getBaseOffset()).isEqualTo(offset / 3 * 3);
    }
    assertThat(readAll(log, 0)).extracting(TestBatches::tagOf).isEqualTo(tags);
    assertThat(log.offsetForTimestamp(clock.get() + 2)).isEqualTo(new OffsetAndTimestamp(6, clock.get() + 2));
    assertThat(firstIndex).doesNotExist(); // dropped, so that the next start rebuilds it
    log.close();
    log = null;

    open();
    assertThat(firstIndex).exists();
    assertThat(Files.readAllBytes(firstIndex)).isNotEqualTo(entries.array());
    for (long offset = 0; offset < firstSegmentEnd; offset++) {
      assertThat(TestBatches.parse(log.read(offset, 1, Long.MAX_VALUE)).get(0).getBaseOffset()).isEqualTo(offset / 3 * 3);
    }
  }

  @Test
  void uncleanShutdownWithoutCorruptionKeepsEverything() throws Exception {
    open();
    for (int i = 0; i < 30; i++) log.append(List.of(batch("b" + i, 3, i)), 1);
    // No close(): the next open sees no clean-shutdown marker and scans every segment.
    PartitionLog crashed = log;
    log = PartitionLog.open(dir, CONFIG, clock::get);
    assertThat(log.logEndOffset()).isEqualTo(90);
    assertThat(readAll(log, 0)).extracting(TestBatches::tagOf).hasSize(30).first().isEqualTo("b0");
    assertThat(tagOf(readAll(log, 87).get(0))).isEqualTo("b29");
    log.close();
    log = null;
    crashed.delete(); // releases the first instance's file handles; the test is over
  }

  private static void flipByte(Path file, long position) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.seek(position);
      int b = f.read();
      f.seek(position);
      f.write(b ^ 0x5A);
    }
  }
}
