#!/usr/bin/env bash
# Orders/s end to end with 1, 2 and 3 `ordo serve` on one PostgreSQL
# (docs/benchmarks.md, "Scale-out"). Each run starts N release servers on a
# fresh schema, drives them with examples/loadgen.rs (its clients spread
# round-robin over the servers), counts an order when a server lists it
# final (submit until completed, not just accepted), then stops the servers
# and drops the schema. Server counts are interleaved (1, 2, 3, 1, 2, 3, …)
# so that a neighbour's load on a shared machine falls on all of them alike.
#
#   benches/scale-out.sh                      # 3 rounds of 1, 2, 3 servers
#   ROUNDS=1 ORDERS=300 benches/scale-out.sh
#
# Environment: ORDO_BENCH_DATABASE_URL (else ORDO_TEST_DATABASE_URL, else
# postgres://postgres@127.0.0.1:5432/test), ORDERS (per run, 600), CLIENTS
# (12), ROUNDS (3), SERVERS ("1 2 3"), LATENCY (each simulated action,
# 20ms), LEASE_MS (the runner lease, 30000), PROFILE (release; dev to try
# the script with a quick debug build). Prints one line per run and a
# median per server count; the CPU time is the servers' (user+sys, from
# /proc) and the load generator's.
set -euo pipefail

cd "$(dirname "$0")/.."
DB=${ORDO_BENCH_DATABASE_URL:-${ORDO_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}}
ORDERS=${ORDERS:-600}
CLIENTS=${CLIENTS:-12}
ROUNDS=${ROUNDS:-3}
SERVERS=${SERVERS:-"1 2 3"}
LATENCY=${LATENCY:-20ms}
LEASE_MS=${LEASE_MS:-30000}
TICK=$(getconf CLK_TCK)

PROFILE=${PROFILE:-release}
cargo build --profile "$PROFILE" --quiet --bin ordo --example loadgen
dir=target/$PROFILE
[ "$PROFILE" = dev ] && dir=target/debug
ORDO=$dir/ordo
LOADGEN=$dir/examples/loadgen

work=$(mktemp -d /tmp/ordo-scale-out.XXXXXX)
pids=()
schema=""
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "$schema" ]; then
        PGOPTIONS="-c client_min_messages=warning" psql -q "$DB" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Every action simulated, taking $LATENCY: the servers' cost is the engine
# and the store, not a plugin.
cat >"$work/bindings.yaml" <<EOF
actions:
  "*": { simulate: { latency: $LATENCY } }
EOF
# The server tests' Box: three tasks at once, then a fourth.
cat >"$work/order.yaml" <<'EOF'
id: "{{id}}"
customer: { id: C-1, email: ada@example.com }
items:
  - id: "1"
    action: add
    product: Box
    attributes: { ms: 0 }
EOF

# CPU seconds (user+sys) a process used so far.
cpu_of() {
    awk -v t="$TICK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"
}

run() {
    local n=$1 round=$2
    schema="ordo_scale_out_$$_${n}_${round}"
    local url="$DB?options=-csearch_path%3D$schema"
    case "$DB" in *\?*) url="$DB&options=-csearch_path%3D$schema" ;; esac
    pids=()
    local urls=()
    for i in $(seq 1 "$n"); do
        ORDO_LEASE_MS=$LEASE_MS "$ORDO" serve --listen 127.0.0.1:0 --store "$url" \
            --state "$work/state-$n-$round-$i" --catalog tests/fixtures/serve/catalog \
            --bindings "$work/bindings.yaml" 2>"$work/serve-$i.log" &
        pids+=($!)
    done
    for i in $(seq 1 "$n"); do
        local addr=""
        for _ in $(seq 1 200); do
            addr=$(sed -n 's/^ordo serve: listening on //p' "$work/serve-$i.log" | head -1)
            [ -n "$addr" ] && break
            sleep 0.05
        done
        [ -n "$addr" ] || { cat "$work/serve-$i.log" >&2; exit 1; }
        urls+=(--url "$addr")
    done
    local out="$work/loadgen.json"
    /usr/bin/time -f "%U %S" -o "$work/loadgen.time" "$LOADGEN" "${urls[@]}" \
        --template "$work/order.yaml" --clients "$CLIENTS" --orders "$ORDERS" \
        --prefix "R$round" --until completed --json >"$out"
    local server_cpu=0
    for pid in "${pids[@]}"; do
        server_cpu=$(echo "$server_cpu + $(cpu_of "$pid")" | bc)
    done
    for pid in "${pids[@]}"; do kill "$pid"; done
    wait 2>/dev/null || true
    pids=()
    PGOPTIONS="-c client_min_messages=warning" psql -q "$DB" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null
    schema=""
    local loadgen_cpu
    loadgen_cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$work/loadgen.time")
    python3 - "$out" "$n" "$round" "$server_cpu" "$loadgen_cpu" "$ORDERS" <<'EOF' | tee -a "$work/results"
import json, sys
r = json.load(open(sys.argv[1]))
n, rnd, cpu, lg, orders = sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5], int(sys.argv[6])
print(f"servers {n} round {rnd}: {r['orders_per_s']} orders/s end to end "
      f"({r['submitted']} in {r['completed_seconds']} s, {r['not_final']} not final), "
      f"POST p50 {r['post_ms']['p50']} ms p99 {r['post_ms']['p99']} ms, "
      f"servers' CPU {cpu:.2f} s ({1000 * cpu / orders:.1f} ms/order), loadgen CPU {lg} s")
EOF
}

echo "scale-out: $ORDERS orders per run, $CLIENTS clients, actions of $LATENCY, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
    for n in $SERVERS; do
        run "$n" "$round"
    done
done
echo "median orders/s per server count:"
for n in $SERVERS; do
    grep "^servers $n " "$work/results" | sed 's/.*: \([0-9.]*\) orders\/s.*/\1/' | sort -n |
        awk -v n="$n" '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print "  " n " server(s): " m " (" NR " runs)" }'
done
