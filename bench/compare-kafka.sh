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
# With --cluster 3 it compares replicated clusters instead: three nodes per system, all on this
# machine, each run starting fresh ones:
#   Kafka: three KRaft nodes in combined mode (process.roles=broker,controller, node.id 1..3), a
#          dynamic quorum of all three formatted with `kafka-storage format --initial-controllers`;
#          node N listens on 127.0.0.1:PORT+2(N-1) (broker) and the next port (controller), PORT
#          being --kafka-port; internal topics get replication factor 3 (min ISR 2); heap per node
#          from KAFKA_CLUSTER_HEAP_OPTS (default -Xmx768M -Xms768M);
#   Brook: three `brook server --config FILE` nodes with roles quorum,broker (like
#          config/node1..3.properties, but with free quorum ports found from PORT+100 up and
#          brokers on ephemeral ports, all on 127.0.0.1, data in the temp dir);
# both wait until all three brokers are up, create the topic with 6 partitions, replication
# factor 3 and min.insync.replicas=2, and produce with acks=all (batch size 65536, linger 5 ms);
# consumers as in the single-node mode. Result lines and medians say "3 nodes, RF 3".
#
# Usage: bench/compare-kafka.sh [--runs N] [--max-load L] [--quiet-timeout SECONDS]
#                               [--quiet-budget SECONDS] [--kafka-port PORT] [--log-dir DIR]
#                               [--throughput T] [--workloads "SIZE:COUNT ..."] [--cluster 1|3]
#   --runs N              runs per system and record size (default 3)
#   --max-load L          wait before each measurement until the 1-minute load average < L (0.7)
#   --quiet-timeout S     wait at most S seconds per measurement (1200), then measure anyway
#   --quiet-budget S      wait at most S seconds in total over the whole script (1200); once it is
#                         spent, measure without waiting. Lines measured on a busy machine say so.
#   --kafka-port PORT     Kafka's broker port on 127.0.0.1; the controller uses PORT+1 (39092);
#                         with --cluster 3, nodes 2 and 3 use PORT+2..PORT+5
#   --log-dir DIR         keep every tool's full output (and Brook's server logs; with --cluster 3
#                         also Kafka's) in DIR
#   --throughput T        producer target in records/s for both systems (-1 = unthrottled, the
#                         default); a fixed rate below both systems' maximum compares latency
#   --workloads "S:N ..." record size and count pairs (default "100:1000000 1024:300000")
#   --cluster N           1 (default): one node per system, replication factor 1, acks=1;
#                         3: three nodes per system, replication factor 3, min.insync.replicas=2,
#                         acks=all
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
CLUSTER=1            # nodes per system: 1, or 3 for the replicated comparison

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
    --cluster) CLUSTER="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$QUIET_TIMEOUT" =~ ^[0-9]+$ && "$QUIET_BUDGET" =~ ^[0-9]+$ ]] \
  || { echo "error: --quiet-timeout and --quiet-budget take whole seconds" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "error: --runs must be a positive integer, got '$RUNS'" >&2; exit 2; }
[[ "$CLUSTER" =~ ^(1|3)$ ]] || { echo "error: --cluster must be 1 or 3, got '$CLUSTER'" >&2; exit 2; }
# Each Kafka node takes two ports: node N the broker on KAFKA_PORT+2(N-1), the controller on the next.
KAFKA_PORT_MAX=$((65536 - 2 * CLUSTER))
[[ "$KAFKA_PORT" =~ ^[0-9]+$ ]] && [ "$KAFKA_PORT" -ge 1024 ] && [ "$KAFKA_PORT" -le "$KAFKA_PORT_MAX" ] \
  || { echo "error: --kafka-port must be 1024..$KAFKA_PORT_MAX, got '$KAFKA_PORT'" >&2; exit 2; }
kafka_broker_port() { echo $((KAFKA_PORT + 2 * ($1 - 1))); }
kafka_controller_port() { echo $((KAFKA_PORT + 2 * ($1 - 1) + 1)); }
KAFKA_BOOTSTRAP=""          # the brokers, for clients
KAFKA_QUORUM_BOOTSTRAP=""   # the controllers, for controller.quorum.bootstrap.servers
for ((i = 1; i <= CLUSTER; i++)); do
  KAFKA_BOOTSTRAP+="${KAFKA_BOOTSTRAP:+,}127.0.0.1:$(kafka_broker_port $i)"
  KAFKA_QUORUM_BOOTSTRAP+="${KAFKA_QUORUM_BOOTSTRAP:+,}127.0.0.1:$(kafka_controller_port $i)"
