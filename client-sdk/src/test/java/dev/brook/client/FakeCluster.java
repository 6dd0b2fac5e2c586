package dev.brook.client;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.Acks;
import dev.brook.proto.v1.BrokerMetadata;
import dev.brook.proto.v1.Error;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.FetchPartition;
import dev.brook.proto.v1.FetchPartitionResult;
import dev.brook.proto.v1.FetchRequest;
import dev.brook.proto.v1.FetchResponse;
import dev.brook.proto.v1.FetchServiceGrpc;
import dev.brook.proto.v1.FetchTopic;
import dev.brook.proto.v1.FetchTopicResult;
import dev.brook.proto.v1.ListOffsetsPartition;
import dev.brook.proto.v1.ListOffsetsPartitionResult;
import dev.brook.proto.v1.ListOffsetsRequest;
import dev.brook.proto.v1.ListOffsetsResponse;
import dev.brook.proto.v1.ListOffsetsTopic;
import dev.brook.proto.v1.ListOffsetsTopicResult;
import dev.brook.proto.v1.MetadataRequest;
import dev.brook.proto.v1.MetadataResponse;
import dev.brook.proto.v1.MetadataServiceGrpc;
import dev.brook.proto.v1.PartitionMetadata;
import dev.brook.proto.v1.PartitionProduceData;
import dev.brook.proto.v1.PartitionProduceResult;
import dev.brook.proto.v1.ProduceRequest;
import dev.brook.proto.v1.ProduceResponse;
import dev.brook.proto.v1.ProduceServiceGrpc;
import dev.brook.proto.v1.Record;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordBatchList;
import dev.brook.proto.v1.RecordList;
import dev.brook.proto.v1.TopicMetadata;
import dev.brook.proto.v1.TopicProduceData;
import dev.brook.proto.v1.TopicProduceResult;
import dev.brook.protocol.Compression;
import dev.brook.protocol.StoredBatch;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small in-memory cluster for client tests: brokers on in-process gRPC servers (named by
 * their "host:port" address, direct executor) sharing one log per partition. Implements
 * GetMetadata, Produce, Fetch (with a simple long poll) and ListOffsets, plus hooks to inject
 * errors, move leaders and hold produce answers.
 */
final class FakeCluster implements AutoCloseable {
  /** One partition's log: batches with assigned base offsets. Guarded by its monitor. */
  static final class Partition {
    volatile int leader;
    volatile int epoch;
    final List<RecordBatch> log = new ArrayList<>();
    long logStart;
    long logEnd;
    /** Errors to answer the next produce requests with, one per request. */
    final Queue<ErrorCode> produceErrors = new ConcurrentLinkedQueue<>();

    synchronized long append(RecordBatch b) {
      long base = logEnd;
      log.add(b.toBuilder().setBaseOffset(base).setPartitionLeaderEpoch(epoch).build());
      logEnd += b.getRecordCount();
      return base;
    }

    synchronized List<RecordBatch> snapshot() {
      return new ArrayList<>(log);
    }
  }

  final Map<Integer, String> addresses = new ConcurrentHashMap<>();
  final Map<String, List<Partition>> topics = new ConcurrentHashMap<>();
  final Map<Integer, Broker> brokers = new ConcurrentHashMap<>();
  final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  /** Largest batch (records bytes) accepted, as max.message.bytes. */
  volatile int maxBatchBytes = 1 << 20;
  /** Produce answers are held until this many are pending (1: answer at once). */
  volatile int holdProduceAnswers = 1;
  final AtomicInteger notLeaderAnswers = new AtomicInteger();
  final AtomicInteger maxPendingProduce = new AtomicInteger();
  final AtomicInteger produceRequests = new AtomicInteger();
  /** The metadata_version of every metadata answer (lower it to play a broker that lags behind). */
  volatile long metadataVersion = 1;
  private final List<ManagedChannel> channels = new ArrayList<>();

  FakeCluster(int brokerCount) throws IOException {
    for (int id = 1; id <= brokerCount; id++) {
      String address = "broker-" + id + ":9092";
      addresses.put(id, address);
      brokers.put(id, new Broker(id, address));
    }
  }

