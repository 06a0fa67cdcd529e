#!/usr/bin/env bash
# The figures of issue 17, each next to its target, in one run:
#
#   benches/service.sh                 every figure
#   benches/service.sh throughput      only some (names below)
#
# One function per figure, `figure_NAME`; FIGURES lists them in the order
# they run. A name without its function yet is reported as such. Every
# server is started on a free loopback port with a fresh state folder and
# stopped by its pid (trap), also when the script fails. Work files go to
# $BENCH_DIR (default /tmp/ordo-bench.PID), removed at the end unless
# BENCH_KEEP=1. Knobs: BENCH_SECONDS (throughput run length, 10),
# BENCH_CLIENTS ("1 2 4 8"), BENCH_RATE and BENCH_SUSTAIN_SECONDS (the paced
# run: 500 posts/s for 30 s), BENCH_PARKED ("1000 10000"), BENCH_BIN (below).
# Results are also appended as JSON lines to $BENCH_DIR/results.jsonl.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/ordo-bench.$$}
# BENCH_BIN=DIR: the binaries already built in DIR (ordo, examples/loadgen,
# examples/generate), for a paired run of two builds; nothing is built.
BIN=${BENCH_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release}
FIGURES=(throughput sustained parked durable_noop makespan plan check)
SERVER_PIDS=()

mkdir -p "$BENCH_DIR"

