package dev.brook.it.faults;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one {@link Checker} found: named counts (printed in the summary line, in order), which of
 * them are violations when non-zero, extra summary fields, and a few examples for the report.
 */
public final class CheckResult {
  public static final int MAX_EXAMPLES = 20;

  final Map<String, Long> counts = new LinkedHashMap<>();
  final Set<String> mustBeZero = new LinkedHashSet<>();
  final Map<String, String> fields = new LinkedHashMap<>();
  final List<String> examples = new ArrayList<>();

  /** A count that is only reported. */
  public CheckResult count(String name, long value) {
    counts.merge(name, value, Long::sum);
    return this;
  }

  /** A count that makes the run fail when non-zero. */
  public CheckResult violationCount(String name, long value) {
    mustBeZero.add(name);
    return count(name, value);
  }

  public CheckResult field(String name, String value) {
    fields.put(name, value);
    return this;
  }

  public CheckResult example(String e) {
    if (examples.size() < MAX_EXAMPLES) examples.add(e);
    return this;
  }

  public long get(String name) {
    return counts.getOrDefault(name, 0L);
  }

  public boolean violated() {
    return mustBeZero.stream().anyMatch(n -> get(n) != 0);
  }

  public List<String> violations() {
    return mustBeZero.stream().filter(n -> get(n) != 0).map(n -> n + "=" + get(n)).toList();
  }

  public Map<String, Long> counts() {
    return counts;
  }

  public Map<String, String> fields() {
    return fields;
  }

  public List<String> examples() {
    return examples;
  }

  /** Merges {@code other} into this (counts add up, examples up to the limit). */
  public CheckResult merge(CheckResult other) {
    other.counts.forEach(this::count);
    mustBeZero.addAll(other.mustBeZero);
    fields.putAll(other.fields);
    other.examples.forEach(this::example);
    return this;
  }
}