done

# What the mode changes besides the node count: the topic's replication factor and
# min.insync.replicas, the producer's acks, and a tag in every result line.
if [ "$CLUSTER" -eq 1 ]; then
  RF=1; MIN_ISR=""; ACKS=1; MODE_TAG=""
else
  RF=3; MIN_ISR=2; ACKS=all; MODE_TAG="[$CLUSTER nodes, RF $RF, acks=$ACKS] "
fi

# The JVM options Kafka's own launch scripts use (kafka-server-start.sh: 1 GiB heap;
# kafka-producer-perf-test.sh / kafka-consumer-perf-test.sh: 512 MiB; kafka-run-class.sh: G1
# settings). Override with the same environment variables as Kafka's scripts.
KAFKA_JVM_PERFORMANCE_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true}"
KAFKA_SERVER_HEAP_OPTS="${KAFKA_SERVER_HEAP_OPTS:--Xmx1G -Xms1G}"
# Three Kafka JVMs share this machine in cluster mode: a smaller heap each (Kafka keeps the log in
# the page cache, not the heap). Override with KAFKA_CLUSTER_HEAP_OPTS.
KAFKA_CLUSTER_HEAP_OPTS="${KAFKA_CLUSTER_HEAP_OPTS:--Xmx768M -Xms768M}"
if [ "$CLUSTER" -eq 1 ]; then KAFKA_NODE_HEAP_OPTS="$KAFKA_SERVER_HEAP_OPTS"; else KAFKA_NODE_HEAP_OPTS="$KAFKA_CLUSTER_HEAP_OPTS"; fi
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
  local pids=() pid
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && pids+=("$pid"); done
  [ "${#pids[@]}" -gt 0 ] && stop_pids "${pids[@]}"
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
stop_pid() { stop_pids "$1"; }

# stop_pids PID...: SIGTERM to all at once, wait up to 30 s for all, then SIGKILL the rest. The
# nodes of a cluster stop together: one after the other, the last ones would wait for a quorum
# (Kafka's and Brook's controlled shutdown) that is already gone.
stop_pids() {
  local pid i alive
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 300; i++)); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for pid in "$@"; do
    if kill -0 "$pid" 2>/dev/null; then
      log "warning: PID $pid did not stop within 30 s of SIGTERM; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
  done
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

kafka_write_config() { # kafka_write_config DIR ID: DIR/server.properties for node ID (1..CLUSTER)
  local dir="$1" id="$2" port controller_port internal_rf internal_min_isr
  port=$(kafka_broker_port "$id")
  controller_port=$(kafka_controller_port "$id")
  # Kafka's internal topics (consumer offsets, transactions, share groups): replicated like the
  # benchmark topic on a cluster (Kafka's own defaults, 3 and 2), unreplicated on a single node.
  if [ "$CLUSTER" -eq 1 ]; then internal_rf=1; internal_min_isr=1; else internal_rf=3; internal_min_isr=2; fi
  # Kafka 4.3's shipped config/server.properties (KRaft combined mode), on 127.0.0.1 and our ports.
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$id
controller.quorum.bootstrap.servers=$KAFKA_QUORUM_BOOTSTRAP
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
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
offsets.topic.replication.factor=$internal_rf
share.coordinator.state.topic.replication.factor=$internal_rf
share.coordinator.state.topic.min.isr=$internal_min_isr
transaction.state.log.replication.factor=$internal_rf
transaction.state.log.min.isr=$internal_min_isr
group.initial.rebalance.delay.ms=0
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
PROPS
}

kafka_uuid() { # kafka_uuid: prints a new Kafka UUID (cluster id, directory id)
  kafka_java "-Xmx256M" kafka.tools.StorageTool random-uuid
  "${CMD[@]}" 2>/dev/null | tail -n 1
}

