package dev.brook.client.serialization;

/** A key or value could not be (de)serialized. */
public class SerializationException extends RuntimeException {
  public SerializationException(String message, Throwable cause) {
    super(message, cause);
  }

  public SerializationException(String message) {
    super(message);
  }
}
