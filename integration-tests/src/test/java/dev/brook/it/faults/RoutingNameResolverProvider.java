package dev.brook.it.faults;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;

/**
 * The {@code dns} name resolver of a fault run's node processes (grpc-java, used by the broker's
 * replica fetchers and clients): resolves {@code host:port} like DNS, but through {@link Routes}.
 * Registered only by the service file under {@code faults-resolver/} that a fault run puts on its
 * nodes' class path.
 */
public final class RoutingNameResolverProvider extends NameResolverProvider {
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
