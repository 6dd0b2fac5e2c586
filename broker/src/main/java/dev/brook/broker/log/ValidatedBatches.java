package dev.brook.broker.log;

import dev.brook.proto.v1.RecordBatch;
import java.util.List;

/**
 * The batches of one produce request after {@link PartitionLog#validate} accepted them: only this
 * type can be appended as leader, so no batch reaches a log unchecked. Immutable.
 */
public final class ValidatedBatches {
  private final List<RecordBatch> batches;

  ValidatedBatches(List<RecordBatch> batches) {
    this.batches = List.copyOf(batches);
  }

  List<RecordBatch> batches() {
    return batches;
  }

  /** How many batches. */
  public int size() {
    return batches.size();
  }
}
