package dev.brook.client;

/**
 * Where an acknowledged record was written. {@code offset} is -1 with acks=0 (the broker does
 * not answer); {@code timestamp} is the record's timestamp (producer clock, CreateTime).
 */
public record RecordMetadata(String topic, int partition, long offset, long timestamp) {}