start_kafka() { # start_kafka DIR: format and start CLUSTER nodes in DIR/node1..; sets KAFKA_PIDS
  local dir="$1" id port
  for ((id = 1; id <= CLUSTER; id++)); do
    for port in "$(kafka_broker_port "$id")" "$(kafka_controller_port "$id")"; do
      if port_open "$port"; then
        log "error: 127.0.0.1:$port is in use; pick other ports with --kafka-port (Kafka uses $KAFKA_PORT..$((KAFKA_PORT + 2 * CLUSTER - 1)))" >&2
        exit 1
      fi
    done
  done
  # A single node bootstraps the quorum alone (--standalone). A cluster bootstraps it with all
  # three controllers as voters (KIP-853 dynamic quorum): every node is formatted with the same
  # --initial-controllers list, ID@HOST:PORT:DIRECTORY_ID, and takes its own entry's directory id.
  local cluster_id format_args=(--standalone)
  cluster_id=$(kafka_uuid)
  if [ "$CLUSTER" -gt 1 ]; then
    local voters=""
    for ((id = 1; id <= CLUSTER; id++)); do
      voters+="${voters:+,}$id@127.0.0.1:$(kafka_controller_port "$id"):$(kafka_uuid)"
    done
    format_args=(--initial-controllers "$voters")
  fi
  KAFKA_PIDS=()
  for ((id = 1; id <= CLUSTER; id++)); do
    local node="$dir/node$id"
    mkdir -p "$node/data"
    kafka_write_config "$node" "$id"
    kafka_java "-Xmx256M" kafka.tools.StorageTool format "${format_args[@]}" -t "$cluster_id" -c "$node/server.properties"
    "${CMD[@]}" >"$node/format.log" 2>&1 \
      || { log "error: kafka-storage format failed for node $id:" >&2; cat "$node/format.log" >&2; exit 1; }
  done
  for ((id = 1; id <= CLUSTER; id++)); do
    kafka_java "$KAFKA_NODE_HEAP_OPTS" kafka.Kafka "$dir/node$id/server.properties"
    "${CMD[@]}" >"$dir/node$id/server.log" 2>&1 &
    KAFKA_PIDS+=("$!")
    PIDS+=("$!")
  done
  # Up = every broker port open (a node opens it once it has joined the quorum). Whether the
  # brokers are registered and unfenced shows when topic creation with the full replication
  # factor succeeds (kafka_create_topic retries).
  local i
  for ((id = 1; id <= CLUSTER; id++)); do
    port=$(kafka_broker_port "$id")
    for ((i = 0; i < 1200; i++)); do
      port_open "$port" && break
      kill -0 "${KAFKA_PIDS[id - 1]}" 2>/dev/null \
        || { log "error: Kafka node $id exited during startup:" >&2; tail -n 30 "$dir/node$id/server.log" >&2; exit 1; }
      sleep 0.1
    done
    port_open "$port" && continue
    log "error: Kafka node $id did not open 127.0.0.1:$port within 120 s:" >&2
    tail -n 30 "$dir/node$id/server.log" >&2
    exit 1
  done
}

kafka_create_topic() { # kafka_create_topic DIR TOPIC (retries while the brokers finish starting)
  local i config=()
  [ -n "$MIN_ISR" ] && config=(--config "min.insync.replicas=$MIN_ISR")
  for ((i = 0; i < 30; i++)); do
    kafka_java "-Xmx256M" org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" \
      --create --topic "$2" --partitions 6 --replication-factor "$RF" ${config[@]+"${config[@]}"}
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
  local label="[run $run/$RUNS] [$size B] ${MODE_TAG}kafka"
  kafka_java "$KAFKA_TOOL_HEAP_OPTS" org.apache.kafka.tools.ProducerPerformance --topic "$topic" \
    --num-records "$n" --record-size "$size" --throughput "$THROUGHPUT" \
    --command-property "bootstrap.servers=$KAFKA_BOOTSTRAP" "acks=$ACKS" batch.size=65536 linger.ms=5
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
  stop_pids "${KAFKA_PIDS[@]}"
  if [ "$CLUSTER" -gt 1 ]; then
    local id
    for ((id = 1; id <= CLUSTER; id++)); do
      cp "$dir/node$id/server.log" "$WORK/logs/kafka-server-$run-$size-node$id.log" 2>/dev/null || true
    done
  fi
  rm -rf "$dir"
}

