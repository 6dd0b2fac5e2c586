package dev.brook.client.serialization;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SerdesTest {
  public record Point(int x, String label) {}

  @Test
  void stringsAreUtf8() {
    byte[] b = Serdes.stringSerializer().serialize("t", "héllo");
    assertThat(b).hasSize(6);
    assertThat(Serdes.stringDeserializer().deserialize("t", b)).isEqualTo("héllo");
  }

  @Test
  void longsAreEightBytesBigEndianLikeKafka() {
    assertThat(Serdes.longSerializer().serialize("t", 0x0102030405060708L))
        .containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    assertThat(Serdes.longDeserializer().deserialize("t", Serdes.longSerializer().serialize("t", -5L))).isEqualTo(-5L);
    assertThatThrownBy(() -> Serdes.longDeserializer().deserialize("t", new byte[3]))
        .isInstanceOf(SerializationException.class);
  }

  @Test
  void jsonRoundTrips() {
    Serdes.Serde<Point> serde = Serdes.json(Point.class);
    byte[] b = serde.serializer().serialize("t", new Point(3, "a"));
    assertThat(serde.deserializer().deserialize("t", b)).isEqualTo(new Point(3, "a"));
    assertThat(Serdes.jsonDeserializer(Map.class).deserialize("t", "{\"k\":1}".getBytes())).containsEntry("k", 1);
    assertThatThrownBy(() -> serde.deserializer().deserialize("t", "nope".getBytes()))
        .isInstanceOf(SerializationException.class);
  }

  @Test
  void nullInNullOut() {
    assertThat(Serdes.stringSerializer().serialize("t", null)).isNull();
    assertThat(Serdes.stringDeserializer().deserialize("t", null)).isNull();
    assertThat(Serdes.longSerializer().serialize("t", null)).isNull();
    assertThat(Serdes.longDeserializer().deserialize("t", null)).isNull();
    assertThat(Serdes.bytesSerializer().serialize("t", null)).isNull();
    assertThat(Serdes.bytesDeserializer().deserialize("t", null)).isNull();
    assertThat(Serdes.jsonSerializer().serialize("t", null)).isNull();
    assertThat(Serdes.jsonDeserializer(Point.class).deserialize("t", null)).isNull();
  }
}
