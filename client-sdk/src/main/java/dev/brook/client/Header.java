package dev.brook.client;

/**
 * A record header: an application-defined key/value pair. Keys may repeat; the value may be
 * null or empty. The array is handed over, not copied: do not modify it after sending.
 */
public record Header(String key, byte[] value) {
  public Header {
    if (key == null) throw new IllegalArgumentException("header key must not be null");
  }
}
