package dev.brook.quorum;

import dev.brook.proto.v1.ErrorCode;

/**
 * The outcome of an {@link AlterPartitionRequest}.
 *
 * @param error NONE; FENCED_LEADER_EPOCH (leader epoch not current); INVALID_UPDATE_VERSION
 *     (partition epoch not current); STALE_BROKER_EPOCH; INELIGIBLE_REPLICA (an added member is
 *     fenced, shutting down or not a replica); NOT_LEADER; UNKNOWN_TOPIC_OR_PARTITION;
 *     INVALID_REQUEST (the ISR must contain the leader, no duplicates)
 * @param message why, empty on success
 * @param partition the partition's state after the call (on error: the current state, so the
 *     leader can catch up); null when the topic or partition does not exist
 */
public record AlterPartitionResult(ErrorCode error, String message, PartitionImage partition) {}
