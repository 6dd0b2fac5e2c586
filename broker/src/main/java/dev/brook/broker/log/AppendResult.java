package dev.brook.broker.log;

/**
 * The outcome of one {@link PartitionLog#append}: the offsets assigned to the request's records
 * ({@code firstOffset} is the first batch's base offset, {@code lastOffset} the last batch's last
 * offset), the broker clock when they were appended, the largest producer timestamp among them,
 * and the leader epoch the batches were stamped with (the last frame's for follower appends).
 */
public record AppendResult(long firstOffset, long lastOffset, long logAppendTimeMs, long maxTimestamp,
    int leaderEpoch) {}
