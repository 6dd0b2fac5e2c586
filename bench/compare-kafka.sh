#!/usr/bin/env bash
# bench/compare-kafka.sh: Brook vs Apache Kafka 4.3.1 on the same machine, same parameters.
#
# For each run and record size (100 B x 1,000,000 records, 1 KiB x 300,000 records):
#   Kafka: format + start a fresh single-node KRaft Kafka (broker+controller in one JVM) on
#          127.0.0.1:39092/39093, create a 6-partition topic, run Kafka's ProducerPerformance and
#          ConsumerPerformance, stop Kafka;
#   Brook: start a fresh `brook dev --port 0`, create a 6-partition topic, run `brook perf produce`
#          and `brook perf consume`, stop Brook.
# Producer settings for both: unthrottled, acks=1, batch size 65536, linger 5 ms.
# Before every measurement it waits until the 1-minute load average is below --max-load (the
# machine is shared), and prints each tool's summary line labelled, then a table of medians.
#
# Usage: bench/compare-kafka.sh [--runs N] [--max-load L] [--quiet-timeout SECONDS]
#                               [--quiet-budget SECONDS] [--kafka-port PORT] [--log-dir DIR]
#                               [--throughput T] [--workloads "SIZE:COUNT ..."]
#   --runs N              runs per system and record size (default 3)
#   --max-load L          wait before each measurement until the 1-minute load average < L (0.7)
#   --quiet-timeout S     wait at most S seconds per measurement (1200), then measure anyway
#   --quiet-budget S      wait at most S seconds in total over the whole script (1200); once it is
#                         spent, measure without waiting. Lines measured on a busy machine say so.
#   --kafka-port PORT     Kafka's broker port on 127.0.0.1; the controller uses PORT+1 (39092)
#   --log-dir DIR         keep every tool's full output (and Brook's server logs) in DIR
#   --throughput T        producer target in records/s for both systems (-1 = unthrottled, the
#                         default); a fixed rate below both systems' maximum compares latency
#   --workloads "S:N ..." record size and count pairs (default "100:1000000 1024:300000")
# Kafka's jars come from bench/kafka/pom.xml (copied to bench/kafka/target/lib); Brook is built by
# bin/brook when needed. Everything listens on 127.0.0.1 only; the script stops only the
# processes it started (by PID) and removes its temp dirs on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_LIB="$ROOT/bench/kafka/target/lib"

RUNS=3
MAX_LOAD=0.7
QUIET_TIMEOUT=1200   # seconds to wait for a quiet machine before measuring anyway
QUIET_BUDGET=1200    # seconds of waiting in total, over all measurements
KAFKA_PORT=39092     # the controller listener uses KAFKA_PORT+1; Brook's defaults are 9092/9093
LOG_DIR=""
THROUGHPUT=-1
WORKLOAD_SPEC="100:1000000 1024:300000"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --max-load) MAX_LOAD="$2"; shift 2 ;;
    --quiet-timeout) QUIET_TIMEOUT="$2"; shift 2 ;;
    --quiet-budget) QUIET_BUDGET="$2"; shift 2 ;;
    --kafka-port) KAFKA_PORT="$2"; shift 2 ;;
    --log-dir) LOG_DIR="$2"; shift 2 ;;
    --throughput) THROUGHPUT="$2"; shift 2 ;;
    --workloads) WORKLOAD_SPEC="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$QUIET_TIMEOUT" =~ ^[0-9]+$ && "$QUIET_BUDGET" =~ ^[0-9]+$ ]] \
  || { echo "error: --quiet-timeout and --quiet-budget take whole seconds" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "error: --runs must be a positive integer, got '$RUNS'" >&2; exit 2; }
[[ "$KAFKA_PORT" =~ ^[0-9]+$ ]] && [ "$KAFKA_PORT" -ge 1024 ] && [ "$KAFKA_PORT" -le 65534 ] \
  || { echo "error: --kafka-port must be 1024..65534, got '$KAFKA_PORT'" >&2; exit 2; }
KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
KAFKA_BOOTSTRAP="127.0.0.1:$KAFKA_PORT"

