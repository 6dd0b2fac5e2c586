/**
 * The group domain of the quorum: consumer groups' durable state and committed offsets, written
 * by each group's coordinator broker and checked here at the log index where they apply (the
 * writer is the coordinator with its current broker epoch; the group version it decided on is
 * the current one; a committer is a current member with its current epoch).
 * {@link dev.brook.quorum.group.GroupDomain} is its face to the Raft layer,
 * {@link dev.brook.quorum.group.RaftGroupClient} implements the public
 * {@link dev.brook.quorum.GroupStateClient}. It reads the cluster state only through the public
 * {@link dev.brook.quorum.MetadataImage}.
 */
package dev.brook.quorum.group;
