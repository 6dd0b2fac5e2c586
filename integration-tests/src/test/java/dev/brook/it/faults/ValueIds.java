package dev.brook.it.faults;

/**
 * Record values of the fault runs: {@code p<producer>-<seq>} padded to a fixed size, unique over
 * a run, and their compact {@code long} id ({@code (producer + 1) << 40 | seq}; 0 means "none").
 */
public final class ValueIds {
  private static final long SEQ_MASK = (1L << 40) - 1;

  private ValueIds() {}

  public static long of(int producer, long seq) {
    return ((long) (producer + 1) << 40) | (seq & SEQ_MASK);
  }

  public static int producer(long id) {
    return (int) (id >>> 40) - 1;
  }

  public static long seq(long id) {
    return id & SEQ_MASK;
  }

  public static String value(int producer, long seq, int size) {
    StringBuilder sb = new StringBuilder(Math.max(size, 16)).append('p').append(producer).append('-').append(seq).append(';');
    while (sb.length() < size) sb.append('.');
    return sb.toString();
  }

  /** The id of a value written by {@link #value}, or -1 if it is not one. */
  public static long parse(String value) {
    if (value == null || value.length() < 4 || value.charAt(0) != 'p') return -1;
    int dash = value.indexOf('-');
    int end = value.indexOf(';');
    if (dash < 2 || end < dash + 2) return -1;
    try {
      return of(Integer.parseInt(value, 1, dash, 10), Long.parseLong(value, dash + 1, end, 10));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  public static String describe(long id) {
    return id == 0 ? "nothing" : "p" + producer(id) + "-" + seq(id);
  }
}
