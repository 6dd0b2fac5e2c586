package dev.brook.broker.replica;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class WaitersTest {
  private final Waiters waiters = new Waiters();
  private final List<String> ran = new ArrayList<>();

  @Test
  void aThrowingCallbackDoesNotKeepTheOthersWaiting() {
    waiters.add(() -> ran.add("first"));
    waiters.add(() -> {
      throw new IllegalStateException("boom");
    });
    waiters.add(() -> ran.add("third"));
    waiters.fire();
    assertThat(ran).containsExactly("first", "third");
    assertThat(waiters.size()).isZero();
  }

  @Test
  void aCallbackThatRegistersAgainRunsOnTheNextFireAndARemovedOneNever() {
    Runnable removed = () -> ran.add("removed");
    waiters.add(removed);
    waiters.add(new Runnable() {
      @Override
      public void run() {
        ran.add("again");
        waiters.add(this);
      }
    });
    waiters.remove(removed);
    waiters.fire();
    assertThat(ran).containsExactly("again");
    waiters.fire();
    assertThat(ran).containsExactly("again", "again");
  }
}