cleanup() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${SERVER_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$BENCH_DIR"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- shared

build() {
    if [ -n "${BENCH_BIN:-}" ]; then return 0; fi
    (cd "$ROOT" && CARGO_INCREMENTAL=0 cargo build --release --quiet \
        --bin ordo --example loadgen --example generate)
}

# start_server NAME CATALOG [ARGS...]: `ordo serve` on a fresh state folder
# $BENCH_DIR/NAME/state (kept if it exists: a restart); sets SERVER_PID and
# SERVER_URL once it listens; its stderr is $BENCH_DIR/NAME/serve.log.
start_server() {
    local name=$1 catalog=$2
    shift 2
    local dir=$BENCH_DIR/$name
    mkdir -p "$dir"
    : >"$dir/serve.log"
    ORDO_LOG=${ORDO_LOG:-warn} "$BIN/ordo" serve --listen 127.0.0.1:0 \
        --state "$dir/state" --catalog "$catalog" "$@" 2>>"$dir/serve.log" &
    SERVER_PID=$!
    SERVER_PIDS+=("$SERVER_PID")
    local i
    for i in $(seq 1 600); do
        SERVER_URL=$(sed -n 's/^ordo serve: listening on \(http:[^ ]*\)$/\1/p' "$dir/serve.log")
        if [ -n "$SERVER_URL" ]; then return 0; fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "ordo serve ($name) exited:" >&2
            cat "$dir/serve.log" >&2
            return 1
        fi
        sleep 0.05
    done
    echo "ordo serve ($name) did not listen within 30 s" >&2
    return 1
}

# stop_server PID [SIGNAL]
stop_server() {
    kill "-${2:-TERM}" "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local kept=() pid
    for pid in "${SERVER_PIDS[@]}"; do
        if [ "$pid" != "$1" ]; then kept+=("$pid"); fi
    done
    SERVER_PIDS=("${kept[@]}")
}

# rss_mb PID: resident set of a process, in MB (VmRSS), and its peak (VmHWM).
rss_mb() {
    awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {printf "%.1f %.1f\n", r/1024, h/1024}' \
        "/proc/$1/status"
}

# cpu_s PID: user+sys CPU seconds a process has used so far.
cpu_s() {
    awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}

# metric URL NAME: the value of one line of /metrics (NAME with its labels).
metric() {
    curl -sf "$1/metrics" | awk -v n="$2" '$1 == n {print $2}'
}

# row FIGURE VALUE TARGET VERDICT: one line of the summary.
row() {
    printf '  %-44s %-22s %-18s %s\n' "$1" "$2" "$3" "$4"
}

# ok CONDITION (awk expression): "ok" or "MISSED".
verdict() {
    if awk "BEGIN {exit !($1)}"; then echo ok; else echo MISSED; fi
}

record() {
    echo "$1" >>"$BENCH_DIR/results.jsonl"
}

# The catalog the service figures use: a generated product of 18 tasks (the
# catalog's order block adds two: 20 tasks an order) and the parked
# product, every action simulated (no --bindings).
service_catalog() {
    local out=$BENCH_DIR/synth
    if [ ! -d "$out/catalog" ]; then
        "$BIN/examples/generate" --products 1 --tasks 18 --items 1 --seed 1 --out "$out" >/dev/null
        cp "$ROOT/benches/service/parked.ordo" "$out/catalog/"
        sed 's/^id: ORD-SYNTH$/id: "{{id}}"/' "$out/order.yaml" >"$out/template.yaml"
    fi
    echo "$out"
}

# ------------------------------------------- figure: throughput (service)
# Through `ordo serve` (SQLite, durable, simulated actions), 20-task orders
# posted by 1, 2, 4, 8 closed-loop clients for BENCH_SECONDS each, on a
# fresh server each: posts/s, POST latency, and orders/s end to end (until
# every order submitted has completed). Target at 8 clients: >= 500
# orders/s sustained, POST p99 <= 20 ms.
figure_throughput() {
    local synth seconds=${BENCH_SECONDS:-10} clients out tasks
    synth=$(service_catalog)
    tasks=$("$BIN/ordo" plan --catalog "$synth/catalog" "$synth/order.yaml" --format json |
        grep -c '"action"' || true)
    echo "throughput: $tasks tasks an order, ${seconds} s per run, fresh server each"
    for clients in ${BENCH_CLIENTS:-1 2 4 8}; do
        rm -rf "$BENCH_DIR/throughput"
        start_server throughput "$synth/catalog"
        local pid=$SERVER_PID cpu0
        cpu0=$(cpu_s "$pid")
        out=$("$BIN/examples/loadgen" --url "$SERVER_URL" --template "$synth/template.yaml" \
            --clients "$clients" --duration "$seconds" --until completed --json \
            --prefix "T$clients") || echo "  loadgen failed (some posts failed or orders did not end): $out" >&2
        local cpu1 rss
        cpu1=$(cpu_s "$pid")
        rss=$(rss_mb "$pid")
        stop_server "$pid"
        local posts_s p99 e2e n
        posts_s=$(jq -r .posts_per_s <<<"$out")
        p99=$(jq -r .post_ms.p99 <<<"$out")
        e2e=$(jq -r .orders_per_s <<<"$out")
        n=$(jq -r .submitted <<<"$out")
        local cpu_ms
        cpu_ms=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" 'BEGIN {printf "%.2f", (b - a) * 1000 / n}')
        echo "  $clients clients: $posts_s posts/s, POST p50 $(jq -r .post_ms.p50 <<<"$out") p99 $p99 max $(jq -r .post_ms.max <<<"$out") ms, $e2e orders/s end to end, server CPU $cpu_ms ms an order, RSS ${rss%% *} MB"
        record "$(jq -c --arg f throughput --argjson cpu "$cpu_ms" '. + {figure: $f, server_cpu_ms_per_order: $cpu}' <<<"$out")"
        if [ "$clients" = 8 ]; then
            row "orders/s end to end, 8 clients" "$e2e" ">= 500" "$(verdict "$e2e >= 500")"
            row "POST p99, 8 clients (ms)" "$p99" "<= 20" "$(verdict "$p99 <= 20")"
        fi
    done
}
# --------------------------------------------- end figure: throughput

# ------------------------------------------ figure: sustained (service)
# The same orders posted on a schedule rather than as fast as the clients
# can: 8 clients, BENCH_RATE posts a second in all (500), for
# BENCH_SUSTAIN_SECONDS (30), on a fresh server; each post's latency counts
# from when it was due (loadgen --rate). The server sustains the rate when
# every order has ended about one run after the last post: the lag stays
# under a second however long the run (a backlog would grow with it).
figure_sustained() {
    local synth rate=${BENCH_RATE:-500} seconds=${BENCH_SUSTAIN_SECONDS:-30} out
    synth=$(service_catalog)
    rm -rf "$BENCH_DIR/sustained"
    start_server sustained "$synth/catalog"
    local pid=$SERVER_PID cpu0 cpu1
    cpu0=$(cpu_s "$pid")
    out=$("$BIN/examples/loadgen" --url "$SERVER_URL" --template "$synth/template.yaml" \
        --clients 8 --rate "$rate" --duration "$seconds" --until completed --json \
        --prefix S) || echo "  loadgen failed (some posts failed or orders did not end): $out" >&2
    cpu1=$(cpu_s "$pid")
    stop_server "$pid"
    local e2e lag p99 n cpu_ms
    e2e=$(jq -r .orders_per_s <<<"$out")
    lag=$(jq -r .lag_seconds <<<"$out")
    p99=$(jq -r .post_ms.p99 <<<"$out")
    n=$(jq -r .submitted <<<"$out")
    cpu_ms=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" 'BEGIN {printf "%.2f", (b - a) * 1000 / n}')
    echo "  $rate posts/s for $seconds s, 8 clients: $(jq -r .posts_per_s <<<"$out") posts/s, POST p50 $(jq -r .post_ms.p50 <<<"$out") p99 $p99 max $(jq -r .post_ms.max <<<"$out") ms, $e2e orders/s end to end, last order ended $lag s after the last post, server CPU $cpu_ms ms an order"
    record "$(jq -c --arg f sustained --argjson cpu "$cpu_ms" '. + {figure: $f, server_cpu_ms_per_order: $cpu}' <<<"$out")"
    row "lag after the last post at $rate/s (s)" "$lag" "<= 1" "$(verdict "$lag <= 1")"
    row "POST p99 at $rate/s (ms)" "$p99" "<= 20" "$(verdict "$p99 <= 20")"
}
# ---------------------------------------------- end figure: sustained

# ---------------------------------------------- figure: parked (service)
# N orders parked on a work item and a timer (benches/service/parked.ordo),
# for N in BENCH_PARKED: the server's RSS once all are parked; then SIGTERM
# and a new server on the same state folder: the time from its start until
# it reports every order known and every timer armed (`ordo_engine_ready 1`
# in /metrics, with `ordo_orders_parked` and `ordo_timers_armed`). Target at
# 10,000: RSS <= 200 MB, restart <= 2 s.
figure_parked() {
    local synth n
    synth=$(service_catalog)
    for n in ${BENCH_PARKED:-1000 10000}; do
        rm -rf "$BENCH_DIR/parked"
        start_server parked "$synth/catalog"
        local pid=$SERVER_PID
        "$BIN/examples/loadgen" --url "$SERVER_URL" --template "$ROOT/benches/service/parked.yaml" \
            --clients 8 --orders "$n" --prefix P --json >"$BENCH_DIR/parked.submit.json" ||
            echo "  loadgen failed: $(cat "$BENCH_DIR/parked.submit.json")" >&2
        wait_parked "$SERVER_URL" "$n" "$pid"
        local rss
        rss=$(rss_mb "$pid")
        stop_server "$pid"
        local began ready cpu
        began=$(date +%s.%N)
        start_server parked "$synth/catalog"
        pid=$SERVER_PID
        wait_parked "$SERVER_URL" "$n" "$pid"
        ready=$(awk -v a="$began" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
        cpu=$(cpu_s "$pid")
        local rss2
        rss2=$(rss_mb "$pid")
        stop_server "$pid"
        echo "  $n parked: RSS ${rss%% *} MB (peak ${rss##* }), restart until ready $ready s (server CPU $cpu s, RSS after restart ${rss2%% *} MB)"
        record "{\"figure\":\"parked\",\"orders\":$n,\"rss_mb\":${rss%% *},\"rss_peak_mb\":${rss##* },\"restart_s\":$ready,\"restart_cpu_s\":$cpu}"
        if [ "$n" = 10000 ]; then
            row "RSS, 10k parked orders (MB)" "${rss%% *}" "<= 200" "$(verdict "${rss%% *} <= 200")"
            row "restart until ready, 10k parked (s)" "$ready" "<= 2" "$(verdict "$ready <= 2")"
        fi
    done
}

# wait_parked URL N PID: until the engine is ready with N parked orders and
# N timers armed (30 minutes at most). Between two reads of /metrics (which
# counts every order) it waits four times as long as the last one took,
# from 20 ms to 250 ms, so that it does not keep the server from the orders
# it waits for (the restart's time is then known to 250 ms at 100k orders).
wait_parked() {
    local m took until=$((SECONDS + 1800))
    while [ "$SECONDS" -lt "$until" ]; do
        m=$(curl -sf -w '\n%{time_total}' "$1/metrics" || true)
        took=$(tail -n 1 <<<"$m")
        if grep -qx 'ordo_engine_ready 1' <<<"$m" &&
            grep -qx "ordo_orders_parked $2" <<<"$m" &&
            grep -qx "ordo_timers_armed $2" <<<"$m"; then
            return 0
        fi
        kill -0 "$3" || return 1
        sleep "$(awk -v t="${took:-0}" 'BEGIN {s = 4 * t; if (s < 0.02) s = 0.02; if (s > 0.25) s = 0.25; print s}')"
    done
    echo "the server did not park $2 orders:" >&2
    grep -E '^ordo_(engine|orders|timers)' <<<"$m" >&2
    return 1
}
# ------------------------------------------------- end figure: parked

# timed OUT CMD...: runs CMD (stdout to /dev/null) under /usr/bin/time and
# writes "WALL_S CPU_S PEAK_RSS_KB" to OUT.
timed() {
    local out=$1
    shift
    if ! /usr/bin/time -o "$out" -f '%e %U %S %M' "$@" >/dev/null 2>"$out.err"; then
        cat "$out.err" >&2
        return 1
    fi
    awk '{printf "%s %.3f %s\n", $1, $2 + $3, $4}' "$out" >"$out.sum"
    mv "$out.sum" "$out"
}

# plain_dag NAME ITEMS: a bare DAG of actions (`generate --plain`, 50
# products of 10 tasks, ITEMS items: 10 tasks an item and the order's two)
# in $BENCH_DIR/NAME, with bindings files for noop and for simulated latency.
plain_dag() {
    local out=$BENCH_DIR/$1
    if [ ! -d "$out/catalog" ]; then
        "$BIN/examples/generate" --plain --products 50 --tasks 10 --items "$2" --seed 1 --out "$out" >/dev/null
        printf 'actions:\n  "*": { noop: {} }\n' >"$out/noop.yaml"
        printf 'actions:\n  "*": { simulate: { latency: %sms } }\n' "${LATENCY_MS:-20}" >"$out/latency.yaml"
    fi
    echo "$out"
}

# ------------------------------------------- figure: durable_noop
# One 10,002-task order of `noop` actions through `ordo run` (durable,
# SQLite, 8 jobs), whole process, median of 3 runs; beside it the floor:
# the same rows (each task's row updated twice, the run's own events
# appended again) written into the same database by plain SQLite from
# Python in one transaction, timed around the writing alone. Target: the
# run's tasks/s >= 0.7 x the floor's.
figure_durable_noop() {
    local dag k
    dag=$(plain_dag dag10k 1000)
    local walls=() cpus=()
    for k in 1 2 3; do
        rm -rf "$BENCH_DIR/noop-state-$k"
        timed "$BENCH_DIR/noop.time" "$BIN/ordo" run --catalog "$dag/catalog" "$dag/order.yaml" \
            --bindings "$dag/noop.yaml" --jobs 8 --state "$BENCH_DIR/noop-state-$k" --quiet
        read -r w c _ <"$BENCH_DIR/noop.time"
        walls+=("$w")
        cpus+=("$c")
    done
    local wall cpu tasks floor
    wall=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 2p)
    cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n 2p)
    tasks=$(sqlite3_count "$BENCH_DIR/noop-state-1/ordo.db")
    floor=$(python3 - "$BENCH_DIR/noop-state-1/ordo.db" <<'PY'
import sqlite3, statistics, sys, time
db = sys.argv[1]
times = []
for _ in range(3):
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    order, version = conn.execute("SELECT order_id, version FROM tasks LIMIT 1").fetchone()
    events = [e for (e,) in conn.execute(
        "SELECT event FROM events WHERE order_id = ? ORDER BY seq", (order,))]
    tasks = [i for (i,) in conn.execute(
        "SELECT idx FROM tasks WHERE order_id = ? AND version = ? ORDER BY idx", (order, version))]
    seq = conn.execute("SELECT max(seq) FROM events WHERE order_id = ?", (order,)).fetchone()[0]
    at = "2026-12-01T09:00:00.000Z"
    update = ("UPDATE tasks SET state = ?, attempts = 1, undo_attempts = 0, undoing = 0, outputs = ?, "
              "last_error = NULL, started_at = ?, finished_at = ?, process = NULL, "
              "next_attempt_at = NULL, not_before = NULL WHERE order_id = ? AND version = ? AND idx = ?")
    insert = "INSERT INTO events (order_id, seq, version, at, event) VALUES (?, ?, ?, ?, ?)"
    start = time.perf_counter()
    conn.execute("BEGIN")
    for k, idx in enumerate(tasks):
        conn.execute(update, ("running", "{}", at, None, order, version, idx))
        seq += 1
        conn.execute(insert, (order, seq, version, at, events[(2 * k) % len(events)]))
        conn.execute(update, ("done", '{"ref":"x"}', at, at, order, version, idx))
        seq += 1
        conn.execute(insert, (order, seq, version, at, events[(2 * k + 1) % len(events)]))
    conn.execute("COMMIT")
    times.append(time.perf_counter() - start)
    conn.close()
print(f"{len(tasks) / statistics.median(times):.0f}")
PY
)
    local rate ratio
    rate=$(awk -v t="$tasks" -v w="$wall" 'BEGIN {printf "%.0f", t / w}')
    ratio=$(awk -v r="$rate" -v f="$floor" 'BEGIN {printf "%.2f", r / f}')
    echo "  ordo run, $tasks noop tasks, durable, 8 jobs: wall $wall s, CPU $cpu s ($rate tasks/s); floor (same rows, Python sqlite3, one transaction): $floor tasks/s"
    record "{\"figure\":\"durable_noop\",\"tasks\":$tasks,\"wall_s\":$wall,\"cpu_s\":$cpu,\"tasks_per_s\":$rate,\"floor_tasks_per_s\":$floor}"
    row "durable noop against the floor" "${ratio}x" ">= 0.7x" "$(verdict "$ratio >= 0.7")"
}

