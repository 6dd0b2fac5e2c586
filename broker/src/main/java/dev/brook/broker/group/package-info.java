/**
 * Consumer groups on the broker (issue 9; design in docs/architecture.md, "Consumer groups").
 *
 * <p>This package holds the coordinator's pure logic, testable without sockets or a quorum: so
 * far the server-side assignors ({@link dev.brook.broker.group.PartitionAssignor}: {@code
 * uniform}, the sticky default; {@code range}; {@code round-robin}) and the check of their
 * contract ({@link dev.brook.broker.group.Assignments#check}), which the coordinator applies to
 * every result so that a pluggable assignor can never give a partition to two members or to
 * none; and the membership state machine {@link dev.brook.broker.group.ConsumerGroup} (member
 * and group epochs, fencing, revoke-before-assign, session and rebalance timeouts, static
 * members), whose every decision is a list of {@link dev.brook.broker.group.GroupChange}s that
 * the coordinator makes durable and a new coordinator replays; and {@link
 * dev.brook.broker.group.GroupCoordinator}, which serializes each group's calls, answers what
 * changes nothing from memory and the rest once it is durable in a {@link
 * dev.brook.broker.group.GroupStore}, and pushes new assignments; {@link
 * dev.brook.broker.group.QuorumGroupStore}, the store over the metadata quorum's group domain
 * (encoding in group_state.proto via {@link dev.brook.broker.group.GroupStateCodec}; offset
 * commits of many groups batched into one write). Still to come: timers, the gRPC service, the
 * SDK's subscribe/poll/commit and the CLI.
 */
package dev.brook.broker.group;
