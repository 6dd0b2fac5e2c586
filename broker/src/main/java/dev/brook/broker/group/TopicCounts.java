package dev.brook.broker.group;

import dev.brook.quorum.MetadataImage;
import dev.brook.quorum.TopicImage;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The partition count of every topic, as the coordinator's assignors need it, computed once per
 * metadata image (not on every heartbeat). Thread-safe.
 */
public final class TopicCounts implements Supplier<Map<String, Integer>> {
  private record Cached(MetadataImage image, Map<String, Integer> counts) {}

  private final Supplier<MetadataImage> image;
  private volatile Cached cached = new Cached(null, Map.of());

  /** @param image the current metadata image, null while the broker is starting */
  public TopicCounts(Supplier<MetadataImage> image) {
    this.image = image;
  }

  @Override
  public Map<String, Integer> get() {
    MetadataImage now = image.get();
    Cached c = cached;
    if (now == null || now == c.image()) return c.counts();
    Map<String, Integer> counts = new HashMap<>();
    for (TopicImage t : now.topics().values()) counts.put(t.name(), t.partitions().size());
    Cached next = new Cached(now, Map.copyOf(counts));
    cached = next;
    return next.counts();
  }
}
