#!/usr/bin/env bash
# `make bench`, scenario `profiles`: what a profile switch costs and what the profiles buy.
#  1. Switch cost on a live job (generator → dedupe → key_by → 1-minute windows, RocksDB, checkpoints; a
#     parallelism change rescales both operators at one barrier): request to
#     applied and stop-the-world ms, without and with a parallelism change (targets < 100 ms and < 1 s).
#  2. Freshness: Kafka → filter → Kafka sink on the embedded broker fed live at RATE rows/s, the time from a
#     row's produce to the sink's produce of it (HdrHistogram p50/p99), steady with 1 s checkpoints (target
#     p99 < 50 ms), then backfill on the same feed for contrast.
#  3. Throughput: the orders job of examples/orders.yaml (automatic switching off) on the same generated
#     backlog of ORDERS_ROWS rows in 64 partitions, under backfill and under steady.
# Environment: RATE (50000), SECONDS (10), ORDERS_ROWS (1000000), WORK (/tmp/streamctl-profiles).
set -euo pipefail
cd "$(dirname "$0")/.."
S=${STREAMCTL:-.build/release/streamctl}
RATE=${RATE:-50000}
SECS=${SECONDS_LIVE:-10}
ROWS=${ORDERS_ROWS:-1000000}
WORK=${WORK:-/tmp/streamctl-profiles}
mkdir -p "$WORK"

$S bench switch-cost
$S bench latency --rate "$RATE" --seconds "$SECS" --profile steady --set checkpoint.interval=1s 2> "$WORK/latency-steady.log"
$S bench latency --rate "$RATE" --seconds "$SECS" --profile backfill --set checkpoint.interval=1s \
    2> "$WORK/latency-backfill.log"

sed -e 's/enabled: true/enabled: false/' -e "s#out/orders#$WORK/out#" -e "s#\./state/orders#$WORK/state#" \
    -e "s#\./checkpoints/orders#$WORK/checkpoints#" examples/orders.yaml > "$WORK/orders.yaml"
for p in backfill steady; do
    rm -f "$WORK/summary-$p.json"
    $S run "$WORK/orders.yaml" --generate "$ROWS" --partitions 64 --until caught-up --profile $p --fresh \
        --progress off --summary "$WORK/summary-$p.json" > /dev/null 2> "$WORK/orders-$p.log" \
        || { tail -5 "$WORK/orders-$p.log"; exit 1; }
    awk -v p=$p '{
        match($0, /"rows_in":[0-9]+/); rows = substr($0, RSTART + 10, RLENGTH - 10)
        match($0, /"duration_ms":[0-9]+/); ms = substr($0, RSTART + 14, RLENGTH - 14)
        printf "bench=orders_profile profile=%s rows=%d seconds=%.2f rows_per_s=%d\n", p, rows, ms / 1000, rows * 1000 / ms }' \
        "$WORK/summary-$p.json"
done
