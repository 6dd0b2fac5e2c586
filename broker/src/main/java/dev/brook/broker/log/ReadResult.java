package dev.brook.broker.log;

import com.google.protobuf.ByteString;

/**
 * What {@link PartitionLog#read} found. {@code records} is a run of whole stored frames, i.e. the
 * encoding of a {@code RecordBatchList}, possibly empty; {@code firstBatchOffset} is the base
 * offset of its first batch (which may be below the fetch offset), or the fetch offset when empty.
 * The log start and end offsets are as seen by this read.
 */
public record ReadResult(ByteString records, long firstBatchOffset, long logStartOffset, long logEndOffset) {}
