package dev.brook.cli;

import dev.brook.client.Admin;
import dev.brook.client.BrookException;
import dev.brook.client.NewTopic;
import dev.brook.client.PartitionInfo;
import dev.brook.client.TopicDescription;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.protocol.TopicConfig;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "topics", description = "Create, list, describe and delete topics.",
    subcommands = {
        TopicsCommand.Create.class,
        TopicsCommand.ListTopics.class,
        TopicsCommand.Describe.class,
        TopicsCommand.Delete.class,
        TopicsCommand.ElectLeaders.class
    })
final class TopicsCommand implements Runnable {
  @Spec
  CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(),
        "a subcommand is required: create, list, describe, delete or elect-leaders");
  }

  /** Opens an Admin client for one subcommand and closes it afterwards. */
  abstract static class AdminCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ClientOptions client;

    @Override
    public final Integer call() throws Exception {
      try (Admin admin = Admin.create(client.bootstrapServer)) {
        return run(admin, spec.commandLine().getOut());
      }
    }

    abstract int run(Admin admin, PrintWriter out) throws Exception;
  }

  @Command(name = "create", description = "Create a topic.")
  static final class Create extends AdminCommand {
    @Option(names = "--topic", required = true, description = "Topic name: letters, digits, '.', '_', '-'.")
    String topic;

    // Null when not given: only then does the cluster's default apply (an explicit 0 is an error).
    @Option(names = "--partitions", paramLabel = "N",
        description = "Number of partitions, at least 1 (default when omitted: the cluster's num.partitions).")
    Integer partitions;

    @Option(names = "--replication-factor", paramLabel = "N",
        description = "Replicas per partition, from 1 to the number of live brokers "
            + "(default when omitted: the cluster's default.replication.factor).")
    Integer replicationFactor;

    @Option(names = "--config", paramLabel = "KEY=VALUE", description = "A topic config override; repeatable.")
    Map<String, String> configs = new LinkedHashMap<>();

    @Option(names = "--if-not-exists", description = "Succeed when the topic exists already.")
    boolean ifNotExists;

    @Override
    int run(Admin admin, PrintWriter out) {
      if (partitions != null && partitions < 1) {
        throw new Failures.CliException("--partitions must be at least 1, got " + partitions
            + " (INVALID_PARTITIONS; omit it for the cluster default)");
      }
      if (replicationFactor != null && replicationFactor < 1) {
        throw new Failures.CliException("--replication-factor must be at least 1, got " + replicationFactor
            + " (INVALID_REPLICATION_FACTOR; omit it for the cluster default)");
      }
      String unclean = configs.get(TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE);
      if (unclean != null && unclean.trim().equals("true")) {
        PrintWriter err = spec.commandLine().getErr();
        err.println("warning: " + TopicConfig.UNCLEAN_LEADER_ELECTION_ENABLE + "=true: when no in-sync replica of a"
            + " partition is alive, an out-of-sync replica may lead it, and records already acknowledged can be lost.");
        err.flush();
      }
      try {
        admin.createTopics(List.of(new NewTopic(topic, partitions, replicationFactor, configs))).values().get(topic).join();
      } catch (CompletionException e) {
        if (ifNotExists && e.getCause() instanceof BrookException be && be.code() == ErrorCode.TOPIC_ALREADY_EXISTS) {
          return 0;
        }
        throw e;
      }
      out.println("Created topic " + topic + ".");
      return 0;
    }
  }

  @Command(name = "list", description = "List topic names.")
  static final class ListTopics extends AdminCommand {
    @Mixin
    OutputFormat output;

    @Override
    int run(Admin admin, PrintWriter out) {
      List<String> names = new ArrayList<>(admin.listTopics().join());
      names.sort(null);
      if (output.json()) {
        out.println(OutputFormat.toJson(names));
      } else {
        names.forEach(out::println);
      }
      return 0;
    }
  }

  @Command(name = "describe", description = {
      "Describe topics: partitions, leaders, replicas, ISR and configs.",
      "A partition is marked under-replicated when its ISR is smaller than its replica set, under-min-isr",
      "when the ISR is smaller than min.insync.replicas (acks=all fails), offline when it has no leader.",
      "With a filter option only the partitions it selects are printed (nothing when all are healthy)."})
  static final class Describe extends AdminCommand {
    @Option(names = "--topic", description = "The topic to describe; repeatable (default: all topics).")
    List<String> topics = new ArrayList<>();

    @Option(names = {"--under-replicated", "--under-replicated-partitions"},
        description = "Only partitions whose ISR is smaller than their replica set.")
    boolean underReplicated;

    @Option(names = {"--under-min-isr", "--under-min-isr-partitions"},
        description = "Only partitions whose ISR is smaller than the topic's min.insync.replicas.")
    boolean underMinIsr;

    @Option(names = {"--unavailable", "--unavailable-partitions"}, description = "Only partitions without a leader.")
    boolean unavailable;

    @Mixin
    OutputFormat output;

    @Override
    int run(Admin admin, PrintWriter out) {
      Map<String, TopicDescription> descriptions = admin.describeTopics(topics).join();
      boolean filtered = underReplicated || underMinIsr || unavailable;
      List<Object> json = new ArrayList<>();
      for (TopicDescription d : descriptions.values()) {
        PartitionHealth health = new PartitionHealth(d);
        List<PartitionInfo> selected = d.partitions().stream()
            .filter(p -> !filtered || underReplicated && health.underReplicated(p) || underMinIsr && health.underMinIsr(p)
                || unavailable && health.offline(p))
            .toList();
        if (filtered && selected.isEmpty()) continue;
        if (output.json()) {
          json.add(toJson(d, selected, health));
          continue;
        }
        if (!filtered) {
          int rf = d.partitions().isEmpty() ? 0 : d.partitions().get(0).replicas().size();
          String overrides = d.overrides().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
              .collect(Collectors.joining(","));
          out.println("Topic: " + d.name() + "\tTopicId: " + d.topicId() + "\tPartitionCount: " + d.partitions().size()
              + "\tReplicationFactor: " + rf + "\tConfigs: " + overrides);
        }
        for (PartitionInfo p : selected) {
          List<String> marks = health.marks(p);
          out.println("\tTopic: " + d.name() + "\tPartition: " + p.partition() + "\tLeader: "
              + (p.leaderId() < 0 ? "none" : p.leaderId()) + "\tLeaderEpoch: " + p.leaderEpoch()
              + "\tReplicas: " + join(p.replicas()) + "\tIsr: " + join(p.isr())
              + (p.eligibleLeaderReplicas().isEmpty() ? "" : "\tElr: " + join(p.eligibleLeaderReplicas()))
              + (marks.isEmpty() ? "" : "\t(" + String.join(", ", marks) + ")"));
        }
      }
      if (output.json()) out.println(OutputFormat.toJson(json));
      return 0;
    }

    private static String join(List<Integer> ids) {
      return ids.stream().map(String::valueOf).collect(Collectors.joining(","));
    }

    private static Map<String, Object> toJson(TopicDescription d, List<PartitionInfo> partitions, PartitionHealth health) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("name", d.name());
      m.put("topicId", d.topicId());
      m.put("partitionCount", d.partitions().size());
      m.put("replicationFactor", d.partitions().isEmpty() ? 0 : d.partitions().get(0).replicas().size());
      m.put("configs", d.configs());
      m.put("overrides", d.overrides());
      List<Map<String, Object>> parts = new ArrayList<>();
      for (PartitionInfo p : partitions) {
        Map<String, Object> pm = new LinkedHashMap<>();
        pm.put("partition", p.partition());
        pm.put("leader", p.leaderId());
        pm.put("leaderEpoch", p.leaderEpoch());
        pm.put("replicas", p.replicas());
        pm.put("isr", p.isr());
        pm.put("eligibleLeaderReplicas", p.eligibleLeaderReplicas());
        pm.put("underReplicated", health.underReplicated(p));
        pm.put("underMinIsr", health.underMinIsr(p));
        pm.put("offline", health.offline(p));
        parts.add(pm);
      }
      m.put("partitions", parts);
      return m;
    }
  }

  /** The replication health of a topic's partitions, from its description alone. */
  record PartitionHealth(int minInsyncReplicas) {
    PartitionHealth(TopicDescription d) {
      this(parseMinIsr(d.configs().get(TopicConfig.MIN_INSYNC_REPLICAS)));
    }

    private static int parseMinIsr(String value) {
      if (value == null) return Integer.parseInt(TopicConfig.keys().get(TopicConfig.MIN_INSYNC_REPLICAS).defaultValue());
      return Integer.parseInt(value.trim());
    }

    boolean underReplicated(PartitionInfo p) {
      return p.isr().size() < p.replicas().size();
    }

    /** Fewer in-sync replicas than acks=all needs: such produce requests fail with NOT_ENOUGH_REPLICAS. */
    boolean underMinIsr(PartitionInfo p) {
      return p.isr().size() < minInsyncReplicas;
    }

    boolean offline(PartitionInfo p) {
      return p.leaderId() < 0;
    }

    List<String> marks(PartitionInfo p) {
      List<String> marks = new ArrayList<>();
      if (offline(p)) marks.add("offline");
      if (underReplicated(p)) marks.add("under-replicated");
      if (underMinIsr(p)) marks.add("under-min-isr");
      return marks;
    }
  }

  @Command(name = "delete", description = "Delete a topic and its data.")
  static final class Delete extends AdminCommand {
    @Option(names = "--topic", required = true, description = "The topic to delete.")
    String topic;

    @Option(names = "--if-exists", description = "Succeed when the topic does not exist.")
    boolean ifExists;

    @Override
    int run(Admin admin, PrintWriter out) {
      try {
        admin.deleteTopics(List.of(topic)).values().get(topic).join();
      } catch (CompletionException e) {
        if (ifExists && e.getCause() instanceof BrookException be && be.code() == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
          return 0;
        }
        throw e;
      }
      out.println("Deleted topic " + topic + ".");
      return 0;
    }
  }

  @Command(name = "elect-leaders", description = {
      "Move leadership back to each partition's preferred replica (the first in its replica list)",
      "where that replica is alive and in sync. Default: every partition of the cluster."})
  static final class ElectLeaders extends AdminCommand {
    @Option(names = "--topic", description = "Only this topic.")
    String topic;

    @Option(names = "--partition", description = "Only this partition (needs --topic).")
    Integer partition;

    @Mixin
    OutputFormat output;

    @Override
    int run(Admin admin, PrintWriter out) {
      if (partition != null && topic == null) throw new Failures.CliException("--partition needs --topic");
      Map<String, List<Integer>> wanted = new LinkedHashMap<>();
      if (topic != null) wanted.put(topic, partition == null ? List.of() : List.of(partition));
      List<dev.brook.client.ElectionResult> results = admin.electLeaders(wanted).join();
      int failed = 0;
      List<Map<String, Object>> json = new ArrayList<>();
      for (dev.brook.client.ElectionResult r : results) {
        boolean ok = r.error() == ErrorCode.NONE || r.error() == ErrorCode.ELECTION_NOT_NEEDED;
        if (!ok) failed++;
        if (output.json()) {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("topic", r.partition().topic());
          m.put("partition", r.partition().partition());
          m.put("result", r.error().name());
          m.put("leader", r.leaderId());
          m.put("leaderEpoch", r.leaderEpoch());
          json.add(m);
        } else if (r.error() == ErrorCode.NONE) {
          out.println("Elected broker " + r.leaderId() + " for " + r.partition().topic() + "-" + r.partition().partition()
              + " (leader epoch " + r.leaderEpoch() + ").");
        } else if (!ok) {
          out.println("Could not elect the preferred leader for " + r.partition().topic() + "-"
              + r.partition().partition() + ": " + r.error() + (r.message().isEmpty() ? "" : " " + r.message()));
        }
      }
      if (output.json()) {
        out.println(OutputFormat.toJson(json));
      } else if (failed == 0) {
        out.println("Every partition is led by its preferred replica.");
      }
      out.flush();
      if (failed > 0) {
        throw new Failures.CliException(failed + " partition(s) could not be moved to their preferred leader");
      }
      return 0;
    }
  }
}
