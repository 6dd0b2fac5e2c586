package dev.brook.cli;

import dev.brook.client.Admin;
import dev.brook.client.Consumer;
import dev.brook.client.ConsumerConfig;
import dev.brook.client.TopicPartition;
import dev.brook.client.serialization.Serdes;
import dev.brook.proto.v1.ConsumerGroupHeartbeatRequest;
import dev.brook.proto.v1.ConsumerGroupHeartbeatResponse;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.FindCoordinatorRequest;
import dev.brook.proto.v1.FindCoordinatorResponse;
import dev.brook.proto.v1.GroupServiceGrpc;
import dev.brook.proto.v1.GroupTopicPartitions;
import dev.brook.proto.v1.OffsetCommitPartition;
import dev.brook.proto.v1.OffsetCommitRequest;
import dev.brook.proto.v1.OffsetCommitResponse;
import dev.brook.proto.v1.OffsetCommitTopic;
import dev.brook.proto.v1.OffsetFetchRequest;
import dev.brook.proto.v1.OffsetFetchResponse;
import dev.brook.proto.v1.OwnedPartitions;
import dev.brook.proto.v1.Subscription;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code bin/brook perf groups}: many consumer groups at once, driven over raw gRPC (group.proto)
 * so that one process can be thousands of members: {@code --groups} groups of {@code --members}
 * members subscribe to {@code --topic}, heartbeat at the interval the coordinators ask for and
 * take what they are assigned at once; then every member commits the partitions it owns (at
 * their log end), and leaves. With {@code --read-only} it only reads every group's committed
 * offsets back (after a restart of the cluster, say). Reports how long the groups took to settle
 * (every partition of every group owned by one member), the heartbeat rate, the commit rate, and
 * the read time.
 */
@Command(name = "groups", description = {
    "Run --groups consumer groups of --members members each on --topic over raw gRPC: join and settle,",
    "commit every partition of every group, leave; or, with --read-only, read every group's offsets."})
final class GroupScalePerf implements Callable<Integer> {
  private static final long SETTLE_TIMEOUT_MS = 300_000;

  @Spec
  CommandSpec spec;

  @Mixin
  ClientOptions client;

  @Option(names = "--topic", required = true, description = "An existing topic; each group commits all its partitions.")
  String topic;

  @Option(names = "--groups", defaultValue = "1000", description = "Groups (default: 1000), named perf-scale-0...")
  int groups;

  @Option(names = "--members", defaultValue = "10", description = "Members per group (default: 10).")
  int members;

  @Option(names = "--read-only", description = "Only read the committed offsets of groups perf-scale-0.. back.")
  boolean readOnly;

  /** Offset fetches in flight at once with --read-only. */
  private static final int READ_WINDOW = 64;

  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final AtomicLong heartbeats = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private final Map<String, Long> errorsByKind = new ConcurrentHashMap<>();
  private final AtomicLong firstError = new AtomicLong();
  private volatile String firstErrorText;

