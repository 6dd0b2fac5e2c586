package dev.brook.quorum.group;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.quorum.BrokerImage;
import dev.brook.quorum.GroupPlacement;
import dev.brook.quorum.GroupStateClient;
import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.TopicImage;
import dev.brook.quorum.proto.CommittedOffsetRecord;
import dev.brook.quorum.proto.FetchGroupReply;
import dev.brook.quorum.proto.FetchOffsetsReply;
import dev.brook.quorum.proto.GroupCommitResult;
import dev.brook.quorum.proto.GroupOffsetCommit;
import dev.brook.quorum.proto.GroupRecord;
import dev.brook.quorum.proto.GroupSummary;
import dev.brook.quorum.proto.ListGroupsReply;
import dev.brook.quorum.proto.GroupWrite;
import dev.brook.quorum.proto.GroupWriteReply;
import dev.brook.quorum.proto.GroupWriter;
import dev.brook.quorum.proto.MetadataCommand;
import dev.brook.quorum.proto.MetadataCommand.CommandCase;
import dev.brook.quorum.proto.OffsetCommitBatch;
import dev.brook.quorum.proto.OffsetCommitReply;
import dev.brook.quorum.proto.PartitionCommitError;
import dev.brook.quorum.proto.QuorumRequest;
import dev.brook.quorum.proto.QuorumRequest.RequestCase;
import dev.brook.quorum.proto.StoredMember;
import dev.brook.quorum.proto.TopicPartitionRef;
import dev.brook.quorum.raft.QuorumDomain;
import dev.brook.quorum.raft.StoreReader;
import dev.brook.quorum.raft.StoreWriter;
import java.io.IOException;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The group domain: each consumer group's durable state for its coordinator, and the group's
 * committed offsets (quorum.proto, "Group domain"). Column families {@code groups} and
 * {@code offsets} ({@link GroupKeys}).
 *
 * <p>What apply checks, at the entry's log index and so the same on every replica:
 * <ul>
 *   <li>the writer is the group's coordinator by the cluster image at that index
 *       ({@link GroupPlacement}) and its broker epoch is the registered one — a deposed coordinator
 *       (fenced, or its broker re-registered) can never change a group or its offsets;
 *   <li>a group write names the version it was decided on, so two coordinators' writes never
 *       interleave (the second gets INVALID_UPDATE_VERSION and reloads);
 *   <li>an offset commit's member id and epoch are the durable group's, so a zombie member's
 *       commits are refused; the topic and partition exist, and the offset remembers the topic id.
 * </ul>
 *
 * <p>State in memory, for reads: every group's record and every group's offsets, each group's
 * value replaced whole (immutable) after its entry is durable; readers (leader queries) see each
 * group's state at some applied index. The apply thread is the only writer.
 */
public final class GroupDomain implements QuorumDomain {
  private static final Logger LOG = LoggerFactory.getLogger(GroupDomain.class);
  private static final Set<RequestCase> WRITES = EnumSet.of(RequestCase.GROUP_WRITE, RequestCase.COMMIT_OFFSETS);
  private static final Set<RequestCase> READS = EnumSet.of(RequestCase.FETCH_GROUP, RequestCase.FETCH_OFFSETS,
      RequestCase.LIST_GROUPS);
  private static final Set<CommandCase> COMMANDS = EnumSet.of(CommandCase.GROUP_WRITE, CommandCase.COMMIT_OFFSETS);
  private static final Set<CommandCase> FOLLOWED = EnumSet.of(CommandCase.DELETE_TOPICS);

  private final Supplier<MetadataImage> cluster;
  private final LongSupplier clock;
  private final Map<String, GroupRecord> groups = new ConcurrentHashMap<>();
  private final Map<String, SortedMap<GroupStateClient.OffsetKey, CommittedOffsetRecord>> offsets = new ConcurrentHashMap<>();

  /**
   * @param cluster the cluster domain's image as of the last applied entry (on the apply thread:
   *     the state at the entry being applied)
   * @param clock wall clock (ms), read on the leader only, to stamp commit times
   */
  public GroupDomain(Supplier<MetadataImage> cluster, LongSupplier clock) {
    this.cluster = cluster;
    this.clock = clock;
  }

  @Override
  public String name() {
    return "group";
  }

  @Override
  public List<String> columnFamilies() {
    return GroupKeys.FAMILIES;
  }

  @Override
  public Set<RequestCase> writeRequests() {
    return WRITES;
  }

  @Override
  public Set<RequestCase> readRequests() {
    return READS;
  }

