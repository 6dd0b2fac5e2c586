package dev.brook.quorum.raft;

import java.io.IOException;

/**
 * Read access to a domain's column families of the quorum's database, as last written (a write
 * batch being built is not visible). Handed to {@link QuorumDomain#load}; only the families the
 * domain owns can be read through it.
 */
public interface StoreReader {
  /** A visitor of one family's entries, in key order; may fail on a record it cannot read. */
  @FunctionalInterface
  interface EntryVisitor {
    void visit(byte[] key, byte[] value) throws IOException;
  }

  /** The value of {@code key} in {@code family}, or null. */
  byte[] get(String family, byte[] key) throws IOException;

  /** Visits every entry of {@code family} in key order. */
  void forEach(String family, EntryVisitor visitor) throws IOException;
}
