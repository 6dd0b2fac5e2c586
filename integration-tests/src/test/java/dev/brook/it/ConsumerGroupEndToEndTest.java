package dev.brook.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.broker.server.BrookNode;
import dev.brook.broker.server.NodeConfig;
import dev.brook.client.Admin;
import dev.brook.client.Consumer;
import dev.brook.client.ConsumerConfig;
import dev.brook.client.ConsumerRebalanceListener;
import dev.brook.client.ConsumerRecord;
import dev.brook.client.GroupDescription;
import dev.brook.client.NewTopic;
import dev.brook.client.OffsetAndMetadata;
import dev.brook.client.Producer;
import dev.brook.client.ProducerConfig;
import dev.brook.client.ProducerRecord;
import dev.brook.client.TopicPartition;
import dev.brook.client.WakeupException;
import dev.brook.client.serialization.Serdes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Consumer groups through the Java SDK on one in-process node: members share a topic's
 * partitions, a member that leaves hands its partitions over with nothing lost, another group
 * reads everything on its own, and committed offsets are where the members stopped.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ConsumerGroupEndToEndTest {
  private static final String TOPIC = "orders";
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir
  Path dataDir;

  private BrookNode node;
  private final ExecutorService threads = Executors.newCachedThreadPool();

  @BeforeEach
  void start() throws Exception {
    node = BrookNode.start(NodeConfig.dev(dataDir, 0, Map.of("group.consumer.heartbeat.interval.ms", "500")));
    try (Admin admin = Admin.create(node.brokerAddress())) {
      admin.createTopics(List.of(new NewTopic(TOPIC, 6, 1, Map.of()))).values().get(TOPIC).get(30, TimeUnit.SECONDS);
    }
  }

  @AfterEach
  void stop() throws Exception {
    threads.shutdownNow();
    threads.awaitTermination(30, TimeUnit.SECONDS);
    if (node != null) node.close();
  }

  private void produce(int from, int to) throws Exception {
    ProducerConfig pc = ProducerConfig.builder().bootstrapServers(node.brokerAddress()).acks("all").build();
    try (Producer<String, String> p = new Producer<>(pc, Serdes.stringSerializer(), Serdes.stringSerializer())) {
      for (int i = from; i < to; i++) p.send(new ProducerRecord<>(TOPIC, "k" + i, "v" + i));
      p.flush();
    }
  }

  private ConsumerConfig.Builder config(String group) {
    return ConsumerConfig.builder().bootstrapServers(node.brokerAddress()).groupId(group).autoOffsetReset("earliest")
        .autoCommitIntervalMs(200).clientId("it-" + group);
  }

  /** One member polling on its own thread, collecting values, until stopped. */
  private final class Member implements AutoCloseable {
    final Consumer<String, String> consumer;
    final Set<String> seen;
    final Set<TopicPartition> owned = ConcurrentHashMap.newKeySet();
    final AtomicBoolean stop = new AtomicBoolean();
    final Future<?> loop;

    Member(ConsumerConfig config, Set<String> seen) {
      this(config, seen, new java.util.concurrent.CopyOnWriteArrayList<>());
    }

    /** @param revoked every non-empty revocation, in order */
    Member(ConsumerConfig config, Set<String> seen, List<Collection<TopicPartition>> revoked) {
      this.consumer = new Consumer<>(config, Serdes.stringDeserializer(), Serdes.stringDeserializer());
      this.seen = seen;
      consumer.subscribe(List.of(TOPIC), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
          if (!partitions.isEmpty()) revoked.add(List.copyOf(partitions));
          owned.removeAll(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
          owned.addAll(partitions);
        }
      });
      loop = threads.submit(() -> {
        try {
          while (!stop.get()) {
            for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) seen.add(r.value());
          }
        } catch (WakeupException e) {
          // stopping
        } finally {
          consumer.close(); // commits (auto-commit) and leaves the group
        }
        return null;
      });
    }

    @Override
    public void close() throws Exception {
      if (loop.isDone()) return;
      stop.set(true);
      consumer.wakeup();
      loop.get(30, TimeUnit.SECONDS);
    }
  }

  private static Set<String> values(int from, int to) {
    Set<String> out = ConcurrentHashMap.newKeySet();
    IntStream.range(from, to).forEach(i -> out.add("v" + i));
    return out;
  }

  @Test
  void membersShareTheTopicAndHandOverWithNothingLost() throws Exception {
    produce(0, 3000);
    Set<String> seen = ConcurrentHashMap.newKeySet();
    List<Member> members = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) members.add(new Member(config("g").build(), seen));
      await().atMost(WAIT).untilAsserted(() -> {
        assertThat(members).allSatisfy(m -> assertThat(m.owned).hasSize(2));
        assertThat(seen).containsAll(values(0, 3000));
      });
      // One leaves: the other two take over its partitions and read everything produced after.
      members.remove(0).close();
      produce(3000, 6000);
      await().atMost(WAIT).untilAsserted(() -> {
        assertThat(members).allSatisfy(m -> assertThat(m.owned).hasSize(3));
        assertThat(seen).containsAll(values(3000, 6000));
      });
    } finally {
      for (Member m : members) m.close();
    }

    // Another group reads every record on its own.
    Set<String> other = ConcurrentHashMap.newKeySet();
    try (Member m = new Member(config("g2").build(), other)) {
      await().atMost(WAIT).untilAsserted(() -> assertThat(other).containsAll(values(0, 6000)));
    }

    // Group g committed where its members stopped: the end of every partition.
    try (Consumer<String, String> c = new Consumer<>(config("g").build(), Serdes.stringDeserializer(),
        Serdes.stringDeserializer())) {
      Set<TopicPartition> all = Set.copyOf(IntStream.range(0, 6).mapToObj(p -> new TopicPartition(TOPIC, p)).toList());
      Map<TopicPartition, OffsetAndMetadata> committed = c.committed(all);
      Map<TopicPartition, Long> ends = c.endOffsets(all);
      assertThat(committed).hasSize(6);
      all.forEach(tp -> assertThat(committed.get(tp).offset()).as("committed %s", tp).isEqualTo(ends.get(tp)));
      // A new member of g resumes there: nothing to read.
      c.subscribe(List.of(TOPIC));
      long deadline = System.currentTimeMillis() + 3000;
      int read = 0;
      while (System.currentTimeMillis() < deadline) read += c.poll(Duration.ofMillis(200)).count();
      assertThat(read).isZero();
    }
  }

  @Test
  void manualCommitsAndMisuseGetClearErrors() throws Exception {
    produce(0, 100);
    try (Consumer<String, String> c = new Consumer<>(config("manual").enableAutoCommit(false).build(),
        Serdes.stringDeserializer(), Serdes.stringDeserializer())) {
      assertThatThrownBy(c::commitSync).isInstanceOf(IllegalStateException.class).hasMessageContaining("subscribe");
      c.subscribe(List.of(TOPIC));
      assertThatThrownBy(() -> c.assign(List.of(new TopicPartition(TOPIC, 0)))).isInstanceOf(IllegalStateException.class);
      int read = 0;
      long deadline = System.currentTimeMillis() + 30_000;
      while (read < 100 && System.currentTimeMillis() < deadline) read += c.poll(Duration.ofMillis(200)).count();
      assertThat(read).isEqualTo(100);
      c.commitSync();
      TopicPartition tp0 = new TopicPartition(TOPIC, 0);
      c.commitSync(Map.of(tp0, new OffsetAndMetadata(1, -1, "checkpoint")));
      assertThat(c.committed(Set.of(tp0)).get(tp0)).isEqualTo(new OffsetAndMetadata(1, -1, "checkpoint"));
    }
    ConsumerConfig noGroup = ConsumerConfig.builder().bootstrapServers(node.brokerAddress()).build();
    try (Consumer<String, String> c = new Consumer<>(noGroup, Serdes.stringDeserializer(), Serdes.stringDeserializer())) {
      assertThatThrownBy(() -> c.subscribe(List.of(TOPIC))).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("groupId");
    }
    assertThatThrownBy(() -> config("x".repeat(256)).build()).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("groupId");
  }

  @Test
  void aPatternSubscriptionPicksUpTopicsCreatedLater() throws Exception {
    produce(0, 50);
    Set<String> seen = ConcurrentHashMap.newKeySet();
    try (Consumer<String, String> c = new Consumer<>(config("pattern").build(), Serdes.stringDeserializer(),
        Serdes.stringDeserializer())) {
      c.subscribe(java.util.regex.Pattern.compile("ord.*"), null);
      assertThat(c.subscription()).containsExactly(TOPIC);
      long deadline = System.currentTimeMillis() + 30_000;
      while (seen.size() < 50 && System.currentTimeMillis() < deadline) {
        c.poll(Duration.ofMillis(200)).forEach(r -> seen.add(r.value()));
      }
      assertThat(seen).hasSize(50);
      try (Admin admin = Admin.create(node.brokerAddress())) {
        admin.createTopics(List.of(new NewTopic("ordx", 1, 1, Map.of()))).values().get("ordx").get(30, TimeUnit.SECONDS);
      }
      ProducerConfig pc = ProducerConfig.builder().bootstrapServers(node.brokerAddress()).acks("all").build();
      try (Producer<String, String> p = new Producer<>(pc, Serdes.stringSerializer(), Serdes.stringSerializer())) {
        p.send(new ProducerRecord<>("ordx", "k", "late")).get(30, TimeUnit.SECONDS);
      }
      deadline = System.currentTimeMillis() + 30_000;
      while (!seen.contains("late") && System.currentTimeMillis() < deadline) {
        c.poll(Duration.ofMillis(200)).forEach(r -> seen.add(r.value()));
      }
      assertThat(seen).contains("late");
      assertThat(c.subscription()).containsExactlyInAnyOrder(TOPIC, "ordx");
    }
  }

  @Test
  void aSubscriptionToATopicThatDoesNotExistYetWaitsForItAndGetsItWhenCreated() throws Exception {
    Set<String> seen = ConcurrentHashMap.newKeySet();
    List<Collection<TopicPartition>> assigned = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (Consumer<String, String> c = new Consumer<>(config("waits").build(), Serdes.stringDeserializer(),
        Serdes.stringDeserializer())) {
      c.subscribe(List.of("later"), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {}

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
          if (!partitions.isEmpty()) assigned.add(List.copyOf(partitions));
        }
      });
      // The member is in the group with nothing assigned; polls return nothing and no error.
      try (Admin admin = Admin.create(node.brokerAddress())) {
        await().atMost(WAIT).untilAsserted(() -> {
          assertThat(c.poll(Duration.ofMillis(100)).count()).isZero();
          GroupDescription d = admin.describeGroup("waits").get(30, TimeUnit.SECONDS);
          assertThat(d.members()).singleElement().satisfies(m -> {
            assertThat(m.subscribedTopics()).containsExactly("later");
            assertThat(m.assigned()).isEmpty();
          });
        });
        assertThat(c.assignment()).isEmpty();
        admin.createTopics(List.of(new NewTopic("later", 2, 1, Map.of()))).values().get("later").get(30, TimeUnit.SECONDS);
      }
      ProducerConfig pc = ProducerConfig.builder().bootstrapServers(node.brokerAddress()).acks("all").build();
      try (Producer<String, String> p = new Producer<>(pc, Serdes.stringSerializer(), Serdes.stringSerializer())) {
        for (int i = 0; i < 20; i++) p.send(new ProducerRecord<>("later", "k" + i, "late-" + i));
        p.flush();
      }
      await().atMost(WAIT).until(() -> {
        c.poll(Duration.ofMillis(200)).forEach(r -> seen.add(r.value()));
        return seen.size() == 20;
      });
      assertThat(c.assignment()).containsExactlyInAnyOrder(new TopicPartition("later", 0), new TopicPartition("later", 1));
      assertThat(assigned).isNotEmpty();
    }
  }

  @Test
  void aStaticMemberThatReturnsWithinItsSessionGetsItsPartitionsBackWithNoReassignment() throws Exception {
    produce(0, 60);
    Set<String> seen = ConcurrentHashMap.newKeySet();
    List<Collection<TopicPartition>> bEvents = new java.util.concurrent.CopyOnWriteArrayList<>();
    ConsumerConfig.Builder a = config("static").groupInstanceId("instance-a");
    ConsumerConfig.Builder b = config("static").groupInstanceId("instance-b");
    Set<TopicPartition> aOwned;
    try (Member first = new Member(a.build(), seen); Member other = new Member(b.build(), seen, bEvents)) {
      await().atMost(WAIT).until(() -> first.owned.size() == 3 && other.owned.size() == 3);
      aOwned = Set.copyOf(first.owned);
      Set<TopicPartition> bOwned = Set.copyOf(other.owned);
      await().atMost(WAIT).until(() -> seen.size() == 60);
      bEvents.clear(); // what b gave up while a joined

      // a stops (a static member's leave keeps its place for the session timeout) and returns.
      first.close();
      seen.clear();
      produce(60, 120);
      Set<String> late = ConcurrentHashMap.newKeySet();
      try (Member back = new Member(a.build(), late)) {
        await().atMost(WAIT).until(() -> back.owned.equals(aOwned));
        await().atMost(WAIT).until(() -> {
          Set<String> all = new java.util.HashSet<>(late);
          all.addAll(seen);
          return all.containsAll(values(60, 120));
        });
      }
      assertThat(bEvents).as("b never gave anything up").isEmpty();
      assertThat(other.owned).isEqualTo(bOwned);
    }
  }
}