# The JVM options Kafka's own launch scripts use (kafka-server-start.sh: 1 GiB heap;
# kafka-producer-perf-test.sh / kafka-consumer-perf-test.sh: 512 MiB; kafka-run-class.sh: G1
# settings). Override with the same environment variables as Kafka's scripts.
KAFKA_JVM_PERFORMANCE_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}"
KAFKA_SERVER_HEAP_OPTS="${KAFKA_SERVER_HEAP_OPTS:--Xmx1G -Xms1G}"
KAFKA_TOOL_HEAP_OPTS="${KAFKA_TOOL_HEAP_OPTS:--Xmx512M}"
QUIET_LOGGING="-Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.logFile=System.err"

[[ "$THROUGHPUT" =~ ^(-1|[1-9][0-9]*)$ ]] || { echo "error: --throughput must be -1 or a positive rate, got '$THROUGHPUT'" >&2; exit 2; }
# "size count" pairs, from --workloads
WORKLOADS=()
for w in $WORKLOAD_SPEC; do
  [[ "$w" =~ ^[0-9]+:[1-9][0-9]*$ ]] || { echo "error: --workloads takes SIZE:COUNT pairs, got '$w'" >&2; exit 2; }
  WORKLOADS+=("${w%%:*} ${w##*:}")
done

WORK=""
PIDS=()
FAILURES=0

log() { printf '%s\n' "$*"; }

