/**
 * Consumer groups on the broker (issue 9; design in docs/architecture.md, "Consumer groups").
 *
 * <p>This package holds the coordinator's pure logic, testable without sockets or a quorum: so
 * far the server-side assignors ({@link dev.brook.broker.group.PartitionAssignor}: {@code
 * uniform}, the sticky default; {@code range}; {@code round-robin}) and the check of their
 * contract ({@link dev.brook.broker.group.Assignments#check}), which the coordinator applies to
 * every result so that a pluggable assignor can never give a partition to two members or to
 * none. The membership state machine (member and group epochs, revoke-before-assign) and the
 * coordinator's I/O follow.
 */
package dev.brook.broker.group;
