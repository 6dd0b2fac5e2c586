package dev.brook.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import dev.brook.broker.log.LogConfig;
import dev.brook.broker.log.PartitionLog;
import dev.brook.proto.v1.Record;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordList;
import dev.brook.protocol.StoredBatch;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code bin/brook log repair} on a real partition directory. */
@Timeout(30)
class LogCommandTest {
  @TempDir
  Path dir;

  private static RecordBatch batch(int n) {
    RecordList.Builder list = RecordList.newBuilder();
    for (int i = 0; i < n; i++) list.addRecords(Record.newBuilder().setOffsetDelta(i).setValue(ByteString.copyFromUtf8("v" + i)));
    RecordBatch.Builder b = RecordBatch.newBuilder().setRecordCount(n).setBaseTimestamp(1).setMaxTimestamp(1)
        .setProducerId(-1).setProducerEpoch(-1).setBaseSequence(-1).setRecords(list.build().toByteString());
    return b.setCrc(StoredBatch.computeCrc(b.build())).build();
  }

  private static String[] run(String... args) {
    CommandLine cl = BrookCli.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new String[] {Integer.toString(code), out.toString(), err.toString()};
  }

  @Test
  void repairCutsAtABatchBoundaryAndSetsTheRestAside() throws Exception {
    LogConfig config = LogConfig.from(Map.of("segment.bytes", "1024"));
    PartitionLog log = PartitionLog.open(dir, config, () -> 1000L);
    for (int i = 0; i < 40; i++) log.append(List.of(batch(3)), 0);
    log.close();

    String[] inside = run("log", "repair", "--dir", dir.toString(), "--truncate-at", "31");
    assertThat(inside[0]).isEqualTo("1");
    assertThat(inside[2].strip()).startsWith("error: ").contains("inside a batch").doesNotContain("\n");

    String[] ok = run("log", "repair", "--dir", dir.toString(), "--truncate-at", "30");
    assertThat(ok[0]).isEqualTo("0");
    assertThat(ok[1]).contains("now ends at offset 30");
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.map(f -> f.getFileName().toString()).toList()).anyMatch(n -> n.contains(".log.detached-"));
    }
    PartitionLog repaired = PartitionLog.open(dir, config, () -> 1000L);
    try {
      assertThat(repaired.logEndOffset()).isEqualTo(30);
    } finally {
      repaired.close();
    }

    String[] missing = run("log", "repair", "--dir", dir.resolve("nope").toString(), "--truncate-at", "0");
    assertThat(missing[0]).isEqualTo("1");
    assertThat(missing[2]).startsWith("error: ");
  }
}
