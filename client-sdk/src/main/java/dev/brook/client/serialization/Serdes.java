package dev.brook.client.serialization;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** The built-in serializers; every one maps null to null. All are stateless and thread-safe. */
public final class Serdes {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Serdes() {}

  /** UTF-8. */
  public static Serializer<String> stringSerializer() {
    return (topic, data) -> data == null ? null : data.getBytes(StandardCharsets.UTF_8);
  }

  public static Deserializer<String> stringDeserializer() {
    return (topic, data) -> data == null ? null : new String(data, StandardCharsets.UTF_8);
  }

  /** The bytes as given, not copied. */
  public static Serializer<byte[]> bytesSerializer() {
    return (topic, data) -> data;
  }

  public static Deserializer<byte[]> bytesDeserializer() {
    return (topic, data) -> data;
  }

  /** 8 bytes big-endian, like Kafka's LongSerializer. */
  public static Serializer<Long> longSerializer() {
    return (topic, data) -> {
      if (data == null) return null;
      long v = data;
      byte[] out = new byte[8];
      for (int i = 7; i >= 0; i--) {
        out[i] = (byte) v;
        v >>>= 8;
      }
      return out;
    };
  }

  public static Deserializer<Long> longDeserializer() {
    return (topic, data) -> {
      if (data == null) return null;
      if (data.length != 8) {
        throw new SerializationException("a long must be 8 bytes, got " + data.length);
      }
      long v = 0;
      for (byte b : data) {
        v = (v << 8) | (b & 0xff);
      }
      return v;
    };
  }

  /** JSON via Jackson. */
  public static <T> Serializer<T> jsonSerializer() {
    return (topic, data) -> {
      if (data == null) return null;
      try {
        return MAPPER.writeValueAsBytes(data);
      } catch (IOException e) {
        throw new SerializationException("cannot write JSON for topic " + topic, e);
      }
    };
  }

  /** JSON via Jackson into {@code type}. */
  public static <T> Deserializer<T> jsonDeserializer(Class<T> type) {
    return (topic, data) -> {
      if (data == null) return null;
      try {
        return MAPPER.readValue(data, type);
      } catch (IOException e) {
        throw new SerializationException("cannot read JSON as " + type.getSimpleName() + " from topic " + topic, e);
      }
    };
  }

  /** A serializer/deserializer pair. */
  public record Serde<T>(Serializer<T> serializer, Deserializer<T> deserializer) {}

  /** JSON serializer and deserializer for {@code type}. */
  public static <T> Serde<T> json(Class<T> type) {
    return new Serde<>(jsonSerializer(), jsonDeserializer(type));
  }
}