  @Override
  public Set<CommandCase> commands() {
    return COMMANDS;
  }

  @Override
  public void load(StoreReader store, long version, long appliedIndex) throws IOException {
    Map<String, GroupRecord> g = new HashMap<>();
    Map<String, SortedMap<GroupStateClient.OffsetKey, CommittedOffsetRecord>> o = new HashMap<>();
    try {
      store.forEach(GroupKeys.GROUPS, (k, v) -> {
        GroupRecord r = GroupRecord.parseFrom(v);
        g.put(r.getGroupId(), r);
      });
      store.forEach(GroupKeys.OFFSETS, (k, v) -> {
        CommittedOffsetRecord r = CommittedOffsetRecord.parseFrom(v);
        o.computeIfAbsent(GroupKeys.groupOfOffsetKey(k), x -> new TreeMap<>())
            .put(new GroupStateClient.OffsetKey(r.getTopic(), r.getPartition()), r);
      });
    } catch (InvalidProtocolBufferException e) {
      throw new IOException("unreadable group record in the metadata database: " + e.getMessage(), e);
    }
    groups.clear();
    groups.putAll(g);
    offsets.clear();
    o.forEach((id, m) -> offsets.put(id, Collections.unmodifiableSortedMap(m)));
    LOG.info("Group domain loaded at version {}: {} groups, {} with committed offsets", version, g.size(), o.size());
  }

  // ------------------------------------------------------------------ leader side

  @Override
  public MetadataCommand validate(QuorumRequest req) {
    return switch (req.getRequestCase()) {
      case GROUP_WRITE -> {
        GroupWrite w = req.getGroupWrite();
        requireValidGroupId(w.getGroupId());
        if (!w.hasWriter()) throw new IllegalArgumentException("a group write names its writer");
        Set<String> ids = new HashSet<>();
        for (StoredMember m : w.getMemberPutsList()) {
          if (m.getMemberId().isEmpty()) throw new IllegalArgumentException("a member of group " + w.getGroupId() + " has no id");
          if (!ids.add(m.getMemberId())) {
            throw new IllegalArgumentException("member " + m.getMemberId() + " is written twice in one group write");
          }
        }
        yield MetadataCommand.newBuilder().setGroupWrite(w).build();
      }
      case COMMIT_OFFSETS -> {
        OffsetCommitBatch b = req.getCommitOffsets();
        if (!b.hasWriter()) throw new IllegalArgumentException("an offset commit names its writer");
        for (GroupOffsetCommit c : b.getCommitsList()) {
          requireValidGroupId(c.getGroupId());
          for (CommittedOffsetRecord o : c.getOffsetsList()) {
            if (o.getPartition() < 0 || o.getOffset() < 0) {
              throw new IllegalArgumentException("offset " + o.getOffset() + " of " + o.getTopic() + "-" + o.getPartition()
                  + " for group " + c.getGroupId() + ": partitions and offsets are >= 0");
            }
            if (o.getMetadata().length() > GroupStateClient.MAX_OFFSET_METADATA_LENGTH) {
              throw new IllegalArgumentException("offset metadata of " + o.getTopic() + "-" + o.getPartition() + " has "
                  + o.getMetadata().length() + " characters, more than " + GroupStateClient.MAX_OFFSET_METADATA_LENGTH);
            }
          }
        }
        yield MetadataCommand.newBuilder().setCommitOffsets(b.toBuilder().setTimestampMs(clock.getAsLong())).build();
      }
      default -> throw new IllegalArgumentException(req.getRequestCase() + " is not a group write");
    };
  }

  private static void requireValidGroupId(String groupId) {
    String problem = GroupStateClient.invalidGroupId(groupId);
    if (problem != null) throw new IllegalArgumentException(problem);
  }

  @Override
  public CompletableFuture<? extends MessageLite> query(QuorumRequest req) {
    return switch (req.getRequestCase()) {
      case FETCH_GROUP -> {
        GroupRecord g = groups.get(req.getFetchGroup().getGroupId());
        FetchGroupReply.Builder reply = FetchGroupReply.newBuilder();
        if (g != null) reply.setGroup(g);
        yield CompletableFuture.completedFuture(reply.build());
      }
      case FETCH_OFFSETS -> CompletableFuture.completedFuture(fetchOffsets(req.getFetchOffsets().getGroupId(),
          req.getFetchOffsets().getPartitionsList()));
      case LIST_GROUPS -> CompletableFuture.completedFuture(listGroups());
      default -> CompletableFuture.failedFuture(new IllegalArgumentException(req.getRequestCase() + " is not a group read"));
    };
  }

