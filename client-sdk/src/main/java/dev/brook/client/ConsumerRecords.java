package dev.brook.client;

import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The records one {@link Consumer#poll} returned, grouped by partition, in offset order within each. */
public final class ConsumerRecords<K, V> implements Iterable<ConsumerRecord<K, V>> {
  private static final ConsumerRecords<?, ?> EMPTY = new ConsumerRecords<>(Map.of(), 0);

  private final Map<TopicPartition, List<ConsumerRecord<K, V>>> records;
  private final int count;

  ConsumerRecords(Map<TopicPartition, List<ConsumerRecord<K, V>>> records, int count) {
    this.records = records;
    this.count = count;
  }

  @SuppressWarnings("unchecked")
  public static <K, V> ConsumerRecords<K, V> empty() {
    return (ConsumerRecords<K, V>) EMPTY;
  }

  public int count() {
    return count;
  }

  public boolean isEmpty() {
    return count == 0;
  }

  /** The records of one partition, empty when none. */
  public List<ConsumerRecord<K, V>> records(TopicPartition tp) {
    List<ConsumerRecord<K, V>> l = records.get(tp);
    return l == null ? List.of() : Collections.unmodifiableList(l);
  }

  /** The partitions that have records in this result. */
  public Set<TopicPartition> partitions() {
    return Collections.unmodifiableSet(records.keySet());
  }

  @Override
  public Iterator<ConsumerRecord<K, V>> iterator() {
    return new Iterator<>() {
      private final Iterator<List<ConsumerRecord<K, V>>> lists = records.values().iterator();
      private Iterator<ConsumerRecord<K, V>> current = Collections.emptyIterator();

      @Override
      public boolean hasNext() {
        while (!current.hasNext() && lists.hasNext()) current = lists.next().iterator();
        return current.hasNext();
      }

      @Override
      public ConsumerRecord<K, V> next() {
        if (!hasNext()) throw new java.util.NoSuchElementException();
        return current.next();
      }
    };
  }

  static <K, V> Map<TopicPartition, List<ConsumerRecord<K, V>>> newMap() {
    return new LinkedHashMap<>();
  }
}