cleanup() {
  local rc=$?
  local pid
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && stop_pid "$pid"
  done
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    if [ -n "$LOG_DIR" ]; then
      mkdir -p "$LOG_DIR" && cp -r "$WORK/logs/." "$LOG_DIR/" 2>/dev/null || true
    fi
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stop_pid PID: SIGTERM, wait up to 30 s, then SIGKILL. Only ever called with PIDs this script
# started.
stop_pid() {
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; forget_pid "$pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "warning: PID $pid did not stop within 30 s of SIGTERM; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}

forget_pid() {
  local keep=() p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && [ "$p" != "$1" ] && keep+=("$p"); done
  PIDS=("${keep[@]:-}")
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

load1() { cut -d' ' -f1 /proc/loadavg; }

# wait_quiet: poll every 10 s until the 1-minute load average is below MAX_LOAD, for at most
# QUIET_TIMEOUT seconds (and at most what is left of QUIET_BUDGET); then measure anyway and say so.
# Sets LOAD_NOTE for the result label.
WAITED=0
wait_quiet() {
  local start=$SECONDS l limit=$QUIET_TIMEOUT
  ((QUIET_BUDGET - WAITED < limit)) && limit=$((QUIET_BUDGET - WAITED))
  ((limit < 0)) && limit=0
  while true; do
    l=$(load1)
    if awk -v l="$l" -v m="$MAX_LOAD" 'BEGIN { exit !(l < m) }'; then
      LOAD_NOTE="load $l"
      break
    fi
    if ((SECONDS - start >= limit)); then
      LOAD_NOTE="load $l, NOT QUIET: waited $((SECONDS - start)) s, measured anyway"
      break
    fi
    sleep 10
  done
  WAITED=$((WAITED + SECONDS - start))
}

# kafka_java HEAP_OPTS MAIN_CLASS ARGS...: sets CMD to the java command line (an array, so that
# `timeout` and `&` run java itself and $! is the JVM's PID).
kafka_java() {
  local heap="$1"; shift
  # shellcheck disable=SC2206
  CMD=(java $heap $KAFKA_JVM_PERFORMANCE_OPTS $QUIET_LOGGING -cp "$KAFKA_LIB/*" "$@")
}

# brook ARGS...: sets CMD to what bin/brook runs (`java $BROOK_JAVA_OPTS -jar brook-cli.jar`), but
# from the snapshot of the build taken at the start.
brook() {
  # shellcheck disable=SC2206
  CMD=(java ${BROOK_JAVA_OPTS:-} -jar "$WORK/brook-build/brook-cli.jar" "$@")
}

# run_tool LABEL LOGFILE PATTERN: runs "${CMD[@]}" as one measurement (after waiting for a quiet
# machine), prints the summary line matching PATTERN with its label; on failure prints the tail
# of the output and counts the failure. Sets SUMMARY to the summary line ("" when missing).
run_tool() {
  local label="$1" out="$2" pattern="$3"
  wait_quiet
  local rc=0
  timeout 900 "${CMD[@]}" >"$out" 2>&1 || rc=$?
  SUMMARY=$(grep -E "$pattern" "$out" | tail -n 1 || true)
  if [ "$rc" -ne 0 ] || [ -z "$SUMMARY" ]; then
    FAILURES=$((FAILURES + 1))
    log "$label FAILED (exit $rc, $LOAD_NOTE); last lines of its output:"
    tail -n 15 "$out" | sed 's/^/    | /'
    [ -n "$SUMMARY" ] && log "$label [$LOAD_NOTE] $SUMMARY"
    return 0
  fi
  log "$label [$LOAD_NOTE] $SUMMARY"
}

record() { # record SIZE SYSTEM TOOL RECORDS_PER_SEC MB_PER_SEC
  printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$WORK/results.tsv"
}

# ---------------------------------------------------------------------------------------- Kafka

start_kafka() { # start_kafka DIR: format and start; sets KAFKA_PID
  local dir="$1"
  mkdir -p "$dir/data"
  if port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT"; then
    log "error: 127.0.0.1:$KAFKA_PORT or :$KAFKA_CONTROLLER_PORT is in use; pick others with --kafka-port" >&2
    exit 1
  fi
  # Kafka 4.3's shipped config/server.properties (KRaft combined mode), on 127.0.0.1 and our ports.
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
log.dirs=$dir/data
num.partitions=1
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
EOF
  local cluster_id
  kafka_java "-Xmx256M" kafka.tools.StorageTool random-uuid
  cluster_id=$("${CMD[@]}" 2>/dev/null | tail -n 1)
  kafka_java "-Xmx256M" kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$dir/server.properties"
  "${CMD[@]}" >"$dir/format.log" 2>&1 \
    || { log "error: kafka-storage format failed:" >&2; cat "$dir/format.log" >&2; exit 1; }
  kafka_java "$KAFKA_SERVER_HEAP_OPTS" kafka.Kafka "$dir/server.properties"
  "${CMD[@]}" >"$dir/server.log" 2>&1 &
  KAFKA_PID=$!
  PIDS+=("$KAFKA_PID")
  local i
  for ((i = 0; i < 600; i++)); do
    port_open "$KAFKA_PORT" && return 0
    kill -0 "$KAFKA_PID" 2>/dev/null || { log "error: Kafka exited during startup:" >&2; tail -n 30 "$dir/server.log" >&2; exit 1; }
    sleep 0.1
  done
  log "error: Kafka did not open $KAFKA_BOOTSTRAP within 60 s:" >&2
  tail -n 30 "$dir/server.log" >&2
  exit 1
}

kafka_create_topic() { # kafka_create_topic DIR TOPIC (retries while the broker finishes starting)
  local i
  for ((i = 0; i < 10; i++)); do
    kafka_java "-Xmx256M" org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" \
      --create --topic "$2" --partitions 6 --replication-factor 1
    if "${CMD[@]}" >>"$1/topic.log" 2>&1; then
      return 0
    fi
    sleep 1
  done
  log "error: could not create Kafka topic $2:" >&2
  tail -n 20 "$1/topic.log" >&2
  exit 1
}

run_kafka() { # run_kafka RUN SIZE RECORDS
  local run="$1" size="$2" n="$3" dir="$WORK/kafka-$1-$2" topic="perf-$2"
  mkdir -p "$dir"
  start_kafka "$dir"
  kafka_create_topic "$dir" "$topic"
  local label="[run $run/$RUNS] [$size B] kafka"
  kafka_java "$KAFKA_TOOL_HEAP_OPTS" org.apache.kafka.tools.ProducerPerformance --topic "$topic" \
    --num-records "$n" --record-size "$size" --throughput "$THROUGHPUT" \
    --command-property "bootstrap.servers=$KAFKA_BOOTSTRAP" acks=1 batch.size=65536 linger.ms=5
  run_tool "$label produce:" "$WORK/logs/kafka-produce-$run-$size.log" 'records sent,.*99\.9th'
  if [ -n "$SUMMARY" ]; then
    record "$size" kafka produce "$(awk -F', ' '{ split($2, a, " "); print a[1] }' <<<"$SUMMARY")" \
      "$(sed -E 's/.*\(([0-9.]+) MB\/sec\).*/\1/' <<<"$SUMMARY")"
  fi
  # ConsumerPerformance prints a header line and one data line:
  # start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
  # rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  kafka_java "$KAFKA_TOOL_HEAP_OPTS" org.apache.kafka.tools.ConsumerPerformance --bootstrap-server "$KAFKA_BOOTSTRAP" \
    --topic "$topic" --num-records "$n" --timeout 30000
  run_tool "$label consume:" "$WORK/logs/kafka-consume-$run-$size.log" '^[0-9]{4}-[0-9]{2}-[0-9]{2} .*, .*, '
  if [ -n "$SUMMARY" ]; then
    # The comparable number is fetch.nMsg.sec / fetch.MB.sec (excludes the group join, which
    # Brook's perf consume does not do: it assigns partitions directly).
    record "$size" kafka consume "$(awk -F', ' '{ print $10 }' <<<"$SUMMARY")" "$(awk -F', ' '{ print $9 }' <<<"$SUMMARY")"
  fi
  stop_pid "$KAFKA_PID"
  rm -rf "$dir"
}

# ---------------------------------------------------------------------------------------- Brook

run_brook() { # run_brook RUN SIZE RECORDS
  local run="$1" size="$2" n="$3" dir="$WORK/brook-$1-$2" topic="perf-$2"
  mkdir -p "$dir"
  brook dev --port 0 --data-dir "$dir/data"
  "${CMD[@]}" >"$dir/server.log" 2>&1 &
  local pid=$! addr="" i
  PIDS+=("$pid")
  for ((i = 0; i < 1200; i++)); do
    addr=$(sed -n -E 's/.*broker listening on ([^,]+),.*/\1/p' "$dir/server.log" | head -n 1)
    [ -n "$addr" ] && break
    kill -0 "$pid" 2>/dev/null || { log "error: brook dev exited during startup:" >&2; tail -n 30 "$dir/server.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$addr" ] || { log "error: brook dev was not ready within 120 s:" >&2; tail -n 30 "$dir/server.log" >&2; exit 1; }
  brook topics create --bootstrap-server "$addr" --topic "$topic" --partitions 6
  "${CMD[@]}" >"$dir/topic.log" 2>&1 \
    || { log "error: could not create Brook topic:" >&2; cat "$dir/topic.log" >&2; exit 1; }
  local label="[run $run/$RUNS] [$size B] brook"
  brook perf produce --bootstrap-server "$addr" --topic "$topic" --num-records "$n" --record-size "$size" \
    --throughput "$THROUGHPUT" --acks 1 --batch-size 65536 --linger-ms 5
  run_tool "$label produce:" "$WORK/logs/brook-produce-$run-$size.log" 'records sent,.*99\.9th'
  if [ -n "$SUMMARY" ]; then
    record "$size" brook produce "$(awk -F', ' '{ split($2, a, " "); print a[1] }' <<<"$SUMMARY")" \
      "$(sed -E 's/.*\(([0-9.]+) MB\/sec\).*/\1/' <<<"$SUMMARY")"
  fi
  brook perf consume --bootstrap-server "$addr" --topic "$topic" --num-records "$n" --timeout-ms 30000
  run_tool "$label consume:" "$WORK/logs/brook-consume-$run-$size.log" 'records received,'
  if [ -n "$SUMMARY" ]; then
    record "$size" brook consume "$(awk -F', ' '{ split($2, a, " "); print a[1] }' <<<"$SUMMARY")" \
      "$(sed -E 's/.*\(([0-9.]+) MB\/sec\).*/\1/' <<<"$SUMMARY")"
  fi
  cp "$dir/server.log" "$WORK/logs/brook-server-$run-$size.log" 2>/dev/null || true
  stop_pid "$pid"
  rm -rf "$dir"
}

# ------------------------------------------------------------------------------------------ main

print_medians() {
  [ -s "$WORK/results.tsv" ] || return 0
  log ""
  log "Medians over $RUNS run(s) (records/sec, MB/sec; Kafka consumer = fetch.nMsg.sec, fetch.MB.sec):"
  printf '%-8s %-8s %-6s %16s %10s %5s\n' size tool system records/sec MB/sec runs
  local size tool system w n
  for w in "${WORKLOADS[@]}"; do
    read -r size n <<<"$w"
    for tool in produce consume; do
      for system in kafka brook; do
        awk -F'\t' -v s="$size" -v t="$tool" -v y="$system" '$1 == s && $2 == y && $3 == t { print $4 "\t" $5 }' \
          "$WORK/results.tsv" | sort -g | awk -F'\t' -v s="$size" -v t="$tool" -v y="$system" '
            { r[NR] = $1; m[NR] = $2 }
            END {
              if (NR == 0) exit
              # median of records/sec; MB/sec of the same run(s)
              if (NR % 2) { mr = r[(NR + 1) / 2]; mm = m[(NR + 1) / 2] }
              else { mr = (r[NR / 2] + r[NR / 2 + 1]) / 2; mm = (m[NR / 2] + m[NR / 2 + 1]) / 2 }
              printf "%-8s %-8s %-6s %16.0f %10.2f %5d\n", s " B", t, y, mr, mm, NR
            }'
      done
    done
  done
}

main() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/brook-vs-kafka.XXXXXX")
  mkdir -p "$WORK/logs" "$WORK/brook-build"
  log "Building Brook if needed (bin/brook) ..."
  "$ROOT/bin/brook" --version >"$WORK/logs/build.log" 2>&1 || { cat "$WORK/logs/build.log" >&2; exit 1; }
  log "Resolving Apache Kafka 4.3.1 (mvn -B -q -f bench/kafka/pom.xml package) ..."
  (cd "$ROOT" && mvn -B -q -f bench/kafka/pom.xml package) >"$WORK/logs/kafka-resolve.log" 2>&1 || {
    cat "$WORK/logs/kafka-resolve.log" >&2
    log "error: could not resolve the Kafka jars; run 'mvn -B -f bench/kafka/pom.xml package' to see why" >&2
    exit 1
  }
  # Snapshot Brook's build, so a rebuild by someone else during the run cannot change or break
  # the jars under test.
  cp "$ROOT/cli/target/brook-cli.jar" "$WORK/brook-build/" && cp -r "$ROOT/cli/target/lib" "$WORK/brook-build/"
  : >"$WORK/results.tsv"

  local cpus model
  cpus=$(nproc)
  model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  log "Machine: $cpus CPUs ($model), $(java -version 2>&1 | head -n 1), $(uname -sr)"
  brook --version
  log "Brook: $("${CMD[@]}" 2>/dev/null | head -n 1) at $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
  log "Kafka: $(basename "$(ls "$KAFKA_LIB"/kafka_2.13-*.jar)" .jar), JVM: $KAFKA_SERVER_HEAP_OPTS (broker), $KAFKA_TOOL_HEAP_OPTS (tools)"
  log "Runs: $RUNS; before each measurement: wait until 1-min load < $MAX_LOAD (at most ${QUIET_TIMEOUT}s each, ${QUIET_BUDGET}s in total)"
  log "Producer throughput target: $THROUGHPUT records/s (-1 = unthrottled); workloads (size:count): $WORKLOAD_SPEC"
  log "Kafka consumer columns: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"
  log ""

  local run w size n
  for ((run = 1; run <= RUNS; run++)); do
    for w in "${WORKLOADS[@]}"; do
      read -r size n <<<"$w"
      run_kafka "$run" "$size" "$n"
      run_brook "$run" "$size" "$n"
    done
  done
  print_medians
  log "Waited ${WAITED}s in total for a quiet machine."
  if [ "$FAILURES" -gt 0 ]; then
    log ""
    log "$FAILURES measurement(s) failed (see above)."
    return 1
  fi
}

main
