package dev.brook.broker.service;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers a request message that is not valid protobuf with INVALID_ARGUMENT and a description
 * of what is wrong, as errors.proto promises.
 *
 * <p>Left alone, grpc-java parses requests before the application sees them and turns a parse
 * failure into UNKNOWN ("Application error processing RPC") plus a stack trace in the server log.
 * This wrapper gives every method of a service a pass-through request marshaller and parses in
 * the call listener instead, with the method's own marshaller (the same code grpc would run, so
 * nothing changes for valid messages). A message that fails to parse closes that one call with
 * INVALID_ARGUMENT (a stream cannot continue past a message it could not read) and tells the
 * application the call was cancelled; other calls, and other streams of the same connection, go
 * on. The service and method descriptors keep their schema, so server reflection still lists
 * them.
 */
public final class MalformedRequestGuard {
  private static final Logger LOG = LoggerFactory.getLogger(MalformedRequestGuard.class);

  private MalformedRequestGuard() {}

  /** The same service, with malformed requests answered INVALID_ARGUMENT. */
  public static ServerServiceDefinition guard(ServerServiceDefinition service) {
    ServiceDescriptor original = service.getServiceDescriptor();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
        .setSchemaDescriptor(original.getSchemaDescriptor());
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
      ServerMethodDefinition<?, ?> wrapped = wrap(method);
      descriptor.addMethod(wrapped.getMethodDescriptor());
      methods.add(wrapped);
    }
    ServerServiceDefinition.Builder guarded = ServerServiceDefinition.builder(descriptor.build());
    for (ServerMethodDefinition<?, ?> m : methods) guarded.addMethod(m);
    return guarded.build();
  }

  private static <ReqT, RespT> ServerMethodDefinition<InputStream, RespT> wrap(ServerMethodDefinition<ReqT, RespT> def) {
    MethodDescriptor<ReqT, RespT> method = def.getMethodDescriptor();
    MethodDescriptor<InputStream, RespT> raw = method.toBuilder(PassThrough.INSTANCE, method.getResponseMarshaller()).build();
    ServerCallHandler<InputStream, RespT> handler = (call, headers) -> {
      TypedCall<ReqT, RespT> typed = new TypedCall<>(call, method);
      ServerCall.Listener<ReqT> listener = def.getServerCallHandler().startCall(typed, headers);
      return new ParsingListener<>(typed, method, listener);
    };
    return ServerMethodDefinition.create(raw, handler);
  }

  /** Parses each message with the method's marshaller; a failure ends the call. */
  private static final class ParsingListener<ReqT, RespT> extends ServerCall.Listener<InputStream> {
    private final TypedCall<ReqT, RespT> call;
    private final MethodDescriptor<ReqT, RespT> method;
    private final ServerCall.Listener<ReqT> delegate;
    // gRPC calls a listener serially, so no lock is needed.
    private boolean failed;

    ParsingListener(TypedCall<ReqT, RespT> call, MethodDescriptor<ReqT, RespT> method,
        ServerCall.Listener<ReqT> delegate) {
      this.call = call;
      this.method = method;
      this.delegate = delegate;
    }

    @Override
    public void onMessage(InputStream message) {
      if (failed) return;
      ReqT request;
      try {
        request = method.parseRequest(message);
      } catch (RuntimeException e) {
        failed = true;
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        String description = "malformed " + method.getFullMethodName() + " request: " + cause.getMessage();
        LOG.debug("{} from {}", description, call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
        call.close(Status.INVALID_ARGUMENT.withDescription(description), new Metadata());
        delegate.onCancel();
        return;
      }
      delegate.onMessage(request);
    }

    @Override
    public void onHalfClose() {
      if (!failed) delegate.onHalfClose();
    }

    @Override
    public void onCancel() {
      if (!failed) delegate.onCancel();
    }

    @Override
    public void onComplete() {
      if (!failed) delegate.onComplete();
    }

    @Override
    public void onReady() {
      if (!failed) delegate.onReady();
    }
  }

  /**
   * The call as the application sees it: typed requests, everything else forwarded. Sending and
   * closing are serialized, because this guard may close the call (on the gRPC thread) while an
   * application thread is answering on it; once closed, further messages are dropped.
   */
  private static final class TypedCall<ReqT, RespT> extends ServerCall<ReqT, RespT> {
    private final ServerCall<InputStream, RespT> call;
    private final MethodDescriptor<ReqT, RespT> method;
    private boolean closed; // guarded by this

    TypedCall(ServerCall<InputStream, RespT> call, MethodDescriptor<ReqT, RespT> method) {
      this.call = call;
      this.method = method;
    }

    @Override public void request(int numMessages) { call.request(numMessages); }
    @Override public synchronized void sendHeaders(Metadata headers) {
      if (!closed) call.sendHeaders(headers);
    }
    @Override public synchronized void sendMessage(RespT message) {
      if (!closed) call.sendMessage(message);
    }
    @Override public boolean isReady() { return call.isReady(); }
    @Override public synchronized void close(Status status, Metadata trailers) {
      if (closed) return;
      closed = true;
      call.close(status, trailers);
    }
    @Override public boolean isCancelled() { return call.isCancelled(); }
    @Override public void setMessageCompression(boolean enabled) { call.setMessageCompression(enabled); }
    @Override public void setCompression(String compressor) { call.setCompression(compressor); }
    @Override public void setOnReadyThreshold(int numBytes) { call.setOnReadyThreshold(numBytes); }
    @Override public SecurityLevel getSecurityLevel() { return call.getSecurityLevel(); }
    @Override public Attributes getAttributes() { return call.getAttributes(); }
    @Override public String getAuthority() { return call.getAuthority(); }
    @Override public MethodDescriptor<ReqT, RespT> getMethodDescriptor() { return method; }
  }

  /** Hands the raw message stream to the listener, which parses it. */
  private enum PassThrough implements MethodDescriptor.Marshaller<InputStream> {
    INSTANCE;

    @Override
    public InputStream stream(InputStream value) {
      return value;
    }

    @Override
    public InputStream parse(InputStream stream) {
      return stream;
    }
  }
}
