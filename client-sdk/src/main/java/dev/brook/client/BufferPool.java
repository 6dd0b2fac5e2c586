package dev.brook.client;

import dev.brook.proto.v1.ErrorCode;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Bounds the producer's memory ({@code bufferMemory}) and recycles batch arrays.
 *
 * <p>Accounting and arrays are separate on purpose: a batch's bytes stay reserved from the
 * first record until the batch is acknowledged or failed ({@link #release}), while its array
 * comes back as soon as the batch is closed ({@link #recycle}), because closing copies or
 * compresses the records into the request. Recycled arrays of {@code batchSize} are kept for
 * reuse (at most bufferMemory / batchSize of them), so a steady producer allocates no arrays.
 * Thread-safe.
 */
final class BufferPool {
  private final long totalMemory;
  private final int poolableSize;
  private final int maxFree;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition freed = lock.newCondition();
  private final ArrayDeque<byte[]> free = new ArrayDeque<>();
  private long available;

  BufferPool(long totalMemory, int poolableSize) {
    this.totalMemory = totalMemory;
    this.poolableSize = poolableSize;
    this.available = totalMemory;
    this.maxFree = (int) Math.min(Integer.MAX_VALUE, totalMemory / poolableSize);
  }

  /**
   * Reserves {@code size} bytes, waiting up to {@code maxBlockMs} for acknowledgements to free
   * memory, and returns an array of at least {@code size} bytes.
   */
  byte[] allocate(int size, long maxBlockMs) throws InterruptedException {
    if (size > totalMemory) {
      throw new BrookException(ErrorCode.RECORD_TOO_LARGE,
          "record of " + size + " bytes is larger than bufferMemory (" + totalMemory + ")");
    }
    lock.lock();
    try {
      long remainingNs = TimeUnit.MILLISECONDS.toNanos(maxBlockMs);
      while (available < size) {
        if (remainingNs <= 0) {
          throw new BrookException(ErrorCode.REQUEST_TIMED_OUT,
              "buffer memory (" + totalMemory + " bytes) still full after " + maxBlockMs + " ms");
        }
        remainingNs = freed.awaitNanos(remainingNs);
      }
      available -= size;
      if (size == poolableSize && !free.isEmpty()) return free.pollFirst();
    } finally {
      lock.unlock();
    }
    return new byte[size];
  }

  /** Gives back an array once its records were copied out; keeps it when it is batch-sized. */
  void recycle(byte[] buffer) {
    if (buffer.length != poolableSize) return;
    lock.lock();
    try {
      if (free.size() < maxFree) free.addFirst(buffer);
    } finally {
      lock.unlock();
    }
  }

  /** Un-reserves bytes of a finished batch. */
  void release(int size) {
    lock.lock();
    try {
      available += size;
      freed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  long availableMemory() {
    lock.lock();
    try {
      return available;
    } finally {
      lock.unlock();
    }
  }
}
