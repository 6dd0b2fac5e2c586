package dev.brook.it.faults;

import org.apache.ratis.thirdparty.io.grpc.Attributes;
import org.apache.ratis.thirdparty.io.grpc.EquivalentAddressGroup;
import org.apache.ratis.thirdparty.io.grpc.NameResolver;
import org.apache.ratis.thirdparty.io.grpc.NameResolverProvider;
import org.apache.ratis.thirdparty.io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;

/**
 * {@link RoutingNameResolverProvider} for the gRPC that Apache Ratis shades (its peer and client
 * channels): the same routing through {@link Routes}.
 */
public final class RatisRoutingNameResolverProvider extends NameResolverProvider {
  @Override
  protected boolean isAvailable() {
    return true;
  }

  @Override
  protected int priority() {
    return 9; // above grpc's DnsNameResolverProvider (5)
  }

  @Override
  public String getDefaultScheme() {
    return "dns";
  }

  @Override
  public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    if (!"dns".equals(targetUri.getScheme())) return null;
    String authority = Routes.authority(targetUri);
    return new NameResolver() {
      private Listener2 listener;

      @Override
      public String getServiceAuthority() {
        return authority;
      }

      @Override
      public void start(Listener2 l) {
        listener = l;
        refresh();
      }

      @Override
      public void refresh() {
        try {
          InetSocketAddress a = Routes.resolve(authority);
          listener.onResult(ResolutionResult.newBuilder()
              .setAddresses(List.of(new EquivalentAddressGroup(a))).setAttributes(Attributes.EMPTY).build());
        } catch (Exception e) {
          listener.onError(Status.UNAVAILABLE.withDescription("cannot resolve " + authority + ": " + e).withCause(e));
        }
      }

      @Override
      public void shutdown() {}
    };
  }
}