# ---------------------------------------------------------------------------------------- Brook

# brook_wait_ready DIR PID WHAT: waits until DIR/server.log says "broker listening on ADDR,"
# (printed once the broker is registered and unfenced) and sets ADDR; exits if PID dies first or
# after 120 s.
brook_wait_ready() {
  local dir="$1" pid="$2" what="$3" i
  ADDR=""
  for ((i = 0; i < 1200; i++)); do
    ADDR=$(sed -n -E 's/.*broker listening on ([^,]+),.*/\1/p' "$dir/server.log" | head -n 1)
    [ -n "$ADDR" ] && return 0
    kill -0 "$pid" 2>/dev/null || { log "error: $what exited during startup:" >&2; tail -n 30 "$dir/server.log" >&2; exit 1; }
    sleep 0.1
  done
  log "error: $what was not ready within 120 s:" >&2
  tail -n 30 "$dir/server.log" >&2
  exit 1
}

# free_ports COUNT FROM: sets FREE_PORTS to COUNT ports from FROM up that nothing listens on.
free_ports() {
  local count="$1" port="$2"
  FREE_PORTS=()
  while [ "${#FREE_PORTS[@]}" -lt "$count" ]; do
    [ "$port" -le 65535 ] || { log "error: no $count free ports from $2 up on 127.0.0.1" >&2; exit 1; }
    port_open "$port" || FREE_PORTS+=("$port")
    port=$((port + 1))
  done
}

start_brook() { # start_brook DIR: start CLUSTER nodes; sets BROOK_PIDS and BROOK_BOOTSTRAP
  local dir="$1" id
  BROOK_PIDS=()
  BROOK_BOOTSTRAP=""
  if [ "$CLUSTER" -eq 1 ]; then
    brook dev --port 0 --data-dir "$dir/data"
    "${CMD[@]}" >"$dir/server.log" 2>&1 &
    BROOK_PIDS+=("$!")
    PIDS+=("$!")
    brook_wait_ready "$dir" "$!" "brook dev"
    BROOK_BOOTSTRAP="$ADDR"
    return 0
  fi
  # Like config/node1..3.properties: every node a quorum peer and a broker. The quorum ports must
  # be known up front (quorum.voters); the brokers take ephemeral ports and say which.
  free_ports "$CLUSTER" $((KAFKA_PORT + 100))
  local voters=""
  for ((id = 1; id <= CLUSTER; id++)); do
    voters+="${voters:+,}$id@127.0.0.1:${FREE_PORTS[id - 1]}"
  done
  for ((id = 1; id <= CLUSTER; id++)); do
    mkdir -p "$dir/node$id"
    cat >"$dir/node$id/server.properties" <<PROPS
# Node $id of the benchmark's $CLUSTER-node Brook cluster on 127.0.0.1 (quorum peer and broker).
node.id=$id
roles=quorum,broker
broker.address=127.0.0.1:0
quorum.address=127.0.0.1:${FREE_PORTS[id - 1]}
quorum.voters=$voters
data.dir=$dir/node$id/data
PROPS
    brook server --config "$dir/node$id/server.properties"
    "${CMD[@]}" >"$dir/node$id/server.log" 2>&1 &
    BROOK_PIDS+=("$!")
    PIDS+=("$!")
  done
  for ((id = 1; id <= CLUSTER; id++)); do
    brook_wait_ready "$dir/node$id" "${BROOK_PIDS[id - 1]}" "brook server (node $id)"
    BROOK_BOOTSTRAP+="${BROOK_BOOTSTRAP:+,}$ADDR"
  done
  # Every node said it is ready; confirm that the quorum sees all brokers active (unfenced).
  local i active=0
  for ((i = 0; i < 60; i++)); do
    brook cluster describe --bootstrap-server "$BROOK_BOOTSTRAP"
    active=$("${CMD[@]}" 2>>"$dir/describe.log" | tee -a "$dir/describe.log" | grep -c 'State: active' || true)
    [ "$active" -ge "$CLUSTER" ] && return 0
    sleep 1
  done
  log "error: the Brook cluster did not have $CLUSTER active brokers within 60 s:" >&2
  tail -n 20 "$dir/describe.log" >&2
  exit 1
}