# sqlite3_count DB: the tasks of the one order in an ordo database.
sqlite3_count() {
    python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM tasks').fetchone()[0])" "$1"
}
# ---------------------------------------------- end figure: durable_noop

# ----------------------------------------------- figure: makespan
# The same 10,002-task order with every action simulated at LATENCY_MS
# (20) and a worker for every task: the makespan (first start to last
# success, from the events log) against the critical path's length times
# the latency. Target: <= 1.05 x.
figure_makespan() {
    local dag
    dag=$(plain_dag dag10k 1000)
    "$BIN/ordo" plan --catalog "$dag/catalog" "$dag/order.yaml" --format json >"$BENCH_DIR/dag10k.plan.json"
    rm -rf "$BENCH_DIR/makespan-state"
    local tasks
    tasks=$(jq '.tasks | length' "$BENCH_DIR/dag10k.plan.json")
    timed "$BENCH_DIR/makespan.time" "$BIN/ordo" run --catalog "$dag/catalog" "$dag/order.yaml" \
        --bindings "$dag/latency.yaml" --jobs "$tasks" --state "$BENCH_DIR/makespan-state" --quiet
    local line
    line=$(python3 - "$BENCH_DIR/dag10k.plan.json" "$BENCH_DIR/makespan-state" "${LATENCY_MS:-20}" <<'PY'
import json, sys
from datetime import datetime
plan = json.load(open(sys.argv[1]))
latency = int(sys.argv[3])
events = [json.loads(l) for l in open(f"{sys.argv[2]}/events/{plan['order']}.jsonl")]
ts = lambda e: datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp()
start = min(ts(e) for e in events if e["event"] == "started")
end = max(ts(e) for e in events if e["event"] == "succeeded")
bound = len(plan["critical_path"]) * latency / 1000
print(f"{len(plan['critical_path'])} {bound:.3f} {end - start:.3f} {(end - start) / bound:.2f}")
PY
)
    local cp bound span ratio cpu
    read -r cp bound span ratio <<<"$line"
    read -r _ cpu _ <"$BENCH_DIR/makespan.time"
    echo "  $tasks tasks, ${LATENCY_MS:-20} ms each, $tasks workers: critical path $cp tasks = $bound s, makespan $span s (${ratio}x), ordo CPU $cpu s"
    record "{\"figure\":\"makespan\",\"tasks\":$tasks,\"critical_path_s\":$bound,\"makespan_s\":$span,\"cpu_s\":$cpu}"
    row "makespan against the critical path" "${ratio}x" "<= 1.05x" "$(verdict "$ratio <= 1.05")"
}
# -------------------------------------------------- end figure: makespan

