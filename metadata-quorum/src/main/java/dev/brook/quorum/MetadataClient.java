package dev.brook.quorum;

import dev.brook.proto.v1.CreateTopicsRequest;
import dev.brook.proto.v1.CreateTopicsResponse;
import dev.brook.proto.v1.DeleteTopicsRequest;
import dev.brook.proto.v1.DeleteTopicsResponse;
import dev.brook.proto.v1.QuorumStatus;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The broker's view of the metadata quorum, bound to one quorum node.
 *
 * <p>Reads ({@link #image()}, listeners) are served from the node's own applied state and never
 * block. Writes go through Raft; their futures complete once the change is committed AND applied
 * on the bound node, so a caller reads its own writes in {@link #image()}. A write that cannot
 * reach a leader in {@code quorum.request.timeout.ms} fails with a {@link QuorumException} whose
 * code is {@code QUORUM_NOT_AVAILABLE}. Thread-safe.
 */
public interface MetadataClient {
  /** The latest image applied on this node. Immutable. */
  MetadataImage image();

  /**
   * Registers {@code listener}: it is called once with the current image, then with each new image
   * in version order, on one notifier thread, never concurrently. It must not block (it delays
   * every other listener).
   */
  void addListener(Consumer<MetadataImage> listener);

  /** Completes with the then-current image once this node has applied every entry up to {@code version}. */
  CompletableFuture<MetadataImage> awaitVersion(long version);

  /**
   * Creates topics as one Raft entry; each topic succeeds or fails on its own (errors in the
   * response). With validate_only nothing is written and topic ids are empty.
   */
  CompletableFuture<CreateTopicsResponse> createTopics(CreateTopicsRequest request);

  /** Deletes topics as one Raft entry; unknown names get UNKNOWN_TOPIC_OR_PARTITION. */
  CompletableFuture<DeleteTopicsResponse> deleteTopics(DeleteTopicsRequest request);

  /**
   * Registers (or re-registers) a broker, unfenced. Idempotent; each call gives the broker a new,
   * larger broker epoch.
   */
  CompletableFuture<Void> registerBroker(int nodeId, String address, String rack);

  /** The quorum as this node sees it: voters, leader, term, commit and applied index. */
  QuorumStatus status();
}