  void createTopic(String name, int partitions, int leader) {
    List<Partition> ps = new ArrayList<>();
    for (int i = 0; i < partitions; i++) {
      Partition p = new Partition();
      p.leader = leader;
      ps.add(p);
    }
    topics.put(name, ps);
  }

  Partition partition(String topic, int p) {
    return topics.get(topic).get(p);
  }

  void moveLeader(String topic, int p, int newLeader) {
    Partition part = partition(topic, p);
    part.leader = newLeader;
    part.epoch++;
  }

  List<String> bootstrap() {
    return List.of(addresses.get(1));
  }

  ChannelFactory channelFactory() {
    return address -> {
      ManagedChannel c = InProcessChannelBuilder.forName(address).build();
      synchronized (channels) {
        channels.add(c);
      }
      return c;
    };
  }

  /** Decoded records of a partition, for assertions. */
  List<Record> records(String topic, int p) throws IOException {
    List<Record> out = new ArrayList<>();
    for (RecordBatch b : partition(topic, p).snapshot()) {
      out.addAll(RecordList.parseFrom(Compression.decompress(Compression.codecOf(b.getAttributes()), b.getRecords()))
          .getRecordsList());
    }
    return out;
  }

  @Override
  public void close() throws InterruptedException {
    for (Broker b : brokers.values()) b.server.shutdownNow();
    timer.shutdownNow();
    synchronized (channels) {
      channels.forEach(ManagedChannel::shutdownNow);
    }
  }

  private Error notLeader(Partition p) {
    notLeaderAnswers.incrementAndGet();
    return Error.newBuilder().setCode(ErrorCode.NOT_LEADER).setLeaderId(p.leader)
        .setLeaderAddress(addresses.getOrDefault(p.leader, "")).build();
  }

  private static Error error(ErrorCode code) {
    return Error.newBuilder().setCode(code).build();
  }

  final class Broker {
    final int id;
    final Server server;
    private final List<Runnable> waitingFetches = new ArrayList<>();

    Broker(int id, String address) throws IOException {
      this.id = id;
      this.server = InProcessServerBuilder.forName(address).directExecutor()
          .addService(new MetadataService()).addService(new ProduceService()).addService(new FetchService())
          .build().start();
    }

    void wakeFetches() {
      List<Runnable> w;
      synchronized (waitingFetches) {
        w = new ArrayList<>(waitingFetches);
        waitingFetches.clear();
      }
      w.forEach(Runnable::run);
    }

