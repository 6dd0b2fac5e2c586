package dev.brook.broker.replica;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.proto.v1.ErrorCode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The follower's retry delays after a leader answered that it does not lead the epoch yet. */
@Timeout(10)
class ReplicaFetcherRetryTest {
  @Test
  void leaderBehindTheMetadataIsRetriedSoonThenLessOften() {
    long first = ReplicaFetcher.catchUpRetryMs(ErrorCode.NOT_LEADER, 0, 500);
    assertThat(first).isEqualTo(ReplicaFetcher.CATCH_UP_FIRST_RETRY_MS);
    long second = ReplicaFetcher.catchUpRetryMs(ErrorCode.UNKNOWN_LEADER_EPOCH, first, 500);
    assertThat(second).isEqualTo(2 * first);
    long d = second;
    for (int i = 0; i < 20; i++) d = ReplicaFetcher.catchUpRetryMs(ErrorCode.NOT_LEADER, d, 500);
    assertThat(d).isEqualTo(500);
  }

  @Test
  void otherAnswersEndTheCatchUpAndUseTheNormalBackoff() {
    assertThat(ReplicaFetcher.catchUpRetryMs(ErrorCode.NONE, 80, 500)).isZero();
    assertThat(ReplicaFetcher.catchUpRetryMs(ErrorCode.FENCED_LEADER_EPOCH, 80, 500)).isZero();
    assertThat(ReplicaFetcher.catchUpRetryMs(ErrorCode.STORAGE_ERROR, 0, 500)).isZero();
  }

  @Test
  void neverLongerThanTheBackoffNorZero() {
    assertThat(ReplicaFetcher.catchUpRetryMs(ErrorCode.NOT_LEADER, 0, 5)).isEqualTo(5);
    assertThat(ReplicaFetcher.catchUpRetryMs(ErrorCode.NOT_LEADER, 0, 0)).isEqualTo(1);
  }
}
