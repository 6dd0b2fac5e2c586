package dev.brook.client.serialization;

/** Turns a key or value into bytes. Must be thread-safe; null data should give null. */
@FunctionalInterface
public interface Serializer<T> {
  byte[] serialize(String topic, T data);
}
