package dev.brook.client;

import dev.brook.proto.v1.ErrorCode;

/**
 * The outcome of a preferred leader election for one partition: {@code error} is NONE (the
 * preferred replica leads now), ELECTION_NOT_NEEDED (it already did), PREFERRED_LEADER_NOT_AVAILABLE
 * or UNKNOWN_TOPIC_OR_PARTITION; leader and epoch are as after the election.
 */
public record ElectionResult(TopicPartition partition, ErrorCode error, String message, int leaderId, int leaderEpoch) {}
