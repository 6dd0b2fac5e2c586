package dev.brook.broker.group;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.brook.broker.group.GroupChange.GroupEpochBumped;
import dev.brook.broker.group.GroupChange.TargetAssigned;
import dev.brook.broker.group.GroupStateCodec.GroupLevel;
import dev.brook.broker.group.proto.MemberState;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class GroupStateCodecTest {
  private static TreeSet<TopicPartition> tps(int... ps) {
    TreeSet<TopicPartition> s = new TreeSet<>();
    for (int p : ps) s.add(new TopicPartition("t", p));
    return s;
  }

  @Test
  void everyMemberStateRoundTrips() throws Exception {
    for (GroupMember.State state : GroupMember.State.values()) {
      GroupMember dynamic = new GroupMember("m", null, "c", "/h", new TreeSet<>(Set.of("t", "u")), null, 300_000, 7, 6,
          state, tps(0, 2), tps(1));
      assertThat(GroupStateCodec.decodeMember(GroupStateCodec.encode(dynamic))).isEqualTo(dynamic);
      GroupMember staticMember = new GroupMember("m", "i-1", "c", "/h", new TreeSet<>(Set.of("t")), "range", 1, 0, 0, state,
          tps(), tps());
      assertThat(GroupStateCodec.decodeMember(GroupStateCodec.encode(staticMember))).isEqualTo(staticMember);
    }
  }

  @Test
  void theGroupLevelRoundTripsAndAnEmptyOneIsTheInitialState() throws Exception {
    TreeMap<String, Integer> seen = new TreeMap<>();
    seen.put("t", 4);
    TreeMap<String, Set<TopicPartition>> target = new TreeMap<>();
    target.put("a", tps(0, 1));
    target.put("b", tps(2, 3));
    GroupLevel level = new GroupLevel(new GroupEpochBumped(5, seen), new TargetAssigned(4, target));
    assertThat(GroupStateCodec.decodeLevel(GroupStateCodec.encode(level))).isEqualTo(level);
    assertThat(GroupStateCodec.decodeLevel(ByteString.EMPTY)).isEqualTo(GroupLevel.INITIAL);
    assertThat(level.with(new GroupEpochBumped(6, seen)).target()).isEqualTo(level.target());
  }

  @Test
  void aMemberInAnUnknownStateIsUnreadableNotGuessed() {
    ByteString bytes = MemberState.newBuilder().setMemberId("m").setState("DANCING").build().toByteString();
    assertThatThrownBy(() -> GroupStateCodec.decodeMember(bytes)).isInstanceOf(InvalidProtocolBufferException.class)
        .hasMessageContaining("DANCING");
  }
}