  private ListGroupsReply listGroups() {
    TreeMap<String, GroupSummary> all = new TreeMap<>();
    offsets.keySet().forEach(id -> all.put(id, GroupSummary.newBuilder().setGroupId(id).build()));
    groups.forEach((id, g) -> all.put(id, GroupSummary.newBuilder().setGroupId(id).setMemberCount(g.getMembersCount())
        .setVersion(g.getVersion()).build()));
    return ListGroupsReply.newBuilder().addAllGroups(all.values()).build();
  }

  private FetchOffsetsReply fetchOffsets(String groupId, List<TopicPartitionRef> wanted) {
    FetchOffsetsReply.Builder reply = FetchOffsetsReply.newBuilder();
    SortedMap<GroupStateClient.OffsetKey, CommittedOffsetRecord> all = offsets.get(groupId);
    if (all == null) return reply.build();
    MetadataImage image = cluster.get();
    if (wanted.isEmpty()) {
      for (CommittedOffsetRecord r : all.values()) {
        if (isCurrent(r, image)) reply.addOffsets(r);
      }
    } else {
      TreeMap<GroupStateClient.OffsetKey, CommittedOffsetRecord> picked = new TreeMap<>();
      for (TopicPartitionRef tp : wanted) {
        GroupStateClient.OffsetKey k = new GroupStateClient.OffsetKey(tp.getTopic(), tp.getPartition());
        CommittedOffsetRecord r = all.get(k);
        if (r != null && isCurrent(r, image)) picked.put(k, r);
      }
      reply.addAllOffsets(picked.values());
    }
    return reply.build();
  }

  /** An offset of a topic deleted and created again under its name belongs to the old topic. */
  private static boolean isCurrent(CommittedOffsetRecord r, MetadataImage image) {
    TopicImage t = image.topic(r.getTopic());
    return t != null && t.topicId().equals(r.getTopicId());
  }

  // ------------------------------------------------------------------ every replica

  @Override
  public Applied apply(MetadataCommand command, long index, StoreWriter writes) throws IOException {
    return switch (command.getCommandCase()) {
      case GROUP_WRITE -> applyWrite(command.getGroupWrite(), index, writes);
      case COMMIT_OFFSETS -> applyCommits(command.getCommitOffsets(), index, writes);
      default -> throw new IllegalArgumentException(command.getCommandCase() + " is not a group command");
    };
  }

  /** Null when {@code writer} is {@code groupId}'s coordinator in {@code image}, else why not. */
  static String notCoordinator(String groupId, GroupWriter writer, MetadataImage image) {
    int coordinator = GroupPlacement.coordinator(groupId, image);
    if (coordinator != writer.getBrokerId()) {
      return "broker " + writer.getBrokerId() + " is not the coordinator of group " + groupId
          + (coordinator < 0 ? " (no broker is active)" : " (broker " + coordinator + " is)");
    }
    BrokerImage b = image.brokers().get(writer.getBrokerId());
    if (b == null || b.brokerEpoch() != writer.getBrokerEpoch()) {
      return "broker " + writer.getBrokerId() + " wrote with broker epoch " + writer.getBrokerEpoch()
          + ", not its current one " + (b == null ? "(unregistered)" : b.brokerEpoch());
    }
    return null;
  }