    final class MetadataService extends MetadataServiceGrpc.MetadataServiceImplBase {
      @Override
      public void getMetadata(MetadataRequest req, StreamObserver<MetadataResponse> out) {
        MetadataResponse.Builder resp = MetadataResponse.newBuilder().setClusterId("fake").setMetadataVersion(metadataVersion);
        addresses.forEach((node, addr) -> resp.addBrokers(BrokerMetadata.newBuilder().setNodeId(node).setAddress(addr)));
        List<String> names = req.getTopicsCount() == 0 ? new ArrayList<>(topics.keySet()) : req.getTopicsList();
        for (String name : names) {
          List<Partition> ps = topics.get(name);
          TopicMetadata.Builder tm = TopicMetadata.newBuilder().setName(name);
          if (ps == null) {
            tm.setError(error(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
          } else {
            tm.setTopicId("id-" + name);
            for (int i = 0; i < ps.size(); i++) {
              tm.addPartitions(PartitionMetadata.newBuilder().setPartition(i).setLeaderId(ps.get(i).leader)
                  .setLeaderEpoch(ps.get(i).epoch).addReplicas(ps.get(i).leader).addIsr(ps.get(i).leader));
            }
          }
          resp.addTopics(tm);
        }
        out.onNext(resp.build());
        out.onCompleted();
      }
    }

    final class ProduceService extends ProduceServiceGrpc.ProduceServiceImplBase {
      @Override
      public StreamObserver<ProduceRequest> produce(StreamObserver<ProduceResponse> out) {
        List<ProduceResponse> held = new ArrayList<>();
        return new StreamObserver<>() {
          @Override
          public void onNext(ProduceRequest req) {
            produceRequests.incrementAndGet();
            ProduceResponse.Builder resp = ProduceResponse.newBuilder().setCorrelationId(req.getCorrelationId());
            for (TopicProduceData t : req.getTopicsList()) {
              TopicProduceResult.Builder tr = TopicProduceResult.newBuilder().setTopic(t.getTopic());
              for (PartitionProduceData pd : t.getPartitionsList()) {
                tr.addPartitions(appendPartition(t.getTopic(), pd));
              }
              resp.addTopics(tr);
            }
            wakeFetches();
            if (req.getAcks() == Acks.ACKS_NONE) return;
            synchronized (held) {
              held.add(resp.build());
              maxPendingProduce.accumulateAndGet(held.size(), Math::max);
              if (held.size() >= holdProduceAnswers) flush();
              else timer.schedule(() -> {
                synchronized (held) {
                  flush();
                }
              }, 20, TimeUnit.MILLISECONDS);
            }
          }

          private void flush() {
            for (ProduceResponse r : held) out.onNext(r);
            held.clear();
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {
            synchronized (held) {
              flush();
            }
            out.onCompleted();
          }
        };
      }

      private PartitionProduceResult appendPartition(String topic, PartitionProduceData pd) {
        PartitionProduceResult.Builder r = PartitionProduceResult.newBuilder().setPartition(pd.getPartition())
            .setBaseOffset(-1).setLogStartOffset(-1).setLogAppendTimeMs(-1);
        List<Partition> ps = topics.get(topic);
        if (ps == null || pd.getPartition() >= ps.size()) return r.setError(error(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)).build();
        Partition p = ps.get(pd.getPartition());
        if (p.leader != id) return r.setError(notLeader(p)).build();
        ErrorCode injected = p.produceErrors.poll();
        if (injected != null) return r.setError(error(injected)).build();
        for (RecordBatch b : pd.getBatchesList()) {
          if (b.getRecords().size() > maxBatchBytes) return r.setError(error(ErrorCode.RECORD_TOO_LARGE)).build();
          if (StoredBatch.computeCrc(b) != b.getCrc() || b.getRecordCount() < 1) {
            return r.setError(error(ErrorCode.CORRUPT_RECORD)).build();
          }
        }
        long base = -1;
        for (RecordBatch b : pd.getBatchesList()) {
          long o = p.append(b);
          if (base < 0) base = o;
        }
        return r.setBaseOffset(base).setLogStartOffset(p.logStart).setLogAppendTimeMs(System.currentTimeMillis()).build();
      }
    }

    final class FetchService extends FetchServiceGrpc.FetchServiceImplBase {
      @Override
      public StreamObserver<FetchRequest> fetch(StreamObserver<FetchResponse> out) {
        return new StreamObserver<>() {
          @Override
          public void onNext(FetchRequest req) {
            FetchResponse resp = answer(req);
            if (resp != null || req.getMaxWaitMs() == 0) {
              send(resp != null ? resp : answer(req, true));
              return;
            }
            // Long poll: answer on the next append, or after max_wait_ms.
            Runnable once = new Runnable() {
              boolean done;

              @Override
              public void run() {
                synchronized (this) {
                  if (done) return;
                  done = true;
                }
                send(answer(req, true));
              }
            };
            synchronized (waitingFetches) {
              waitingFetches.add(once);
            }
            timer.schedule(once, req.getMaxWaitMs(), TimeUnit.MILLISECONDS);
          }

          private void send(FetchResponse r) {
            synchronized (out) {
              out.onNext(r);
            }
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {
            synchronized (out) {
              out.onCompleted();
            }
          }
        };
      }

      /** The answer if anything (data or error) is to be returned now, else null. */
      private FetchResponse answer(FetchRequest req) {
        return answer(req, false);
      }

      private FetchResponse answer(FetchRequest req, boolean evenIfEmpty) {
        FetchResponse.Builder resp = FetchResponse.newBuilder().setCorrelationId(req.getCorrelationId());
        boolean any = false;
        for (FetchTopic t : req.getTopicsList()) {
          FetchTopicResult.Builder tr = FetchTopicResult.newBuilder().setTopic(t.getTopic());
          for (FetchPartition fp : t.getPartitionsList()) {
            FetchPartitionResult.Builder r = FetchPartitionResult.newBuilder().setPartition(fp.getPartition());
            List<Partition> ps = topics.get(t.getTopic());
            if (ps == null || fp.getPartition() >= ps.size()) {
              tr.addPartitions(r.setError(error(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)));
              any = true;
              continue;
            }
            Partition p = ps.get(fp.getPartition());
            if (p.leader != id) {
              tr.addPartitions(r.setError(notLeader(p)));
              any = true;
              continue;
            }
            synchronized (p) {
              r.setHighWatermark(p.logEnd).setLogStartOffset(p.logStart).setLastStableOffset(p.logEnd);
              if (fp.getFetchOffset() < p.logStart || fp.getFetchOffset() > p.logEnd) {
                r.setError(error(ErrorCode.OFFSET_OUT_OF_RANGE));
                any = true;
              } else {
                RecordBatchList.Builder list = RecordBatchList.newBuilder();
                int bytes = 0;
                for (RecordBatch b : p.log) {
                  if (b.getBaseOffset() + b.getRecordCount() <= fp.getFetchOffset()) continue;
                  if (list.getBatchesCount() > 0 && bytes + b.getSerializedSize() > fp.getPartitionMaxBytes()) break;
                  list.addBatches(b);
                  bytes += b.getSerializedSize();
                }
                if (list.getBatchesCount() > 0) {
                  ByteString bs = list.build().toByteString();
                  r.setRecords(bs);
                  any = true;
                }
              }
            }
            tr.addPartitions(r);
          }
          resp.addTopics(tr);
        }
        return any || evenIfEmpty ? resp.build() : null;
      }

      @Override
      public void listOffsets(ListOffsetsRequest req, StreamObserver<ListOffsetsResponse> out) {
        ListOffsetsResponse.Builder resp = ListOffsetsResponse.newBuilder();
        for (ListOffsetsTopic t : req.getTopicsList()) {
          ListOffsetsTopicResult.Builder tr = ListOffsetsTopicResult.newBuilder().setTopic(t.getTopic());
          for (ListOffsetsPartition lp : t.getPartitionsList()) {
            ListOffsetsPartitionResult.Builder r = ListOffsetsPartitionResult.newBuilder()
                .setPartition(lp.getPartition()).setOffset(-1).setTimestamp(-1);
            Partition p = topics.get(t.getTopic()).get(lp.getPartition());
            if (p.leader != id) {
              tr.addPartitions(r.setError(notLeader(p)));
              continue;
            }
            synchronized (p) {
              r.setLeaderEpoch(p.epoch);
              if (lp.getTimestamp() == -2) {
                r.setOffset(p.logStart);
              } else if (lp.getTimestamp() == -1) {
                r.setOffset(p.logEnd);
              } else {
                outer:
                for (RecordBatch b : p.log) {
                  try {
                    for (Record rec : RecordList.parseFrom(Compression.decompress(
                        Compression.codecOf(b.getAttributes()), b.getRecords())).getRecordsList()) {
                      long ts = b.getBaseTimestamp() + rec.getTimestampDelta();
                      if (ts >= lp.getTimestamp() && b.getBaseOffset() + rec.getOffsetDelta() >= p.logStart) {
                        r.setOffset(b.getBaseOffset() + rec.getOffsetDelta()).setTimestamp(ts);
                        break outer;
                      }
                    }
                  } catch (IOException e) {
                    throw new IllegalStateException(e);
                  }
                }
              }
            }
            tr.addPartitions(r);
          }
          resp.addTopics(tr);
        }
        out.onNext(resp.build());
        out.onCompleted();
      }
    }
  }
}
