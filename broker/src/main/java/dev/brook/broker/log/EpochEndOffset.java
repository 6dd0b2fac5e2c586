package dev.brook.broker.log;

/**
 * Where a leader epoch ended in a log: {@code epoch} is the largest epoch of the history that is
 * at most the one asked about, {@code endOffset} the first offset not written in it (the start
 * offset of the next epoch, or the log end offset when it is the latest epoch). {@link #UNDEFINED}
 * (-1, -1) when the history is empty.
 */
public record EpochEndOffset(int epoch, long endOffset) {
  public static final EpochEndOffset UNDEFINED = new EpochEndOffset(-1, -1);
}