  private Applied applyWrite(GroupWrite w, long index, StoreWriter writes) {
    String id = w.getGroupId();
    GroupRecord current = groups.get(id);
    long version = current == null ? 0 : current.getVersion();
    String notCoordinator = notCoordinator(id, w.getWriter(), cluster.get());
    if (notCoordinator != null) return refuse(ErrorCode.NOT_COORDINATOR, notCoordinator, version);
    if (w.getExpectedVersion() != version) {
      return refuse(ErrorCode.INVALID_UPDATE_VERSION, "group " + id + " is at version " + version + ", not "
          + w.getExpectedVersion() + ": it was written since; reload it", version);
    }
    TreeMap<String, StoredMember> members = new TreeMap<>();
    if (current != null) current.getMembersList().forEach(m -> members.put(m.getMemberId(), m));
    w.getMemberRemovalsList().forEach(members::remove);
    if (w.getDeleteGroup()) {
      if (current == null && !offsets.containsKey(id)) {
        return refuse(ErrorCode.GROUP_ID_NOT_FOUND, "group " + id + " does not exist", version);
      }
      if (!members.isEmpty() || !w.getMemberPutsList().isEmpty()) {
        return refuse(ErrorCode.NON_EMPTY_GROUP, "group " + id + " still has " + members.size() + " members", version);
      }
      writes.delete(GroupKeys.GROUPS, GroupKeys.groupKey(id));
      writes.deleteRange(GroupKeys.OFFSETS, GroupKeys.offsetPrefix(id), GroupKeys.offsetPrefixEnd(id));
      LOG.info("Group {} deleted by its coordinator {} at index {}", id, w.getWriter().getBrokerId(), index);
      return new Applied(reply(ErrorCode.NONE, "", index), true, () -> {
        groups.remove(id);
        offsets.remove(id);
      });
    }
    w.getMemberPutsList().forEach(m -> members.put(m.getMemberId(), m));
    GroupRecord next = GroupRecord.newBuilder().setGroupId(id).setVersion(index)
        .setGroupData(w.hasGroupData() ? w.getGroupData() : current == null ? ByteString.EMPTY : current.getGroupData())
        .addAllMembers(members.values()).build();
    writes.put(GroupKeys.GROUPS, GroupKeys.groupKey(id), next.toByteArray());
    return new Applied(reply(ErrorCode.NONE, "", index), true, () -> groups.put(id, next));
  }

  private static Applied refuse(ErrorCode code, String message, long version) {
    LOG.info("Group write refused ({}): {}", code, message);
    return Applied.unchanged(reply(code, message, version), () -> { });
  }

  private static ByteString reply(ErrorCode code, String message, long version) {
    return GroupWriteReply.newBuilder().setErrorCode(code.getNumber()).setErrorMessage(message).setVersion(version).build()
        .toByteString();
  }

  private Applied applyCommits(OffsetCommitBatch batch, long index, StoreWriter writes) {
    MetadataImage image = cluster.get();
    OffsetCommitReply.Builder reply = OffsetCommitReply.newBuilder();
    Map<String, TreeMap<GroupStateClient.OffsetKey, CommittedOffsetRecord>> changed = new HashMap<>();
    for (GroupOffsetCommit c : batch.getCommitsList()) {
      GroupCommitResult.Builder r = GroupCommitResult.newBuilder().setGroupId(c.getGroupId());
      String notCoordinator = notCoordinator(c.getGroupId(), batch.getWriter(), image);
      ErrorCode memberError = notCoordinator != null ? ErrorCode.NOT_COORDINATOR : memberError(c);
      if (memberError != ErrorCode.NONE) {
        reply.addGroups(r.setErrorCode(memberError.getNumber())
            .setErrorMessage(notCoordinator != null ? notCoordinator : memberMessage(c, memberError)));
        continue;
      }
      for (CommittedOffsetRecord o : c.getOffsetsList()) {
        TopicImage t = image.topic(o.getTopic());
        if (t == null || o.getPartition() >= t.partitions().size()) {
          r.addPartitions(PartitionCommitError.newBuilder().setTopic(o.getTopic()).setPartition(o.getPartition())
              .setErrorCode(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION_VALUE)
              .setErrorMessage("topic '" + o.getTopic() + "' has no partition " + o.getPartition()));
          continue;
        }
        CommittedOffsetRecord stored = o.toBuilder().setTopicId(t.topicId()).setCommitTimestampMs(batch.getTimestampMs()).build();
        writes.put(GroupKeys.OFFSETS, GroupKeys.offsetKey(c.getGroupId(), o.getTopic(), o.getPartition()), stored.toByteArray());
        changed.computeIfAbsent(c.getGroupId(), g -> {
          SortedMap<GroupStateClient.OffsetKey, CommittedOffsetRecord> before = offsets.get(g);
          return before == null ? new TreeMap<>() : new TreeMap<>(before);
        }).put(new GroupStateClient.OffsetKey(o.getTopic(), o.getPartition()), stored);
      }
      reply.addGroups(r.setErrorCode(ErrorCode.NONE_VALUE));
    }
    ByteString bytes = reply.build().toByteString();
    if (changed.isEmpty()) return Applied.unchanged(bytes, () -> { });
    return new Applied(bytes, true, () -> changed.forEach((g, m) -> offsets.put(g, Collections.unmodifiableSortedMap(m))));
  }

