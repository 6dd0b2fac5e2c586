package dev.brook.broker.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.proto.v1.Acks;
import dev.brook.proto.v1.AdminServiceGrpc;
import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.NewTopic;
import dev.brook.proto.v1.PartitionProduceResult;
import dev.brook.protocol.StoredBatch;
import dev.brook.quorum.PartitionImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** What the corruption tests do to a cluster: topics with small segments, acks=all batches, a disk's bit flip. */
final class CorruptionFixture {
  private final InProcessCluster cluster;

  CorruptionFixture(InProcessCluster cluster) {
    this.cluster = cluster;
  }

  /** A one-partition topic of 2 KiB segments, min.insync.replicas 2 (1 without replicas); waits for its full ISR. */
  void create(String topic, int replicationFactor) {
    var created = AdminServiceGrpc.newBlockingStub(cluster.channel(1)).withDeadlineAfter(30, TimeUnit.SECONDS)
        .createTopics(CreateTopicsRequest.newBuilder().addTopics(NewTopic.newBuilder().setName(topic).setPartitions(1)
            .setReplicationFactor(replicationFactor).putConfigs("segment.bytes", "2048")
            .putConfigs("min.insync.replicas", replicationFactor == 1 ? "1" : "2")).build());
    assertThat(created.getTopics(0).getError().getCode()).isEqualTo(ErrorCode.NONE);
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      PartitionImage p = cluster.partition(topic, 0);
      return p != null && p.leaderId() > 0 && p.isr().size() == replicationFactor;
    });
  }

  List<String> produce(String topic, int batches) throws Exception {
    List<String> sent = new ArrayList<>();
    for (int i = 0; i < batches; i++) {
      PartitionProduceResult r = RawClient.produce(cluster.channel(cluster.partition(topic, 0).leaderId()), Acks.ACKS_ALL,
          10_000, topic, 0, RawClient.batch("m" + i, 5));
      assertThat(r.getError().getCode()).as("produce %d", i).isEqualTo(ErrorCode.NONE);
      for (int j = 0; j < 5; j++) sent.add("m" + i + "/" + j);
    }
    return sent;
  }

  /**
   * Flips one bit inside the records of the third batch of the node's first (closed) segment, the
   * way a disk would; returns that batch's base offset.
   */
  long flipABit(int node, String topic) throws Exception {
    Path first;
    try (Stream<Path> files = Files.list(cluster.logDir(node, topic, 0))) {
      List<Path> logs = files.filter(f -> f.toString().endsWith(".log")).sorted().toList();
      assertThat(logs.size()).as("closed segments").isGreaterThan(1);
      first = logs.get(0);
    }
    ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(first)).order(ByteOrder.LITTLE_ENDIAN);
    int pos = 0;
    for (int i = 0; i < 2; i++) pos += StoredBatch.frameSizeAt(bytes, pos, bytes.limit());
    int size = StoredBatch.frameSizeAt(bytes, pos, bytes.limit());
    long base = StoredBatch.baseOffset(bytes, pos);
    int target = pos + size - 3; // inside the records bytes
    try (FileChannel ch = FileChannel.open(first, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      ch.read(one, target);
      one.put(0, (byte) (one.get(0) ^ 0x04)).rewind();
      ch.write(one, target);
    }
    return base;
  }

  byte[] logBytes(int node, String topic) throws Exception {
    try (Stream<Path> files = Files.list(cluster.logDir(node, topic, 0))) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (Path f : files.filter(f -> f.toString().endsWith(".log")).sorted().toList()) out.write(Files.readAllBytes(f));
      return out.toByteArray();
    }
  }

}
