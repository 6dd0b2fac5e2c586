package dev.brook.cli;

import dev.brook.client.Admin;
import dev.brook.client.BrookException;
import dev.brook.client.Consumer;
import dev.brook.client.ConsumerConfig;
import dev.brook.client.GroupDescription;
import dev.brook.client.OffsetAndMetadata;
import dev.brook.client.OffsetAndTimestamp;
import dev.brook.client.PartitionInfo;
import dev.brook.client.TopicPartition;
import dev.brook.client.serialization.Serdes;
import dev.brook.proto.v1.ErrorCode;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletionException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "groups", description = "List, describe, reset and delete consumer groups.",
    subcommands = {
        GroupsCommand.ListGroups.class,
        GroupsCommand.Describe.class,
        GroupsCommand.ResetOffsets.class,
        GroupsCommand.Delete.class
    })
final class GroupsCommand implements Runnable {
  @Spec
  CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(),
        "a subcommand is required: list, describe, reset-offsets or delete");
  }

  /** An admin subcommand that may also read log offsets. */
  abstract static class GroupCommand extends TopicsCommand.AdminCommand {
    /** A consumer without a group, to read log offsets. */
    Consumer<byte[], byte[]> offsetReader() {
      return new Consumer<>(ConsumerConfig.builder().bootstrapServers(client.bootstrapServer).clientId("brook-cli").build(),
          Serdes.bytesDeserializer(), Serdes.bytesDeserializer());
    }
  }

  @Command(name = "list", description = "List consumer groups (with members, or with committed offsets).")
  static final class ListGroups extends GroupCommand {
    @Mixin
    OutputFormat output;

    @Override
    int run(Admin admin, PrintWriter out) {
      List<GroupDescription.Listing> groups = admin.listGroups().join();
      if (output.json()) {
        List<Map<String, Object>> json = new ArrayList<>();
        for (GroupDescription.Listing g : groups) json.add(Map.of("group", g.groupId(), "members", g.memberCount()));
        out.println(OutputFormat.toJson(json));
      } else {
        groups.forEach(g -> out.println(g.groupId()));
      }
      return 0;
    }
  }

  @Command(name = "describe", description = {
      "Describe a consumer group: its state, coordinator and members, and per partition the committed",
      "offset, the log end offset and the lag (end - committed)."})
  static final class Describe extends GroupCommand {
    @Option(names = "--group", required = true, description = "The group.")
    String group;

    @Mixin
    OutputFormat output;

    @Override
    int run(Admin admin, PrintWriter out) {
      GroupDescription d = null;
      try {
        d = admin.describeGroup(group).join();
      } catch (CompletionException e) {
        if (!(e.getCause() instanceof BrookException be && be.code() == ErrorCode.GROUP_ID_NOT_FOUND)) throw e;
      }
      Map<TopicPartition, OffsetAndMetadata> committed = admin.listGroupOffsets(group).join();
      if (d == null && committed.isEmpty()) {
        throw new Failures.CliException("group " + group + " does not exist (GROUP_ID_NOT_FOUND)");
      }
      Map<TopicPartition, String> owners = new TreeMap<>(PARTITION_ORDER);
      Set<TopicPartition> partitions = new TreeSet<>(PARTITION_ORDER);
      partitions.addAll(committed.keySet());
      if (d != null) {
        for (GroupDescription.Member m : d.members()) {
          for (TopicPartition tp : m.assigned()) owners.put(tp, m.memberId());
          partitions.addAll(m.assigned());
          partitions.addAll(m.pendingRevocation());
        }
      }
      Map<TopicPartition, Long> ends;
      try (Consumer<byte[], byte[]> reader = offsetReader()) {
        ends = partitions.isEmpty() ? Map.of() : reader.endOffsets(partitions);
      }
      List<Map<String, Object>> rows = new ArrayList<>();
      for (TopicPartition tp : partitions) {
        Map<String, Object> row = new LinkedHashMap<>();
        OffsetAndMetadata c = committed.get(tp);
        Long end = ends.get(tp);
        row.put("topic", tp.topic());
        row.put("partition", tp.partition());
        row.put("committed", c == null ? null : c.offset());
        row.put("logEnd", end);
        row.put("lag", c == null || end == null ? null : Math.max(0, end - c.offset()));
        row.put("member", owners.get(tp));
        rows.add(row);
      }
      if (output.json()) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("group", group);
        json.put("state", d == null ? "EMPTY" : d.state());
        json.put("groupEpoch", d == null ? 0 : d.groupEpoch());
        json.put("coordinator", d == null ? null : d.coordinatorId());
        List<Map<String, Object>> members = new ArrayList<>();
        if (d != null) {
          for (GroupDescription.Member m : d.members()) {
            Map<String, Object> mj = new LinkedHashMap<>();
            mj.put("memberId", m.memberId());
            mj.put("instanceId", m.instanceId());
            mj.put("clientId", m.clientId());
            mj.put("host", m.clientHost());
            mj.put("memberEpoch", m.memberEpoch());
            mj.put("state", m.state());
            mj.put("partitions", sorted(m.assigned()).stream().map(TopicPartition::toString).toList());
            mj.put("pendingRevocation", sorted(m.pendingRevocation()).stream().map(TopicPartition::toString).toList());
            members.add(mj);
          }
        }
        json.put("members", members);
        json.put("offsets", rows);
        out.println(OutputFormat.toJson(json));
        return 0;
      }
      out.printf("GROUP %s  STATE %s  EPOCH %d  COORDINATOR %s%n", group, d == null ? "EMPTY" : d.state(),
          d == null ? 0 : d.groupEpoch(), d == null || d.coordinatorId() < 0 ? "-" : d.coordinatorId() + " (" + d.coordinatorAddress() + ")");
      out.println();
      out.printf("%-38s %-20s %-16s %-6s %s%n", "MEMBER", "CLIENT-ID", "HOST", "EPOCH", "PARTITIONS");
      if (d != null) {
        for (GroupDescription.Member m : d.members()) {
          String parts = String.join(",", sorted(m.assigned()).stream().map(TopicPartition::toString).toList());
          if (!m.pendingRevocation().isEmpty()) {
            parts += " (revoking " + String.join(",", sorted(m.pendingRevocation()).stream().map(TopicPartition::toString).toList()) + ")";
          }
          out.printf("%-38s %-20s %-16s %-6d %s%n", m.memberId(), m.clientId(), m.clientHost(), m.memberEpoch(), parts);
        }
      }
      out.println();
      out.printf("%-24s %-9s %-12s %-12s %-8s %s%n", "TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG", "MEMBER");
      for (Map<String, Object> r : rows) {
        out.printf("%-24s %-9s %-12s %-12s %-8s %s%n", r.get("topic"), r.get("partition"), dash(r.get("committed")),
            dash(r.get("logEnd")), dash(r.get("lag")), dash(r.get("member")));
      }
      return 0;
    }
  }

  static final Comparator<TopicPartition> PARTITION_ORDER =
      Comparator.comparing(TopicPartition::topic).thenComparingInt(TopicPartition::partition);

  private static List<TopicPartition> sorted(Set<TopicPartition> tps) {
    List<TopicPartition> out = new ArrayList<>(tps);
    out.sort(PARTITION_ORDER);
    return out;
  }

  private static String dash(Object o) {
    return o == null ? "-" : o.toString();
  }

  @Command(name = "reset-offsets", description = {
      "Compute new committed offsets for a group's partitions of a topic and, with --execute, set them.",
      "Without --execute nothing changes (a dry run prints what would be set). Refused while the group",
      "has members: stop its consumers first."})
  static final class ResetOffsets extends GroupCommand {
    @Option(names = "--group", required = true, description = "The group.")
    String group;

    @Option(names = "--topic", required = true, description = "The topic whose partitions are reset.")
    String topic;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    static final class Target {
      @Option(names = "--to-earliest", description = "The log start of each partition.")
      boolean earliest;

      @Option(names = "--to-latest", description = "The log end of each partition.")
      boolean latest;

      @Option(names = "--to-offset", paramLabel = "N", description = "This offset (kept within the log start and end).")
      Long offset;

      @Option(names = "--to-datetime", paramLabel = "ISO",
          description = "The first record at or after this time, e.g. 2026-12-03T08:00:00Z (the log end when there is none).")
      String datetime;

      @Option(names = "--shift-by", paramLabel = "N",
          description = "The committed offset moved by N (negative: back), kept within the log start and end.")
      Long shiftBy;
    }

    @Option(names = "--execute", description = "Set the offsets (without it: a dry run).")
    boolean execute;

    @Mixin
    OutputFormat output;

    @Override
    int run(Admin admin, PrintWriter out) {
      if (target.offset != null && target.offset < 0) throw new Failures.CliException("--to-offset must be >= 0");
      if (execute) {
        try {
          GroupDescription d = admin.describeGroup(group).join();
          if (!d.members().isEmpty()) {
            throw new Failures.CliException("group " + group + " has " + d.members().size()
                + " active members: stop its consumers before resetting its offsets");
          }
        } catch (CompletionException e) {
          if (!(e.getCause() instanceof BrookException be && be.code() == ErrorCode.GROUP_ID_NOT_FOUND)) throw e;
        }
      }
      Map<TopicPartition, OffsetAndMetadata> committed = admin.listGroupOffsets(group).join();
      Map<TopicPartition, Long> next = new LinkedHashMap<>();
      try (Consumer<byte[], byte[]> reader = offsetReader()) {
        List<PartitionInfo> infos = TopicLookup.forConsumer(reader, topic);
        List<TopicPartition> tps = new ArrayList<>();
        for (PartitionInfo p : infos) tps.add(new TopicPartition(topic, p.partition()));
        Map<TopicPartition, Long> starts = reader.beginningOffsets(tps);
        Map<TopicPartition, Long> ends = reader.endOffsets(tps);
        Map<TopicPartition, OffsetAndTimestamp> byTime = null;
        if (target.datetime != null) {
          long ms = parseTime(target.datetime);
          Map<TopicPartition, Long> times = new LinkedHashMap<>();
          tps.forEach(tp -> times.put(tp, ms));
          byTime = reader.offsetsForTimes(times);
        }
        for (TopicPartition tp : tps) {
          long start = starts.get(tp);
          long end = ends.get(tp);
          long n;
          if (target.earliest) {
            n = start;
          } else if (target.latest) {
            n = end;
          } else if (target.offset != null) {
            n = target.offset;
          } else if (byTime != null) {
            OffsetAndTimestamp t = byTime.get(tp);
            n = t == null ? end : t.offset();
          } else {
            OffsetAndMetadata c = committed.get(tp);
            long base = c == null ? end : c.offset();
            n = base + target.shiftBy;
          }
          next.put(tp, Math.max(start, Math.min(end, n)));
        }
      }
      if (execute) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new LinkedHashMap<>();
        next.forEach((tp, o) -> offsets.put(tp, new OffsetAndMetadata(o)));
        admin.alterGroupOffsets(group, offsets).join();
      }
      if (output.json()) {
        List<Map<String, Object>> rows = new ArrayList<>();
        next.forEach((tp, o) -> {
          Map<String, Object> r = new LinkedHashMap<>();
          r.put("topic", tp.topic());
          r.put("partition", tp.partition());
          OffsetAndMetadata c = committed.get(tp);
          r.put("committed", c == null ? null : c.offset());
          r.put("newOffset", o);
          rows.add(r);
        });
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("group", group);
        json.put("executed", execute);
        json.put("offsets", rows);
        out.println(OutputFormat.toJson(json));
      } else {
        out.printf("%-24s %-9s %-12s %s%n", "TOPIC", "PARTITION", "COMMITTED", "NEW-OFFSET");
        next.forEach((tp, o) -> {
          OffsetAndMetadata c = committed.get(tp);
          out.printf("%-24s %-9d %-12s %d%n", tp.topic(), tp.partition(), c == null ? "-" : String.valueOf(c.offset()), o);
        });
        out.println(execute ? "Offsets of group " + group + " set." : "Dry run: nothing changed (add --execute to set these offsets).");
      }
      return 0;
    }

    private static long parseTime(String s) {
      try {
        return OffsetDateTime.parse(s).toInstant().toEpochMilli();
      } catch (DateTimeParseException e) {
        try {
          return Instant.parse(s).toEpochMilli();
        } catch (DateTimeParseException e2) {
          throw new Failures.CliException("--to-datetime must be an ISO-8601 time with an offset, e.g. 2026-12-03T08:00:00Z;"
              + " got '" + s + "'");
        }
      }
    }
  }

  @Command(name = "delete", description = "Delete a consumer group without members, with its committed offsets.")
  static final class Delete extends GroupCommand {
    @Option(names = "--group", required = true, description = "The group.")
    String group;

    @Override
    int run(Admin admin, PrintWriter out) {
      admin.deleteGroup(group).join();
      out.println("Deleted group " + group + ".");
      return 0;
    }
  }
}
