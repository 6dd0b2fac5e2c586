package dev.brook.broker.service;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/** Puts the caller's address ("/host") in the call's context, for what describes clients (groups). */
public final class ClientAddress implements ServerInterceptor {
  private static final Context.Key<String> KEY = Context.key("brook-client-address");

  /** The current call's client address as "/ip", or "" outside a call or for an in-process one. */
  static String current() {
    String a = KEY.get();
    return a == null ? "" : a;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
      ServerCallHandler<ReqT, RespT> next) {
    SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    String address = remote instanceof InetSocketAddress i ? "/" + i.getAddress().getHostAddress() : "";
    return Contexts.interceptCall(Context.current().withValue(KEY, address), call, headers, next);
  }
}
