package dev.brook.it.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The metadata quorum's public face stays small (docs/architecture.md, "Domains"): no code
 * outside {@code dev.brook.quorum} and its subpackages uses the Raft layer, a domain's
 * internals or the internal protobuf classes, and the Raft layer knows no domain.
 */
@Timeout(120)
class QuorumPublicFaceTest {
  private static final String[] INTERNAL = {
      "dev.brook.quorum.raft..", "dev.brook.quorum.cluster..", "dev.brook.quorum.group..", "dev.brook.quorum.proto.."};
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    // Every Brook module is on this module's test class path (as jars or class directories).
    classes = new ClassFileImporter().importPackages("dev.brook");
  }

  @Test
  void theImportSeesEveryModule() {
    // Guards against a rule that passes because it looked at nothing.
    assertThat(classes.contain("dev.brook.quorum.raft.QuorumStateMachine")).isTrue();
    assertThat(classes.contain("dev.brook.quorum.cluster.ClusterDomain")).isTrue();
    assertThat(classes.contain("dev.brook.quorum.group.GroupDomain")).isTrue();
    assertThat(classes.contain("dev.brook.broker.replica.ReplicaManager")).isTrue();
    assertThat(classes.contain("dev.brook.client.Consumer")).isTrue();
    assertThat(classes.contain("dev.brook.cli.BrookCli")).isTrue();
  }

  @Test
  void nothingOutsideTheQuorumUsesItsInternals() {
    noClasses().that().resideOutsideOfPackage("dev.brook.quorum..")
        .should().dependOnClassesThat().resideInAnyPackage(INTERNAL)
        .because("other modules use the quorum through dev.brook.quorum only (MetadataQuorum, MetadataClient, images)")
        .check(classes);
  }

  @Test
  void theRaftLayerKnowsNoDomain() {
    noClasses().that().resideInAPackage("dev.brook.quorum.raft..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.brook.quorum.cluster..", "dev.brook.quorum.group..")
        .because("domains plug into the Raft layer through QuorumDomain, never the other way round")
        .check(classes);
  }

  @Test
  void domainsDoNotReachIntoEachOther() {
    noClasses().that().resideInAPackage("dev.brook.quorum.group..")
        .should().dependOnClassesThat().resideInAPackage("dev.brook.quorum.cluster..")
        .because("a domain reads another's state through the public images only")
        .check(classes);
    noClasses().that().resideInAPackage("dev.brook.quorum.cluster..")
        .should().dependOnClassesThat().resideInAPackage("dev.brook.quorum.group..")
        .because("domains are wired together where the quorum is assembled (MetadataQuorum), nowhere else")
        .check(classes);
  }
}
