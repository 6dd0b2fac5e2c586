package dev.brook.client;

import dev.brook.client.serialization.Serializer;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.protocol.TopicNames;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Publishes records to topics, like Kafka's KafkaProducer.
 *
 * <p>{@link #send} serializes, picks the partition, and appends the record to that partition's
 * open batch; it blocks only to learn a topic's metadata the first time or when buffer memory
 * is used up (both up to maxBlockMs). One background sender thread ships batches, one
 * ProduceRequest per broker at a time over a single long-lived gRPC stream per broker, up to
 * maxInFlightRequests unanswered. Futures complete on gRPC callback threads (acks=0: on a
 * callback thread of the producer), in order per partition; dependent actions should be quick.
 *
 * <p>Retriable errors are retried (after retryBackoffMs, within deliveryTimeoutMs). With
 * maxInFlightRequests > 1, a retry can reorder records of one partition, as in Kafka without
 * idempotence; set maxInFlightRequests to 1 where strict order under failures matters (then a
 * partition has at most one batch in flight, even while its leader moves between brokers).
 *
 * <p>Thread-safe: share one producer between threads.
 */
public final class Producer<K, V> implements AutoCloseable {
  /** Batch header and request framing on top of a record's own bytes, for the size check. */
  private static final int REQUEST_OVERHEAD = 256;

  private final ProducerConfig config;
  private final Serializer<K> keySerializer;
  private final Serializer<V> valueSerializer;
  private final Partitioner partitioner;
  private final ChannelPool channels;
  private final Metadata metadata;
  private final RecordAccumulator accumulator;
  private final Sender sender;
  private final Thread senderThread;
  private final ExecutorService callbackExecutor;
  private final AtomicBoolean closed = new AtomicBoolean();

  public Producer(ProducerConfig config, Serializer<K> keySerializer, Serializer<V> valueSerializer) {
    this.config = config;
    this.keySerializer = keySerializer;
    this.valueSerializer = valueSerializer;
    this.partitioner = config.partitioner();
    this.channels = new ChannelPool(config.channelFactory(), 1 << 20,
        Math.max(4 << 20, config.maxRequestSize() + (1 << 20)));
    this.metadata = new Metadata(config.bootstrapServers(), channels, config.requestTimeoutMs(), config.retryBackoffMs(), true);
    metadata.startWatch();
    this.callbackExecutor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "brook-producer-callbacks-" + config.clientId());
      t.setDaemon(true);
      return t;
    });
    BufferPool pool = new BufferPool(config.bufferMemory(), config.batchSize());
    Sender[] holder = new Sender[1];
    this.accumulator = new RecordAccumulator(config.batchSize(), config.lingerMs(), config.deliveryTimeoutMs(),
        config.compression(), pool, () -> holder[0].wakeup(), config.maxInFlightRequests() == 1);
    this.sender = new Sender(config, accumulator, metadata, channels, callbackExecutor);
    holder[0] = sender;
    this.senderThread = new Thread(sender, "brook-producer-sender-" + config.clientId());
    senderThread.setDaemon(true);
    senderThread.start();
  }

  /**
   * Sends a record asynchronously. The future completes with where it was written, or fails
   * with a {@link BrookException} (e.g. RECORD_TOO_LARGE, INVALID_TOPIC, REQUEST_TIMED_OUT after
   * deliveryTimeoutMs) or a serialization exception.
   *
   * @throws IllegalStateException after close
   */
  public CompletableFuture<RecordMetadata> send(ProducerRecord<K, V> record) {
    if (closed.get()) throw new IllegalStateException("cannot send after the producer is closed");
    try {
      return doSend(record);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CompletableFuture.failedFuture(new BrookException(ErrorCode.REQUEST_TIMED_OUT, "interrupted in send", e));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private CompletableFuture<RecordMetadata> doSend(ProducerRecord<K, V> record) throws InterruptedException {
    String topic = record.topic();
    long start = System.currentTimeMillis();
    Metadata.Topic t = metadata.cached(topic);
    if (t == null) {
      String invalid = TopicNames.invalidReason(topic);
      if (invalid != null) throw new BrookException(ErrorCode.INVALID_TOPIC, invalid);
      t = metadata.awaitTopic(topic, config.maxBlockMs(), true, true);
    }
    int numPartitions = t.partitions().size();
    byte[] key = keySerializer.serialize(topic, record.key());
    byte[] value = valueSerializer.serialize(topic, record.value());
    long timestamp = record.timestamp() != null ? record.timestamp() : start;
    int size = ProducerBatch.recordSize(0, 0, key, value, record.headers()) + topic.length() + REQUEST_OVERHEAD;
    if (size > config.maxRequestSize()) {
      throw new BrookException(ErrorCode.RECORD_TOO_LARGE, "the record is " + size
          + " bytes when serialized, larger than maxRequestSize (" + config.maxRequestSize() + ")");
    }
    long remainingBlockMs = Math.max(0, config.maxBlockMs() - (System.currentTimeMillis() - start));
    Integer explicit = record.partition();
    if (explicit != null) {
      if (explicit >= numPartitions) {
        throw new BrookException(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            "partition " + explicit + " of '" + topic + "' does not exist (it has " + numPartitions + ")");
      }
      return accumulator.append(new TopicPartition(topic, explicit), timestamp, key, value, record.headers(),
          remainingBlockMs, false, start);
    }
    int partition = partitioner.partition(topic, record.key(), key, numPartitions);
    CompletableFuture<RecordMetadata> f = accumulator.append(new TopicPartition(topic, partition), timestamp,
        key, value, record.headers(), remainingBlockMs, true, start);
    if (f != null) return f;
    // The partition's batch is full: a sticky partitioner moves on before we open a new batch.
    partitioner.onNewBatch(topic, partition);
    partition = partitioner.partition(topic, record.key(), key, numPartitions);
    return accumulator.append(new TopicPartition(topic, partition), timestamp, key, value, record.headers(),
        remainingBlockMs, false, start);
  }

  /** The topic's partitions, from metadata (fetched if not known, up to maxBlockMs). */
  public List<PartitionInfo> partitionsFor(String topic) {
    return metadata.awaitTopic(topic, config.maxBlockMs(), false, true).partitions();
  }

  /**
   * The topic's partitions, waiting at most {@code timeout} for a broker to answer; for a check
   * before sending (the CLI's). Unlike {@link #partitionsFor(String)}, which waits up to
   * maxBlockMs for the topic to appear, this fails at once with UNKNOWN_TOPIC_OR_PARTITION when
   * a broker answers that the topic does not exist although the request allowed creating it
   * (the cluster has auto.create.topics.enable=false), and with a transport
   * {@link BrookException} ("cannot reach any bootstrap server (...): connection refused") as
   * soon as every address refuses the connection, or when no broker answered within the timeout
   * (a broker that is starting or slow is waited for).
   */
  public List<PartitionInfo> partitionsFor(String topic, Duration timeout) {
    if (closed.get()) throw new IllegalStateException("the producer is closed");
    String invalid = TopicNames.invalidReason(topic);
    if (invalid != null) throw new BrookException(ErrorCode.INVALID_TOPIC, invalid);
    return metadata.awaitTopic(topic, Math.max(1, timeout.toMillis()), false, false, true).partitions();
  }

  /**
   * Makes every buffered record sendable at once and waits until every record sent before this
   * call has completed (successfully or not).
   */
  public void flush() {
    accumulator.beginFlush();
    try {
      for (ProducerBatch b : accumulator.incompleteBatches()) {
        b.done.join();
      }
    } finally {
      accumulator.endFlush();
    }
  }

  /** Flushes and closes, waiting as long as it takes. */
  @Override
  public void close() {
    close(Duration.ofMillis(Long.MAX_VALUE));
  }

  /**
   * Stops accepting records, sends what is buffered and waits up to {@code timeout} for the
   * answers; records still unacknowledged then fail. Closes the connections.
   */
  public void close(Duration timeout) {
    if (!closed.compareAndSet(false, true)) return;
    sender.initiateClose();
    try {
      senderThread.join(Math.max(1, Math.min(timeout.toMillis(), Long.MAX_VALUE / 2)));
      if (senderThread.isAlive()) {
        sender.forceClose();
        senderThread.join();
      }
    } catch (InterruptedException e) {
      sender.forceClose();
      Thread.currentThread().interrupt();
    } finally {
      callbackExecutor.shutdown();
      try {
        callbackExecutor.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      metadata.close();
      channels.close();
    }
  }
}
