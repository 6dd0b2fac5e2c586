package dev.brook.protocol;

/** The rule for topic names, shared by the broker (which enforces it) and clients (which fail fast). */
public final class TopicNames {
  /** Longest allowed topic name, as in Kafka. */
  public static final int MAX_LENGTH = 249;

  private TopicNames() {}

  /** Returns null when {@code name} is a valid topic name, otherwise why it is not. */
  public static String invalidReason(String name) {
    if (name == null || name.isEmpty()) return "topic name is empty";
    if (name.length() > MAX_LENGTH) {
      return "topic name is " + name.length() + " characters long, the maximum is " + MAX_LENGTH;
    }
    if (name.equals(".") || name.equals("..")) return "topic name cannot be '.' or '..'";
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '.' || c == '_' || c == '-';
      if (!ok) {
        return "topic name '" + name + "' contains '" + c + "': only letters, digits, '.', '_' and '-' are allowed";
      }
    }
    return null;
  }
}
