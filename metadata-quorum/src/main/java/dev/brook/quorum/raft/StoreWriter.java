package dev.brook.quorum.raft;


/**
 * The changes of one applied entry to a domain's column families, collected into the entry's
 * write batch; nothing is visible until the state machine writes the batch (with the
 * applied index). Handed to {@link QuorumDomain#apply}; only the families the domain owns can be
 * written through it (another one is a programming error: IllegalArgumentException).
 * {@link #get} reads the database as of the previous entry, not this batch.
 */
public interface StoreWriter extends StoreReader {
  void put(String family, byte[] key, byte[] value);

  void delete(String family, byte[] key);

  /** Deletes the keys in [{@code from}, {@code to}). */
  void deleteRange(String family, byte[] from, byte[] to);
}