  /**
   * NONE when the committer is a current member of the durable group (or commits as "" / -1 for
   * a group without members); else the member error, as Kafka's consumer protocol answers it.
   */
  private ErrorCode memberError(GroupOffsetCommit c) {
    GroupRecord g = groups.get(c.getGroupId());
    if (c.getMemberId().isEmpty()) {
      boolean empty = g == null || g.getMembersCount() == 0;
      return empty && c.getMemberEpoch() < 0 ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
    }
    StoredMember m = g == null ? null : member(g, c.getMemberId());
    if (m == null) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (c.getMemberEpoch() == m.getMemberEpoch()) return ErrorCode.NONE;
    return c.getMemberEpoch() < m.getMemberEpoch() ? ErrorCode.STALE_MEMBER_EPOCH : ErrorCode.FENCED_MEMBER_EPOCH;
  }

  private String memberMessage(GroupOffsetCommit c, ErrorCode error) {
    GroupRecord g = groups.get(c.getGroupId());
    StoredMember m = g == null || c.getMemberId().isEmpty() ? null : member(g, c.getMemberId());
    return switch (error) {
      case UNKNOWN_MEMBER_ID -> c.getMemberId().isEmpty()
          ? "group " + c.getGroupId() + " has members: commit as one of them"
          : "group " + c.getGroupId() + " has no member " + c.getMemberId();
      case STALE_MEMBER_EPOCH, FENCED_MEMBER_EPOCH -> "member " + c.getMemberId() + " of group " + c.getGroupId()
          + " committed with epoch " + c.getMemberEpoch() + ", its epoch is " + (m == null ? "unknown" : m.getMemberEpoch());
      default -> error.name();
    };
  }

  private static StoredMember member(GroupRecord g, String memberId) {
    for (StoredMember m : g.getMembersList()) {
      if (m.getMemberId().equals(memberId)) return m;
    }
    return null;
  }

  @Override
  public Set<CommandCase> followedCommands() {
    return FOLLOWED;
  }

  /**
   * A topic deletion drops every group's committed offsets of the topic, in the deletion's entry:
   * an offset of a deleted topic can neither be read (a topic created again under the name is
   * another topic) nor committed again (apply refuses a partition that does not exist), so only
   * its storage was left, growing with every topic deleted. The cluster domain deletes each named
   * topic that exists in the image before the entry; that image is the one published now.
   */
  @Override
  public Applied follow(MetadataCommand command, long index, StoreWriter writes) {
    if (command.getCommandCase() != CommandCase.DELETE_TOPICS) return null;
    MetadataImage before = cluster.get();
    Map<String, TreeMap<GroupStateClient.OffsetKey, CommittedOffsetRecord>> changed = new HashMap<>();
    int dropped = 0;
    for (String topic : new TreeSet<>(command.getDeleteTopics().getNamesList())) {
      if (before.topic(topic) == null) continue; // refused by the cluster domain: nothing was deleted
      GroupStateClient.OffsetKey from = new GroupStateClient.OffsetKey(topic, Integer.MIN_VALUE);
      GroupStateClient.OffsetKey to = new GroupStateClient.OffsetKey(topic, Integer.MAX_VALUE);
      for (Map.Entry<String, SortedMap<GroupStateClient.OffsetKey, CommittedOffsetRecord>> g : offsets.entrySet()) {
        SortedMap<GroupStateClient.OffsetKey, CommittedOffsetRecord> current = changed.containsKey(g.getKey())
            ? changed.get(g.getKey()) : g.getValue();
        if (current.subMap(from, to).isEmpty() && !current.containsKey(to)) continue;
        TreeMap<GroupStateClient.OffsetKey, CommittedOffsetRecord> next = new TreeMap<>(current);
        next.subMap(from, true, to, true).clear();
        dropped += current.size() - next.size();
        writes.deleteRange(GroupKeys.OFFSETS, GroupKeys.offsetKey(g.getKey(), topic, 0),
            GroupKeys.offsetPrefixEnd(g.getKey(), topic));
        changed.put(g.getKey(), next);
      }
    }
    if (changed.isEmpty()) return null;
    LOG.info("Dropped {} committed offsets of deleted topics {} from {} groups at index {}", dropped,
        command.getDeleteTopics().getNamesList(), changed.size(), index);
    return new Applied(ByteString.EMPTY, true, () -> changed.forEach((g, m) -> {
      if (m.isEmpty()) {
        offsets.remove(g);
      } else {
        offsets.put(g, Collections.unmodifiableSortedMap(m));
      }
    }));
  }

  @Override
  public void advanceApplied(long index) {
    // Nothing waits for the group domain's applied index: its reads are leader reads.
  }
}
