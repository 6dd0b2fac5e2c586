package dev.brook.client.serialization;

/** Turns bytes back into a key or value. Null data (no key, tombstone) should give null. */
@FunctionalInterface
public interface Deserializer<T> {
  T deserialize(String topic, byte[] data);
}