# --------------------------------------------------- figure: plan
# `ordo plan --format json > /dev/null` of a 100,002-task order (200
# products, 10 tasks an item, 10,000 items): wall, CPU, peak RSS, best of 3
# by CPU. Targets: <= 300 ms and <= 1 KB a task. (`ordo status` against
# planning: docs/benchmarks.md, measured by hand.)
figure_plan() {
    local out=$BENCH_DIR/plan100k
    if [ ! -d "$out/catalog" ]; then
        "$BIN/examples/generate" --products 200 --tasks 10 --items 10000 --seed 1 --out "$out" >/dev/null
    fi
    local k best="" line
    for k in 1 2 3; do
        timed "$BENCH_DIR/plan.time" "$BIN/ordo" plan --catalog "$out/catalog" "$out/order.yaml" --format json
        line=$(cat "$BENCH_DIR/plan.time")
        if [ -z "$best" ] || awk -v a="${line#* }" -v b="${best#* }" 'BEGIN {exit !(a + 0 < b + 0)}'; then best=$line; fi
    done
    local wall cpu rss tasks
    read -r wall cpu rss <<<"$best"
    tasks=100002
    local per_task
    per_task=$(awk -v r="$rss" -v t="$tasks" 'BEGIN {printf "%.2f", r * 1024 / t / 1000}')
    echo "  ordo plan --format json, $tasks tasks: wall $wall s, CPU $cpu s, peak RSS $((rss / 1024)) MB ($per_task KB a task)"
    record "{\"figure\":\"plan\",\"tasks\":$tasks,\"wall_s\":$wall,\"cpu_s\":$cpu,\"rss_kb\":$rss}"
    row "ordo plan, 100k tasks (CPU s)" "$cpu" "<= 0.3" "$(verdict "$cpu <= 0.3")"
    row "ordo plan, 100k tasks (KB a task)" "$per_task" "<= 1" "$(verdict "$per_task <= 1")"
}
# ------------------------------------------------------ end figure: plan

