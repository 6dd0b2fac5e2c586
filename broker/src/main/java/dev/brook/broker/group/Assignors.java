package dev.brook.broker.group;

import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The server-side assignors a broker offers, by name, and the default one. A group uses the
 * assignor most of its members ask for (ties broken by name), the default when none asks.
 */
public final class Assignors {
  private final Map<String, PartitionAssignor> byName = new TreeMap<>();
  private final PartitionAssignor defaultAssignor;
  private final PartitionAssignor fallback = new UniformAssignor();

  /** @param defaultName the name of one of {@code assignors} */
  public Assignors(Collection<PartitionAssignor> assignors, String defaultName) {
    for (PartitionAssignor a : assignors) {
      if (byName.put(a.name(), a) != null) throw new IllegalArgumentException("two assignors are named '" + a.name() + "'");
    }
    defaultAssignor = byName.get(defaultName);
    if (defaultAssignor == null) {
      throw new IllegalArgumentException("the default assignor '" + defaultName + "' is not one of " + byName.keySet());
    }
  }

  /** uniform (the default), range and round-robin. */
  public static Assignors builtIn() {
    return new Assignors(java.util.List.of(new UniformAssignor(), new RangeAssignor(), new RoundRobinAssignor()),
        UniformAssignor.NAME);
  }

  public PartitionAssignor get(String name) {
    return byName.get(name);
  }

  public Set<String> names() {
    return byName.keySet();
  }

  /** The assignor for a group with these members. */
  PartitionAssignor forGroup(Collection<GroupMember> members) {
    Map<String, Integer> votes = new TreeMap<>();
    for (GroupMember m : members) {
      if (m.assignor() != null && byName.containsKey(m.assignor())) votes.merge(m.assignor(), 1, Integer::sum);
    }
    String best = null;
    for (Map.Entry<String, Integer> e : votes.entrySet()) {
      if (best == null || e.getValue() > votes.get(best)) best = e.getKey();
    }
    return best == null ? defaultAssignor : byName.get(best);
  }

  /** Used when an assignor's result breaks the contract (see {@link Assignments#check}). */
  PartitionAssignor fallback() {
    return fallback;
  }
}
