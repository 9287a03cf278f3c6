#!/usr/bin/env bash
# Compares the `latency` check with `oha` on this machine (a benchmark, not a test).
#
# Accuracy: against examples/latency_target.rs `/schedule` (6 of every 100
# requests at 600 ms, the rest at 20 ms: true p50 20 ms, true p95 = p99 = 600
# ms), at 2,000 and 20,000 requests, closed model, equal concurrency.
# Cost: against the zero-delay `/fast` at equal concurrency: requests per
# second and CPU seconds per request (user + system) of each tool.
#
# Only 127.0.0.1 is contacted. Usage: scripts/bench-latency.sh [concurrency] [cost_requests]
set -euo pipefail

cd "$(dirname "$0")/.."
CONC="${1:-50}"
COST_N="${2:-100000}"
ACC_CONC=100
OHA_VERSION="1.16.0"
OHA_ROOT="${OHA_ROOT:-target/bench-tools}"
OHA="$OHA_ROOT/bin/oha"
WORK="$(mktemp -d)"
SERVER_PID=""

cleanup() {
    if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if [[ ! -x "$OHA" ]]; then
    echo "installing oha $OHA_VERSION into $OHA_ROOT (cargo install --locked)" >&2
    cargo install oha --version "$OHA_VERSION" --locked --root "$OHA_ROOT"
fi
cargo build --release --quiet --bin readiness --example latency_target
READINESS=target/release/readiness
TARGET=target/release/examples/latency_target

start_server() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    "$TARGET" > "$WORK/server.out" &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        if grep -q '^port=' "$WORK/server.out" 2>/dev/null; then break; fi
        sleep 0.05
    done
    PORT="$(sed -n 's/^port=//p' "$WORK/server.out")"
}

# Runs a command under /usr/bin/time; prints "wall user sys" to $WORK/time.
timed() {
    /usr/bin/time -f "%e %U %S" -o "$WORK/time" "$@"
}

profile() { # path concurrency requests
    cat > "$WORK/readiness.toml" <<EOF
[target]
name = "bench"
base_url = "http://127.0.0.1:$PORT/"
scope = ["127.0.0.1:$PORT"]
max_rps = 1000000
max_requests = $(( $3 + 10 ))
timeout = "10s"
check_timeout = "600s"

[checks.https]
enabled = false

[checks.latency]
endpoints = ["$1"]
mode = "closed"
concurrency = $2
requests = $3
duration = "600s"
warmup = 0
p95_budget = "10s"
EOF
}

run_readiness() { # path concurrency requests -> prints "p50 p95 p99 rps sent"
    profile "$1" "$2" "$3"
    timed "$READINESS" audit --profile "$WORK/readiness.toml" --only latency \
        --format "json=$WORK/r.json" > /dev/null 2>&1 || true
    jq -r '.checks[] | select(.id=="latency") | .subjects[0].measurements |
        "\(.p50_ms) \(.p95_ms) \(.p99_ms) \(.achieved_rps) \(.sent)"' "$WORK/r.json"
}

run_oha() { # path concurrency requests -> prints "p50 p95 p99 rps sent"
    timed "$OHA" --no-tui --output-format json -n "$3" -c "$2" \
        "http://127.0.0.1:$PORT$1" > "$WORK/o.json"
    jq -r '"\(.latencyPercentiles.p50 * 1000) \(.latencyPercentiles.p95 * 1000)
        \(.latencyPercentiles.p99 * 1000) \(.summary.requestsPerSec)
        \(.statusCodeDistribution["200"])"' "$WORK/o.json" | tr '\n' ' '
    echo
}

echo "== accuracy: /schedule, true p50 20 ms, p95 600 ms, p99 600 ms, concurrency $ACC_CONC"
printf "%-10s %-9s %10s %10s %10s %10s %8s\n" tool requests p50_ms p95_ms p99_ms rps ok
for n in 2000 20000; do
    start_server
    read -r a b c d e <<< "$(run_oha /schedule "$ACC_CONC" "$n")"
    printf "%-10s %-9s %10.2f %10.2f %10.2f %10.1f %8s\n" oha "$n" "$a" "$b" "$c" "$d" "$e"
    start_server
    read -r a b c d e <<< "$(run_readiness /schedule "$ACC_CONC" "$n")"
    printf "%-10s %-9s %10.2f %10.2f %10.2f %10.1f %8s\n" readiness "$n" "$a" "$b" "$c" "$d" "$e"
done

echo
echo "== cost: /fast, $COST_N requests, concurrency $CONC (CPU = user + sys of the load tool)"
printf "%-10s %10s %10s %12s %14s\n" tool rps wall_s cpu_s cpu_us_per_req
start_server
read -r _ _ _ d _ <<< "$(run_oha /fast "$CONC" "$COST_N")"
read -r wall user sys < "$WORK/time"
printf "%-10s %10.0f %10s %12.2f %14.1f\n" oha "$d" "$wall" "$(echo "$user + $sys" | bc)" \
    "$(echo "($user + $sys) * 1000000 / $COST_N" | bc -l)"
start_server
read -r _ _ _ d _ <<< "$(run_readiness /fast "$CONC" "$COST_N")"
read -r wall user sys < "$WORK/time"
printf "%-10s %10.0f %10s %12.2f %14.1f\n" readiness "$d" "$wall" "$(echo "$user + $sys" | bc)" \
    "$(echo "($user + $sys) * 1000000 / $COST_N" | bc -l)"
