package dev.brook.quorum;

import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.DeleteTopicsRequest;
import dev.brook.proto.v1.DeleteTopicsResponse;
import dev.brook.proto.v1.ElectLeadersRequest;
import dev.brook.proto.v1.ElectLeadersResponse;
import dev.brook.proto.v1.QuorumStatus;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The broker's view of the metadata quorum. Two implementations: the one of a quorum node
 * ({@link MetadataQuorum#client()}, image = the node's own applied state) and the remote one of a
 * broker-only node ({@link MetadataQuorum#connect}, image kept fresh by a watch on the voters).
 *
 * <p>Reads ({@link #image()}, listeners) are served from the local image and never block. Writes
 * go through Raft; their futures complete once the change is committed AND visible in
 * {@link #image()}, so a caller reads its own writes. A call that cannot reach a leader in
 * {@code quorum.request.timeout.ms} fails with a {@link QuorumException} whose code is
 * {@code QUORUM_NOT_AVAILABLE}. Thread-safe.
 */
public interface MetadataClient extends AutoCloseable {
  /** The latest image known here. Immutable. */
  MetadataImage image();

  /**
   * Registers {@code listener}: it is called once with the current image, then with each new image
   * in version order, on one notifier thread, never concurrently. It must not block (it delays
   * every other listener).
   */
  void addListener(Consumer<MetadataImage> listener);

  /** Completes with the then-current image once this client has seen every entry up to {@code version}. */
  CompletableFuture<MetadataImage> awaitVersion(long version);

  /**
   * Creates topics as one Raft entry; each topic succeeds or fails on its own (errors in the
   * response). Replicas are placed on active (unfenced, not shutting down) brokers only, spread
   * over racks when brokers have one. With validate_only nothing is written and topic ids are empty.
   */
  CompletableFuture<CreateTopicsResponse> createTopics(CreateTopicsRequest request);

  /** Deletes topics as one Raft entry; unknown names get UNKNOWN_TOPIC_OR_PARTITION. */
  CompletableFuture<DeleteTopicsResponse> deleteTopics(DeleteTopicsRequest request);

  /**
   * Registers (or re-registers) a broker and completes with its new broker epoch (larger than any
   * before). The broker starts FENCED: its first {@link #heartbeat} with this epoch unfences it
   * (do that once it is ready to serve). Re-registering fences the previous incarnation: its
   * leaderships move to other in-sync replicas.
   */
  default CompletableFuture<Long> registerBroker(int nodeId, String address, String rack) {
    return register(new BrokerRegistration(nodeId, address, rack, "", "")).thenApply(RegisteredBroker::brokerEpoch);
  }

  /**
   * Registers (or re-registers) a broker as {@link #registerBroker(int, String, String)} does,
   * with its identity: the quorum refuses (the future fails with a
   * {@link RegistrationRefusedException}) a node whose data dir belongs to another cluster, and
   * a second node that registers with a node id a live node of another incarnation holds. The
   * same incarnation (a restart on the same data dir) is always accepted; another one is accepted
   * once the old one's lease expired (a replaced disk). The reply carries the cluster id, which
   * the node keeps in its data dir.
   */
  CompletableFuture<RegisteredBroker> register(BrokerRegistration registration);

  /**
   * Renews the broker's lease; send one several times per {@code quorum.broker.session.timeout.ms}
   * (e.g. every quarter of it; a failed heartbeat is simply retried at the next interval). Not a Raft write: the quorum leader
   * tracks heartbeats in memory and commits only changes (unfence, fence, controlled shutdown).
   * With {@code wantShutdown} the leader moves the broker's leaderships away and removes it from
   * ISRs; {@link HeartbeatResult#shutdownReady()} says when that is done.
   */
  CompletableFuture<HeartbeatResult> heartbeat(int nodeId, long brokerEpoch, boolean wantShutdown);

  /** Changes a partition's ISR, sent by its leader; see {@link AlterPartitionRequest}. */
  CompletableFuture<AlterPartitionResult> alterPartition(AlterPartitionRequest request);

  /**
   * Moves leadership of the given partitions (all when empty) to their preferred replica when it
   * is active and in the ISR; per partition NONE, ELECTION_NOT_NEEDED,
   * PREFERRED_LEADER_NOT_AVAILABLE or UNKNOWN_TOPIC_OR_PARTITION. One Raft entry for all.
   */
  CompletableFuture<ElectLeadersResponse> electLeaders(ElectLeadersRequest request);

  /**
   * Node id to milliseconds since the quorum leader last heard a heartbeat from that broker, from
   * the leader's in-memory tracker (brokers it has not heard from since it became leader are absent).
   */
  CompletableFuture<Map<Integer, Long>> heartbeatAgesMs();

  /** The group domain: consumer groups' durable state and committed offsets (for group coordinators). */
  GroupStateClient groups();

  /** The quorum as this client sees it: voters, leader, term, commit and applied index. */
  QuorumStatus status();

  /**
   * Releases this client's resources (connections, watch thread). A quorum node's own client is
   * closed with the node; closing it earlier does nothing. Idempotent.
   */
  @Override
  void close();
}
