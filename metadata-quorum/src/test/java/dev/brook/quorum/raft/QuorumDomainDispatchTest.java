package dev.brook.quorum.raft;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.MessageLite;
import dev.brook.quorum.proto.MetadataCommand;
import dev.brook.quorum.proto.MetadataCommand.CommandCase;
import dev.brook.quorum.proto.QuorumRequest;
import dev.brook.quorum.proto.QuorumRequest.RequestCase;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The state machine refuses domains that leave a case without an owner or claim one twice. */
@Timeout(10)
class QuorumDomainDispatchTest {
  private static final Path DB = Path.of("unused");

  /** Every request case but STATUS (the Raft layer's) and every command case. */
  private static Set<RequestCase> allRequests() {
    EnumSet<RequestCase> s = EnumSet.allOf(RequestCase.class);
    s.removeAll(List.of(RequestCase.REQUEST_NOT_SET, RequestCase.STATUS));
    return s;
  }

  private static Set<CommandCase> allCommands() {
    EnumSet<CommandCase> s = EnumSet.allOf(CommandCase.class);
    s.remove(CommandCase.COMMAND_NOT_SET);
    return s;
  }

  @Test
  void oneDomainOwningEveryCaseStarts() {
    assertThatCode(() -> new QuorumStateMachine(1, DB, List.of(new Fake("a", List.of("x"), allRequests(), allCommands()))))
        .doesNotThrowAnyException();
  }

  @Test
  void aRequestWithoutOwnerIsRefused() {
    Set<RequestCase> missing = allRequests();
    RequestCase dropped = missing.iterator().next();
    missing.remove(dropped);
    assertThatThrownBy(() -> new QuorumStateMachine(1, DB, List.of(new Fake("a", List.of("x"), missing, allCommands()))))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining(dropped.name()).hasMessageContaining("no domain");
  }

  @Test
  void aCommandWithoutOwnerIsRefused() {
    Set<CommandCase> missing = allCommands();
    CommandCase dropped = missing.iterator().next();
    missing.remove(dropped);
    assertThatThrownBy(() -> new QuorumStateMachine(1, DB, List.of(new Fake("a", List.of("x"), allRequests(), missing))))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining(dropped.name());
  }

  @Test
  void aCaseClaimedTwiceIsRefused() {
    CommandCase shared = allCommands().iterator().next();
    Fake a = new Fake("a", List.of("x"), allRequests(), allCommands());
    Fake b = new Fake("b", List.of("y"), Set.of(), EnumSet.of(shared));
    assertThatThrownBy(() -> new QuorumStateMachine(1, DB, List.of(a, b)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("claimed by a and b");
  }

  @Test
  void aSharedFamilyOrTheMetaFamilyIsRefused() {
    Fake a = new Fake("a", List.of("x"), allRequests(), allCommands());
    assertThatThrownBy(() -> new QuorumStateMachine(1, DB, List.of(a, new Fake("b", List.of("x"), Set.of(), Set.of()))))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("column family x");
    assertThatThrownBy(() -> new QuorumStateMachine(1, DB, List.of(new Fake("m", List.of("meta"), allRequests(), allCommands()))))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("Raft layer");
  }

  @Test
  void statusBelongsToTheRaftLayer() {
    Set<RequestCase> withStatus = allRequests();
    withStatus.add(RequestCase.STATUS);
    assertThatThrownBy(() -> new QuorumStateMachine(1, DB, List.of(new Fake("a", List.of("x"), withStatus, allCommands()))))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("STATUS");
  }

  @Test
  void aDomainFollowsOnlyAnotherDomainsCommands() {
    Fake owner = new Fake("a", List.of("x"), allRequests(), allCommands());
    Fake selfFollowing = new Fake("a", List.of("x"), allRequests(), allCommands(), EnumSet.of(CommandCase.DELETE_TOPICS));
    assertThatThrownBy(() -> new QuorumStateMachine(1, DB, List.of(selfFollowing)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("a follows DELETE_TOPICS");
    assertThatCode(() -> new QuorumStateMachine(1, DB, List.of(owner,
        new Fake("b", List.of("y"), Set.of(), Set.of(), EnumSet.of(CommandCase.DELETE_TOPICS)))))
        .doesNotThrowAnyException();
  }

  /** A domain that only declares what it owns; the state machine never calls it here. */
  private record Fake(String name, List<String> columnFamilies, Set<RequestCase> writeRequests, Set<CommandCase> commands,
      Set<CommandCase> followedCommands) implements QuorumDomain {
    Fake(String name, List<String> columnFamilies, Set<RequestCase> writeRequests, Set<CommandCase> commands) {
      this(name, columnFamilies, writeRequests, commands, Set.of());
    }

    @Override
    public Set<RequestCase> readRequests() {
      return Set.of();
    }

    @Override
    public void load(StoreReader store, long version, long appliedIndex) {
      throw new AssertionError("not called");
    }

    @Override
    public MetadataCommand validate(QuorumRequest request) {
      throw new AssertionError("not called");
    }

    @Override
    public CompletableFuture<? extends MessageLite> query(QuorumRequest request) {
      throw new AssertionError("not called");
    }

    @Override
    public Applied apply(MetadataCommand command, long index, StoreWriter writes) {
      throw new AssertionError("not called");
    }

    @Override
    public void advanceApplied(long index) {}
  }
}
