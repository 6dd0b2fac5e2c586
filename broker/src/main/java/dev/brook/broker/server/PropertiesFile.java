package dev.brook.broker.server;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A node's properties file, read line by line so that every error can name the file and line
 * ({@code java.util.Properties} keeps no line numbers and accepts almost anything: a line without
 * a separator, a repeated key, invalid escapes).
 *
 * <p>The syntax is the properties format as the config files use it, UTF-8:
 * <ul>
 *   <li>blank lines, and lines whose first non-blank character is {@code #} or {@code !}, are
 *       comments;
 *   <li>every other line is {@code key=value} or {@code key: value}; blanks around the key, the
 *       separator and the value are ignored, and so is a trailing comment that starts with
 *       blank-{@code #} ({@code roles=quorum,broker   # both});
 *   <li>a line ending in a single backslash continues on the next line (leading blanks there are
 *       dropped), as in Java's format; other backslashes are kept as they are, so Windows paths
 *       need no escaping.
 * </ul>
 * A line that is not a comment and has no separator, an empty key, or a key set twice is an
 * error.
 */
final class PropertiesFile {
  private final Map<String, String> values;
  private final Map<String, Integer> lines;

  private PropertiesFile(Map<String, String> values, Map<String, Integer> lines) {
    this.values = Collections.unmodifiableMap(values);
    this.lines = Collections.unmodifiableMap(lines);
  }

  /** Reads {@code file}; a ConfigException names the file and, where one is at fault, the line. */
  static PropertiesFile read(Path file) {
    List<String> text;
    try {
      text = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ConfigException(file + ": no such file");
    } catch (CharacterCodingException e) {
      throw new ConfigException(file + ": not a UTF-8 text file");
    } catch (IOException e) {
      throw new ConfigException("cannot read config file " + file + ": " + e);
    }
    return parse(file.toString(), text);
  }

  /** Parses the lines of a file called {@code name} (for messages). */
  static PropertiesFile parse(String name, List<String> text) {
    Map<String, String> values = new LinkedHashMap<>();
    Map<String, Integer> lines = new LinkedHashMap<>();
    for (int i = 0; i < text.size(); i++) {
      int lineNo = i + 1;
      String line = stripLeading(text.get(i));
      if (line.isEmpty() || line.charAt(0) == '#' || line.charAt(0) == '!') continue;
      StringBuilder logical = new StringBuilder();
      while (endsWithContinuation(line)) {
        logical.append(line, 0, line.length() - 1);
        if (++i >= text.size()) {
          throw new ConfigException(name + ":" + lineNo + ": the last line ends with '\\' (a continuation) but"
              + " there is no next line");
        }
        line = stripLeading(text.get(i));
      }
      logical.append(line);
      String entry = logical.toString();
      int sep = separator(entry);
      if (sep < 0) {
        throw new ConfigException(name + ":" + lineNo + ": expected key=value, got '" + abbreviate(entry.strip()) + "'");
      }
      String key = entry.substring(0, sep).strip();
      String value = stripComment(entry.substring(sep + 1)).strip();
      if (key.isEmpty()) {
        throw new ConfigException(name + ":" + lineNo + ": a key is missing before '" + entry.charAt(sep) + "'");
      }
      Integer first = lines.get(key);
      if (first != null) {
        throw new ConfigException(key, name + ":" + lineNo + ": " + key + " is set twice (first on line " + first
            + "); remove one");
      }
      values.put(key, value);
      lines.put(key, lineNo);
    }
    return new PropertiesFile(values, lines);
  }

  /** Every key with its value (trimmed, trailing comment removed), in file order. */
  Map<String, String> values() {
    return values;
  }

  /** The line that set {@code key}, or null. */
  Integer lineOf(String key) {
    return lines.get(key);
  }

  private static int separator(String entry) {
    for (int i = 0; i < entry.length(); i++) {
      char c = entry.charAt(i);
      if (c == '=' || c == ':') return i;
    }
    return -1;
  }

  private static boolean endsWithContinuation(String line) {
    int backslashes = 0;
    for (int i = line.length() - 1; i >= 0 && line.charAt(i) == '\\'; i--) backslashes++;
    return backslashes % 2 == 1;
  }

  // "key=value   # comment" as in the examples; Java's loader would keep the comment in the value.
  private static String stripComment(String v) {
    for (int i = 1; i < v.length(); i++) {
      if (v.charAt(i) == '#' && Character.isWhitespace(v.charAt(i - 1))) return v.substring(0, i);
    }
    return v;
  }

  private static String stripLeading(String s) {
    return s.stripLeading();
  }

  private static String abbreviate(String s) {
    return s.length() <= 60 ? s : s.substring(0, 57) + "...";
  }
}
