package dev.brook.client;

import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** The outcome of {@link Admin#deleteTopics}: one future per topic (each fails on its own). */
public final class DeleteTopicsResult {
  private final Map<String, CompletableFuture<Void>> values;

  DeleteTopicsResult(Map<String, CompletableFuture<Void>> values) {
    this.values = Map.copyOf(values);
  }

  /** Topic name to its future; a failure is a {@link BrookException} with the wire code. */
  public Map<String, CompletableFuture<Void>> values() {
    return values;
  }

  /** Completes when every topic was deleted; fails with the first failure. */
  public CompletableFuture<Void> all() {
    return CompletableFuture.allOf(values.values().toArray(new CompletableFuture<?>[0]));
  }
}
