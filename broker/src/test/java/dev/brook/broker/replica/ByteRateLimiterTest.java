package dev.brook.broker.replica;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class ByteRateLimiterTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void pausesSoThatTheAverageRateStaysAtTheLimit() {
    ByteRateLimiter limiter = new ByteRateLimiter(1000);
    long now = 0;
    assertThat(limiter.pauseNanosAfter(500, now)).isEqualTo(SECOND / 2);
    now += SECOND / 2;
    assertThat(limiter.pauseNanosAfter(1000, now)).isEqualTo(SECOND);
    now += SECOND;
    assertThat(limiter.pauseNanosAfter(0, now)).isZero();
  }

  @Test
  void idleTimeEarnsAtMostOneSecondOfCredit() {
    ByteRateLimiter limiter = new ByteRateLimiter(1000);
    assertThat(limiter.pauseNanosAfter(100, 0)).isEqualTo(SECOND / 10);
    long later = 60 * SECOND; // a minute idle
    assertThat(limiter.pauseNanosAfter(1000, later)).isZero(); // one second's worth is free
    assertThat(limiter.pauseNanosAfter(1000, later)).isEqualTo(SECOND); // the next is not
  }
}
