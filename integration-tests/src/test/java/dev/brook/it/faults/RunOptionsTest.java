package dev.brook.it.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** How the fault runner reads its command line. */
@Timeout(10)
class RunOptionsTest {
  @Test
  void keepIsAFlagOrTrueOrFalseAndNothingElse() {
    assertThat(RunOptions.parse().keep()).isFalse();
    assertThat(RunOptions.parse("--keep").keep()).isTrue();
    assertThat(RunOptions.parse("--keep=true").keep()).isTrue();
    assertThat(RunOptions.parse("--keep=false").keep()).isFalse();
    assertThatThrownBy(() -> RunOptions.parse("--keep=yes")).hasMessageContaining("--keep must be true or false");
  }

  @Test
  void badOptionsAreRefusedWithWhatWasExpected() {
    assertThatThrownBy(() -> RunOptions.parse("--seed")).hasMessageContaining("expected --name=value");
    assertThatThrownBy(() -> RunOptions.parse("--sede=1")).hasMessageContaining("unknown option --sede");
    assertThatThrownBy(() -> RunOptions.parse("--hold-min-ms=5000", "--hold-max-ms=1000"))
        .hasMessageContaining("inconsistent options");
    assertThatThrownBy(() -> RunOptions.parse("--faults=no-such-fault")).isInstanceOf(IllegalArgumentException.class);
  }
}