run_brook() { # run_brook RUN SIZE RECORDS
  local run="$1" size="$2" n="$3" dir="$WORK/brook-$1-$2" topic="perf-$2"
  mkdir -p "$dir"
  start_brook "$dir"
  local config=()
  [ -n "$MIN_ISR" ] && config=(--replication-factor "$RF" --config "min.insync.replicas=$MIN_ISR")
  brook topics create --bootstrap-server "$BROOK_BOOTSTRAP" --topic "$topic" --partitions 6 ${config[@]+"${config[@]}"}
  "${CMD[@]}" >"$dir/topic.log" 2>&1 \
    || { log "error: could not create Brook topic:" >&2; cat "$dir/topic.log" >&2; exit 1; }
  local label="[run $run/$RUNS] [$size B] ${MODE_TAG}brook"
  brook perf produce --bootstrap-server "$BROOK_BOOTSTRAP" --topic "$topic" --num-records "$n" --record-size "$size" \
    --throughput "$THROUGHPUT" --acks "$ACKS" --batch-size 65536 --linger-ms 5
  run_tool "$label produce:" "$WORK/logs/brook-produce-$run-$size.log" 'records sent,.*99\.9th'
  if [ -n "$SUMMARY" ]; then
    record "$size" brook produce "$(awk -F', ' '{ split($2, a, " "); print a[1] }' <<<"$SUMMARY")" \
      "$(sed -E 's/.*\(([0-9.]+) MB\/sec\).*/\1/' <<<"$SUMMARY")"
  fi
  brook perf consume --bootstrap-server "$BROOK_BOOTSTRAP" --topic "$topic" --num-records "$n" --timeout-ms 30000
  run_tool "$label consume:" "$WORK/logs/brook-consume-$run-$size.log" 'records received,'
  if [ -n "$SUMMARY" ]; then
    record "$size" brook consume "$(awk -F', ' '{ split($2, a, " "); print a[1] }' <<<"$SUMMARY")" \
      "$(sed -E 's/.*\(([0-9.]+) MB\/sec\).*/\1/' <<<"$SUMMARY")"
  fi
  stop_pids "${BROOK_PIDS[@]}"
  if [ "$CLUSTER" -eq 1 ]; then
    cp "$dir/server.log" "$WORK/logs/brook-server-$run-$size.log" 2>/dev/null || true
  else
    local id
    for ((id = 1; id <= CLUSTER; id++)); do
      cp "$dir/node$id/server.log" "$WORK/logs/brook-server-$run-$size-node$id.log" 2>/dev/null || true
    done
  fi
  rm -rf "$dir"
}

# ------------------------------------------------------------------------------------------ main

print_medians() {
  [ -s "$WORK/results.tsv" ] || return 0
  log ""
  [ "$CLUSTER" -gt 1 ] && log "Replicated: $CLUSTER nodes per system, RF $RF, min.insync.replicas $MIN_ISR, acks=$ACKS"
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
  if [ "$CLUSTER" -eq 1 ]; then
    log "Kafka: $(basename "$(ls "$KAFKA_LIB"/kafka_2.13-*.jar)" .jar), JVM: $KAFKA_SERVER_HEAP_OPTS (broker), $KAFKA_TOOL_HEAP_OPTS (tools)"
  else
    log "Kafka: $(basename "$(ls "$KAFKA_LIB"/kafka_2.13-*.jar)" .jar), JVM: $KAFKA_CLUSTER_HEAP_OPTS (each of $CLUSTER broker+controller nodes), $KAFKA_TOOL_HEAP_OPTS (tools)"
    log "Replicated: $CLUSTER nodes per system on 127.0.0.1 (Kafka: KRaft combined broker+controller, quorum of all $CLUSTER;" \
      "Brook: brook server, roles quorum,broker, JVM options ${BROOK_JAVA_OPTS:-default}); topic: 6 partitions, RF $RF," \
      "min.insync.replicas $MIN_ISR; producer acks=$ACKS"
  fi
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
