package dev.brook.cli;

import dev.brook.client.Admin;
import dev.brook.client.BrokerNode;
import dev.brook.client.ClusterDescription;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "cluster", description = "Inspect the cluster.", subcommands = {ClusterCommand.Describe.class})
final class ClusterCommand implements Runnable {
  @Spec
  CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: describe");
  }

  @Command(name = "describe", description = {
      "Show the metadata quorum (voters, Raft leader, term, commit index) and the brokers",
      "(id, address, rack, state, broker epoch, time since the last heartbeat)."})
  static final class Describe extends TopicsCommand.AdminCommand {
    @Mixin
    OutputFormat output;

    @Override
    int run(Admin admin, PrintWriter out) {
      ClusterDescription c = admin.describeCluster().join();
      if (output.json()) {
        out.println(OutputFormat.toJson(toJson(c)));
        return 0;
      }
      out.println("ClusterId: " + c.clusterId());
      out.println("Quorum: leader " + (c.quorumLeaderId() < 0 ? "none" : c.quorumLeaderId()) + ", term "
          + c.quorumTerm() + ", commit index " + c.commitIndex() + ", applied index " + c.appliedIndex());
      for (Map.Entry<Integer, String> v : c.quorumVoters().entrySet()) {
        out.println("\tVoter: " + v.getKey() + "\tAddress: " + v.getValue()
            + (v.getKey() == c.quorumLeaderId() ? "\tRole: leader" : "\tRole: follower"));
      }
      out.println("Brokers: " + c.brokers().size());
      for (BrokerNode b : c.brokers()) {
        out.println("\tBroker: " + b.id() + "\tAddress: " + b.address() + "\tRack: "
            + (b.rack() == null || b.rack().isEmpty() ? "-" : b.rack()) + "\tState: " + b.state()
            + "\tBrokerEpoch: " + b.brokerEpoch() + "\tLeaseAge: "
            + (b.lastHeartbeatAgeMs() < 0 ? "-" : b.lastHeartbeatAgeMs() + "ms"));
      }
      return 0;
    }

    private static Map<String, Object> toJson(ClusterDescription c) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("clusterId", c.clusterId());
      Map<String, Object> q = new LinkedHashMap<>();
      List<Map<String, Object>> voters = new ArrayList<>();
      c.quorumVoters().forEach((id, address) -> {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("id", id);
        v.put("address", address);
        voters.add(v);
      });
      q.put("voters", voters);
      q.put("leader", c.quorumLeaderId());
      q.put("term", c.quorumTerm());
      q.put("commitIndex", c.commitIndex());
      q.put("appliedIndex", c.appliedIndex());
      m.put("quorum", q);
      List<Map<String, Object>> brokers = new ArrayList<>();
      for (BrokerNode b : c.brokers()) {
        Map<String, Object> bm = new LinkedHashMap<>();
        bm.put("id", b.id());
        bm.put("address", b.address());
        bm.put("rack", b.rack());
        bm.put("state", b.state());
        bm.put("brokerEpoch", b.brokerEpoch());
        bm.put("leaseAgeMs", b.lastHeartbeatAgeMs());
        brokers.add(bm);
      }
      m.put("brokers", brokers);
      return m;
    }
  }
}