# -------------------------------------------------- figure: check
# `ordo check` of a generated 5,000-product catalog (about 5.7 MB): source
# bytes over CPU seconds, and peak RSS over source bytes, best of 3.
# Targets: >= 20 MB/s, <= 15 bytes a byte.
figure_check() {
    local out=$BENCH_DIR/check5k
    if [ ! -d "$out/catalog" ]; then
        "$BIN/examples/generate" --products 5000 --items 10 --seed 1 --out "$out" >/dev/null
    fi
    local bytes k best="" line
    bytes=$(cat "$out"/catalog/*.ordo | wc -c)
    for k in 1 2 3; do
        timed "$BENCH_DIR/check.time" "$BIN/ordo" check --catalog "$out/catalog"
        line=$(cat "$BENCH_DIR/check.time")
        if [ -z "$best" ] || awk -v a="${line#* }" -v b="${best#* }" 'BEGIN {exit !(a + 0 < b + 0)}'; then best=$line; fi
    done
    local wall cpu rss mbs per_byte
    read -r wall cpu rss <<<"$best"
    mbs=$(awk -v b="$bytes" -v c="$cpu" 'BEGIN {printf "%.1f", b / 1e6 / c}')
    per_byte=$(awk -v r="$rss" -v b="$bytes" 'BEGIN {printf "%.0f", r * 1024 / b}')
    echo "  ordo check, $bytes bytes of source: wall $wall s, CPU $cpu s ($mbs MB/s), peak RSS $((rss / 1024)) MB ($per_byte bytes a byte)"
    record "{\"figure\":\"check\",\"bytes\":$bytes,\"wall_s\":$wall,\"cpu_s\":$cpu,\"rss_kb\":$rss}"
    row "ordo check (MB/s of CPU)" "$mbs" ">= 20" "$(verdict "$mbs >= 20")"
    row "ordo check (bytes of memory a byte)" "$per_byte" "<= 15" "$(verdict "$per_byte <= 15")"
}
# ----------------------------------------------------- end figure: check

# ------------------------------------------------------------------ main

main() {
    local wanted=("$@") name
    if [ ${#wanted[@]} -eq 0 ]; then wanted=("${FIGURES[@]}"); fi
    build
    echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
    for name in "${wanted[@]}"; do
        echo
        echo "== $name"
        if declare -F "figure_$name" >/dev/null; then
            "figure_$name"
        else
            echo "  no bench for this figure yet (benches/service.sh has no figure_$name)"
        fi
    done
    echo
    echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}

main "$@"
