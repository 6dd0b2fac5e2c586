package dev.brook.client;

import java.util.List;

/**
 * A record to send. {@code partition} null lets the {@link Partitioner} choose; {@code timestamp}
 * null means "now" at send time; {@code headers} null means none.
 */
public record ProducerRecord<K, V>(String topic, Integer partition, Long timestamp, K key, V value,
    List<Header> headers) {
  public ProducerRecord {
    if (topic == null) throw new IllegalArgumentException("topic must not be null");
    if (partition != null && partition < 0) {
      throw new IllegalArgumentException("invalid partition " + partition);
    }
    if (timestamp != null && timestamp < 0) {
      throw new IllegalArgumentException("invalid timestamp " + timestamp);
    }
    headers = headers == null ? List.of() : headers;
  }

  public ProducerRecord(String topic, V value) {
    this(topic, null, null, null, value, null);
  }

  public ProducerRecord(String topic, K key, V value) {
    this(topic, null, null, key, value, null);
  }

  public ProducerRecord(String topic, Integer partition, K key, V value) {
    this(topic, partition, null, key, value, null);
  }
}