  @Override
  public Integer call() throws Exception {
    if (groups < 1 || members < 1) throw new Failures.CliException("--groups and --members must be >= 1");
    PrintWriter out = spec.commandLine().getOut();
    ScheduledExecutorService timers = Executors.newScheduledThreadPool(2);
    try {
      Map<String, String> coordinators = coordinators();
      if (readOnly) {
        out.println(read(coordinators));
        return 0;
      }
      long[] ends = endOffsets();
      List<Member> all = new ArrayList<>();
      long start = System.nanoTime();
      for (int g = 0; g < groups; g++) {
        String group = name(g);
        for (int m = 0; m < members; m++) {
          Member member = new Member(group, channel(coordinators.get(group)), timers);
          all.add(member);
          member.join();
        }
      }
      Map<String, List<Member>> byGroup = new HashMap<>();
      for (Member m : all) byGroup.computeIfAbsent(m.group, k -> new ArrayList<>()).add(m);
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETTLE_TIMEOUT_MS);
      while (!settled(byGroup.values(), ends.length)) {
        if (System.nanoTime() > deadline) {
          throw new Failures.CliException("the groups did not settle within " + SETTLE_TIMEOUT_MS + " ms (" + errors.get()
              + " errors" + errorKinds() + ", the first: " + firstErrorText + ")");
        }
        Thread.sleep(20); // polling interval of a measurement
      }
      long settledNanos = System.nanoTime() - start;
      long beatsBefore = heartbeats.get();
      long beatsFrom = System.nanoTime();
      Thread.sleep(5_000); // a steady-state window to count heartbeats in
      double beatRate = (heartbeats.get() - beatsBefore) * 1e9 / (System.nanoTime() - beatsFrom);
      out.printf("groups: %d groups x %d members (%d members) on %d partitions joined and settled in %d ms;"
              + " %.0f heartbeats/sec in steady state; %d errors%s%n", groups, members, all.size(), ends.length,
          TimeUnit.NANOSECONDS.toMillis(settledNanos), beatRate, errors.get(), errorKinds());
      out.flush();
      out.println(commitAll(all, ends));
      out.flush();
      for (Member m : all) m.leave();
      return 0;
    } finally {
      timers.shutdownNow();
      channels.values().forEach(ManagedChannel::shutdownNow);
    }
  }

  private static String name(int g) {
    return "perf-scale-" + g;
  }

  private ManagedChannel channel(String address) {
    return channels.computeIfAbsent(address, a -> NettyChannelBuilder.forTarget(a).usePlaintext().build());
  }

  /** Every group's coordinator address, from any broker. */
  private Map<String, String> coordinators() {
    String bootstrap = client.bootstrapServer.split(",")[0].trim();
    GroupServiceGrpc.GroupServiceBlockingStub stub = GroupServiceGrpc.newBlockingStub(channel(bootstrap));
    Map<String, String> out = new HashMap<>();
    for (int g = 0; g < groups; g++) {
      FindCoordinatorResponse r = stub.withDeadlineAfter(10, TimeUnit.SECONDS)
          .findCoordinator(FindCoordinatorRequest.newBuilder().setGroupId(name(g)).build());
      if (r.getError().getCode() != ErrorCode.NONE) {
        throw new Failures.CliException("no coordinator for " + name(g) + ": " + r.getError().getMessage());
      }
      out.put(name(g), r.getAddress());
    }
    return out;
  }

  private long[] endOffsets() {
    try (Admin admin = Admin.create(client.bootstrapServer);
        Consumer<byte[], byte[]> reader = new Consumer<>(ConsumerConfig.builder().bootstrapServers(client.bootstrapServer)
            .clientId("brook-perf").build(), Serdes.bytesDeserializer(), Serdes.bytesDeserializer())) {
      int n = admin.describeTopics(List.of(topic)).join().get(topic).partitions().size();
      List<TopicPartition> tps = new ArrayList<>();
      for (int p = 0; p < n; p++) tps.add(new TopicPartition(topic, p));
      long[] ends = new long[n];
      reader.endOffsets(tps).forEach((tp, e) -> ends[tp.partition()] = e);
      return ends;
    }
  }

  private static boolean settled(Iterable<List<Member>> groups, int partitions) {
    for (List<Member> g : groups) {
      Set<Integer> union = new HashSet<>();
      int total = 0;
      for (Member m : g) {
        Set<Integer> o = m.owned();
        if (o == null) return false;
        union.addAll(o);
        total += o.size();
      }
      if (union.size() != partitions || total != partitions) return false;
    }
    return true;
  }

  /** Errors counted by kind: what they are and the error code, without the details. */
  private String errorKinds() {
    return errorsByKind.isEmpty() ? "" : " " + new TreeMap<>(errorsByKind);
  }

  private void error(String what) {
    errors.incrementAndGet();
    String[] words = what.split(" ", 3);
    errorsByKind.merge(words.length > 1 ? words[0] + " " + words[1] : what, 1L, Long::sum);
    if (firstError.compareAndSet(0, 1)) firstErrorText = what;
  }

  /** Every member commits the partitions it owns at their log end; returns the report line. */
  private String commitAll(List<Member> all, long[] ends) throws InterruptedException {
    Semaphore window = new Semaphore(256);
    AtomicLong offsets = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    List<CompletableFuture<Void>> done = new ArrayList<>();
    long start = System.nanoTime();
    for (Member m : all) {
      Set<Integer> owned = m.owned();
      if (owned == null || owned.isEmpty()) continue;
      OffsetCommitTopic.Builder t = OffsetCommitTopic.newBuilder().setTopic(topic);
      for (int p : owned) t.addPartitions(OffsetCommitPartition.newBuilder().setPartition(p).setOffset(ends[p]).setLeaderEpoch(-1));
      OffsetCommitRequest request = OffsetCommitRequest.newBuilder().setGroupId(m.group).setMemberId(m.memberId)
          .setMemberEpoch(m.epoch()).addTopics(t).build();
      window.acquire();
      CompletableFuture<Void> f = new CompletableFuture<>();
      done.add(f);
      GroupServiceGrpc.newStub(m.channel).withDeadlineAfter(30, TimeUnit.SECONDS).offsetCommit(request,
          windowed(window, f, (OffsetCommitResponse r) -> {
            if (r.getError().getCode() == ErrorCode.NONE) {
              offsets.addAndGet(owned.size());
            } else {
              failed.incrementAndGet();
              error("commit: " + r.getError().getCode() + " " + r.getError().getMessage());
            }
          }, e -> {
            failed.incrementAndGet();
            error("commit: " + e);
          }));
    }
    CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).join();
    long tookMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    return String.format("commits: %d commits (%d offsets) in %d ms, %.0f offsets/sec; %d failed", done.size(), offsets.get(),
        tookMs, offsets.get() * 1000.0 / tookMs, failed.get());
  }

  /**
   * Reads every group's committed offsets from its coordinator's broker, {@link #READ_WINDOW}
   * groups at a time; returns the report line.
   */
  private String read(Map<String, String> coordinators) throws InterruptedException {
    long start = System.nanoTime();
    Semaphore window = new Semaphore(READ_WINDOW);
    AtomicLong offsets = new AtomicLong();
    AtomicLong withOffsets = new AtomicLong();
    Map<String, String> failures = new ConcurrentHashMap<>();
    List<CompletableFuture<Void>> done = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      String group = name(g);
      window.acquire();
      CompletableFuture<Void> f = new CompletableFuture<>();
      done.add(f);
      GroupServiceGrpc.newStub(channel(coordinators.get(group))).withDeadlineAfter(30, TimeUnit.SECONDS)
          .offsetFetch(OffsetFetchRequest.newBuilder().setGroupId(group).build(), windowed(window, f, (OffsetFetchResponse r) -> {
            if (r.getError().getCode() != ErrorCode.NONE) {
              failures.put(group, r.getError().getCode() + " " + r.getError().getMessage());
              return;
            }
            offsets.addAndGet(r.getOffsetsCount());
            if (r.getOffsetsCount() > 0) withOffsets.incrementAndGet();
          }, e -> failures.put(group, e.toString())));
    }
    CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).join();
    if (!failures.isEmpty()) {
      Map.Entry<String, String> first = failures.entrySet().iterator().next();
      throw new Failures.CliException(failures.size() + " groups' offsets could not be read; " + first.getKey() + ": "
          + first.getValue());
    }
    return String.format("read: %d committed offsets of %d groups (%d with offsets) in %d ms", offsets.get(), groups,
        withOffsets.get(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
  }

  /**
   * The observer of one unary call made within {@code window}: the answer goes to
   * {@code onAnswer}, a failure to {@code onFailure}; either way the slot is given back and
   * {@code done} completes.
   */
  private static <T> StreamObserver<T> windowed(Semaphore window, CompletableFuture<Void> done,
      java.util.function.Consumer<T> onAnswer, java.util.function.Consumer<Throwable> onFailure) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T answer) {
        onAnswer.accept(answer);
      }

      @Override
      public void onError(Throwable e) {
        onFailure.accept(e);
        window.release();
        done.complete(null);
      }

      @Override
      public void onCompleted() {
        window.release();
        done.complete(null);
      }
    };
  }

  /** One simulated member: a heartbeat stream that takes every assignment at once. */
  private final class Member {
    final String group;
    final String memberId = UUID.randomUUID().toString();
    final ManagedChannel channel;
    final ScheduledExecutorService timers;
    private StreamObserver<ConsumerGroupHeartbeatRequest> requests;
    private int epoch;
    private Set<Integer> owned;
    private int intervalMs = 5_000;
    private boolean left;
    /** A heartbeat is sent and not answered yet. */
    private boolean inFlight;
    /** A heartbeat was asked for while one was in flight: send it once the answer is in. */
    private boolean wanted;
    /** The one scheduled heartbeat, or null: every heartbeat sent cancels it, every answer sets it anew. */
    private java.util.concurrent.ScheduledFuture<?> next;

    Member(String group, ManagedChannel channel, ScheduledExecutorService timers) {
      this.group = group;
      this.channel = channel;
      this.timers = timers;
    }

    synchronized int epoch() {
      return epoch;
    }

    /** What it owns now, or null before its first assignment. */
    synchronized Set<Integer> owned() {
      return owned == null ? null : Set.copyOf(owned);
    }

    synchronized void join() {
      requests = GroupServiceGrpc.newStub(channel).consumerGroupHeartbeat(new StreamObserver<>() {
        @Override
        public void onNext(ConsumerGroupHeartbeatResponse r) {
          answered(r);
        }

        @Override
        public void onError(Throwable t) {
          synchronized (Member.this) {
            if (!left) error("heartbeat stream of " + group + "/" + memberId + ": " + t);
          }
        }

        @Override
        public void onCompleted() {}
      });
      send(joining(ConsumerGroupHeartbeatRequest.newBuilder().setMemberEpoch(0)
          .setOwnedPartitions(OwnedPartitions.getDefaultInstance())));
    }

    private synchronized void answered(ConsumerGroupHeartbeatResponse r) {
      if (left) return;
      if (r.getPushed()) {
        heartbeat();
        return;
      }
      inFlight = false;
      boolean again = wanted; // asked for while this one was in flight
      wanted = false;
      ErrorCode code = r.getError().getCode();
      if (code != ErrorCode.NONE) {
        error("heartbeat: " + code + " " + r.getError().getMessage());
        if (code == ErrorCode.FENCED_MEMBER_EPOCH || code == ErrorCode.UNKNOWN_MEMBER_ID) {
          epoch = 0; // release everything and join again
          owned = Set.of();
        }
        next = timers.schedule(this::heartbeat, intervalMs, TimeUnit.MILLISECONDS);
        return;
      }
      epoch = r.getMemberEpoch();
      if (r.getHeartbeatIntervalMs() > 0) intervalMs = r.getHeartbeatIntervalMs();
      if (r.hasAssignment()) {
        Set<Integer> assigned = new HashSet<>();
        for (GroupTopicPartitions t : r.getAssignment().getTopicsList()) assigned.addAll(t.getPartitionsList());
        owned = assigned;
        again = true; // report what it holds now: released what went away, took what came
      }
      if (again) {
        heartbeat();
      } else {
        next = timers.schedule(this::heartbeat, intervalMs, TimeUnit.MILLISECONDS);
      }
    }

    private synchronized void heartbeat() {
      if (left) return;
      if (inFlight) {
        // One heartbeat in flight, as group.proto asks: a later one could report a release of a
        // partition that the answer to the earlier one is about to hand out.
        wanted = true;
        return;
      }
      if (next != null) next.cancel(false);
      next = null;
      OwnedPartitions.Builder o = OwnedPartitions.newBuilder();
      if (owned != null && !owned.isEmpty()) o.addTopics(GroupTopicPartitions.newBuilder().setTopic(topic).addAllPartitions(owned));
      ConsumerGroupHeartbeatRequest.Builder r = ConsumerGroupHeartbeatRequest.newBuilder().setMemberEpoch(epoch)
          .setOwnedPartitions(o);
      send(epoch == 0 ? joining(r) : r);
    }

    private ConsumerGroupHeartbeatRequest.Builder joining(ConsumerGroupHeartbeatRequest.Builder r) {
      return r.setClientId("perf-scale").setSubscription(Subscription.newBuilder().addTopics(topic)).setRebalanceTimeoutMs(60_000);
    }

    private void send(ConsumerGroupHeartbeatRequest.Builder r) {
      inFlight = true;
      heartbeats.incrementAndGet();
      requests.onNext(r.setGroupId(group).setMemberId(memberId).build());
    }

    synchronized void leave() {
      if (left) return;
      if (next != null) next.cancel(false);
      send(ConsumerGroupHeartbeatRequest.newBuilder().setMemberEpoch(-1));
      left = true;
      requests.onCompleted();
    }
  }
}
