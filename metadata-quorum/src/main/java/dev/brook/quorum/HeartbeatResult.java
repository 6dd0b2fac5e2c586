package dev.brook.quorum;

import dev.brook.proto.v1.ErrorCode;

/**
 * The quorum leader's answer to a broker heartbeat.
 *
 * @param error NONE, or STALE_BROKER_EPOCH when the broker epoch is not its current one (or the
 *     broker is unknown): the broker must register again
 * @param fenced whether the broker is fenced as of this answer. A heartbeat with the current epoch
 *     unfences it; the unfencing is committed asynchronously, so the first answers may still say
 *     true (watch the image for the change)
 * @param shutdownReady with wantShutdown: the broker leads nothing any more and may stop
 */
public record HeartbeatResult(ErrorCode error, boolean fenced, boolean shutdownReady) {}
