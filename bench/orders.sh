#!/usr/bin/env bash
# `make bench`, scenario `orders`: the orders job users run, on data the tests never see.
#
# Input (bench/orders-data.yaml, seed 15): 10,000 shops with Zipf skew 1.1, one order per 1,037 ms of
# event time (2.5M rows = 30 days), up to 5 s of disorder, the fields of examples/orders.yaml.
#  1. Kafka: the rows loaded into the embedded broker (`streamctl dev-broker`, 64 partitions, spread
#     round-robin so every shop is in every partition and partitions are even; keyed by order_id the
#     busiest partition would pass the mock broker's 5 MiB retention at 2.5M rows); in the same run
#     `kcat -C -e` reads the topic, then the orders job (RocksDB state, file sink) reads it `--until caught-up`.
#  2. Files: the same job from the JSON-lines file at ORDERS_ROWS and at FILE_ROWS_BIG (10× by default).
# Each line reports rows/s, CPU µs per row (user + sys), peak RSS, and for Kafka the ratio to kcat.
#
# Environment: ORDERS_ROWS (default 2500000), FILE_ROWS_BIG (default 10 × ORDERS_ROWS; 0 skips it),
# PARTITIONS (64), PARALLELISM (default: the profile's), WORK (scratch directory, default /tmp/streamctl-orders).
set -euo pipefail
cd "$(dirname "$0")/.."
S=${STREAMCTL:-.build/release/streamctl}
ROWS=${ORDERS_ROWS:-2500000}
BIG=${FILE_ROWS_BIG:-$((ROWS * 10))}
PARTITIONS=${PARTITIONS:-64}
WORK=${WORK:-/tmp/streamctl-orders}
PAR=${PARALLELISM:+--parallelism $PARALLELISM}
mkdir -p "$WORK"

# data ROWS → $WORK/orders-ROWS.jsonl (kept between runs: the generator is deterministic)
data() {
    local f="$WORK/orders-$1.jsonl"
    if [ ! -s "$f" ]; then
        sed "s/rows: 2500000/rows: $1/" bench/orders-data.yaml > "$WORK/gen-$1.yaml"
        $S run "$WORK/gen-$1.yaml" --progress off > "$f" 2> /dev/null
    fi
    echo "$f"
}

# report NAME ROWS TIMEFILE [EXTRA]: one line of figures from /usr/bin/time's "wall user sys rss_kib"
report() {
    read -r wall user sys rss < "$3"
    awk -v n="$1" -v r="$2" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" -v x="${4:-}" 'BEGIN {
        printf "bench=%s rows=%d seconds=%.2f rows_per_s=%d cpu_us_per_row=%.2f peak_rss_mib=%.0f %s\n",
            n, r, w, r / w, (u + s) * 1e6 / r, m / 1024, x }'
}

# job PIPELINE NAME ROWS OUTDIR SUBSTITUTIONS...: runs the orders job, prints its figures
job() {
    local yaml=$1 name=$2 rows=$3 out=$4
    shift 4
    rm -rf "$out"
    mkdir -p "$out"
    sed "$@" -e "s#OUTDIR#$out#g" "$yaml" > "$out.yaml"
    # A Kafka job reads to the end offsets sampled at start; a file job ends with its files.
    local until=""
    case "$yaml" in *kafka*) until="--until caught-up" ;; esac
    /usr/bin/time -o "$out.time" -f "%e %U %S %M" $S run "$out.yaml" --progress off $until $PAR ${JOBFLAGS:-} \
        > /dev/null 2> "$out.log" || { cat "$out.log"; exit 1; }
    local windows
    windows=$(find "$out/orders" -name 'part-*' -exec cat {} + | wc -l)
    report "$name" "$rows" "$out.time" "windows=$windows"
    grep -o '"stage_busy_ms":{[^}]*}' "$out.log" | sed 's/^/  /'
}

FILE=$(data "$ROWS")

echo "== orders: Kafka, $ROWS rows in $PARTITIONS partitions, kcat versus the orders job (RocksDB, file sink)"
rm -f "$WORK/broker.address"
$S dev-broker --topic "orders:$PARTITIONS" --load "$FILE" --address-file "$WORK/broker.address" \
    > "$WORK/broker.log" 2>&1 &
BROKER_PID=$!
trap 'kill $BROKER_PID 2> /dev/null || true' EXIT
for _ in $(seq 1 600); do
    [ -s "$WORK/broker.address" ] && break
    kill -0 $BROKER_PID 2> /dev/null || break
    sleep 0.5
done
[ -s "$WORK/broker.address" ] || { cat "$WORK/broker.log"; exit 1; }
BROKER=$(cat "$WORK/broker.address")
/usr/bin/time -o "$WORK/kcat.time" -f "%e %U %S %M" kcat -C -b "$BROKER" -t orders -o beginning -e -q > /dev/null
report kcat "$ROWS" "$WORK/kcat.time"
job bench/orders-kafka.yaml orders-kafka-rocksdb "$ROWS" "$WORK/kafka" -e "s#BROKER#$BROKER#" -e "s#BACKEND#rocksdb#" \
    | tee "$WORK/kafka.line"
awk -v k="$(awk '{print $1}' "$WORK/kcat.time")" '{ for (i = 1; i <= NF; i++) if ($i ~ /^seconds=/) {
    split($i, a, "="); printf "orders_kafka_rate_vs_kcat=%.1f%%\n", k / a[2] * 100 } }' "$WORK/kafka.line"
# The backfill profile (parallelism 2, 8192-row batches, 256 MiB of prefetch asked per consumer).
JOBFLAGS="--profile backfill" job bench/orders-kafka.yaml orders-kafka-rocksdb-backfill "$ROWS" "$WORK/kafka-backfill" \
    -e "s#BROKER#$BROKER#" -e "s#BACKEND#rocksdb#"
kill $BROKER_PID 2> /dev/null || true
wait $BROKER_PID 2> /dev/null || true

echo "== orders: the same job from the JSON-lines file"
job bench/orders-file.yaml orders-file-rocksdb "$ROWS" "$WORK/file" -e "s#INPUT#$FILE#" -e "s#BACKEND#rocksdb#"
job bench/orders-file.yaml orders-file-memory "$ROWS" "$WORK/file-memory" -e "s#INPUT#$FILE#" -e "s#BACKEND#memory#"
if [ "$BIG" -gt 0 ]; then
    BIGFILE=$(data "$BIG")
    job bench/orders-file.yaml orders-file-rocksdb "$BIG" "$WORK/file-big" -e "s#INPUT#$BIGFILE#" -e "s#BACKEND#rocksdb#"
fi
