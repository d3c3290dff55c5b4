#!/usr/bin/env bash
# `make bench`, checkpoints: what a checkpoint costs and what it saves.
#  1. The orders job (generator input of bench/orders-data.yaml: 10,000 skewed shops, 30 days; RocksDB state,
#     file sink) with checkpoints every CKPT_INTERVAL (default 1s; a 10 s interval would not fire in a run
#     this short) and without checkpoints: rows/s and CPU µs per row of both.
#  2. A state of KEYS distinct keys (default "1000000 10000000"; a running count per order_id): every
#     checkpoint's duration, stop-the-world pause and bytes copied, incremental and full.
#  3. Recovery after kill -9: a run killed after a checkpoint, restarted; time until it runs again.
set -euo pipefail
cd "$(dirname "$0")/.."
S=${STREAMCTL:-.build/release/streamctl}
WORK=${WORK:-/tmp/streamctl-checkpoints}
ROWS=${CKPT_ROWS:-2500000}
INTERVAL=${CKPT_INTERVAL:-1s}
KEYS=${KEYS:-"1000000 10000000"}
rm -rf "$WORK"; mkdir -p "$WORK"

orders() { # NAME WITH_CHECKPOINTS
  cat > "$WORK/$1.yaml" <<YAML
name: ckpt-bench-$1
schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
source:
  generator: { seed: 15, rows: $ROWS, keys: 10000, skew: 1.1, disorder: 5s, start_time: "2026-10-01T00:00:00Z", step: 1037ms, splits: 2 }
  event_time: { field: ts, max_disorder: 5s }
operators:
  - key_by: shop
  - window: { tumbling: 1h, aggregate: { orders: count(), revenue: sum(amount) } }
sink:
  file: { path: $WORK/$1/out, bucket: "date={window_start:%Y-%m-%d}/hour={window_start:%H}", format: json }
state: { backend: rocksdb, dir: $WORK/$1/state, memory: 256MiB }
$([ "$2" = yes ] && echo "checkpoints: { dir: $WORK/$1/checkpoints, retain: 2 }")
profiles: { initial: steady, overrides: { steady: { checkpoint: { interval: $INTERVAL } } } }
YAML
}

report() { # NAME ROWS TIMEFILE LOG
  read -r wall user sys rss < "$3"
  local n; n=$(grep -c " complete: " "$4" || true)
  local pause; pause=$( (grep -o "pause [0-9]* ms" "$4" || true) | awk '{s+=$2; if ($2>m) m=$2} END {printf "%d/%d", (NR? s/NR:0), m}')
  awk -v n="$1" -v r="$2" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" -v c="$n" -v p="$pause" 'BEGIN {
    printf "bench=%s rows=%d seconds=%.2f rows_per_s=%d cpu_us_per_row=%.2f peak_rss_mib=%.0f checkpoints=%d pause_ms_avg/max=%s\n",
      n, r, w, r / w, (u + s) * 1e6 / r, m / 1024, c, p }'
}

echo "== checkpoints: the orders job, $ROWS rows, checkpoints every $INTERVAL versus none"
for mode in none yes; do
  orders "orders-$mode" "$mode"
  /usr/bin/time -o "$WORK/orders-$mode.time" -f "%e %U %S %M" $S run "$WORK/orders-$mode.yaml" --progress off \
    > /dev/null 2> "$WORK/orders-$mode.log" || { tail -5 "$WORK/orders-$mode.log"; exit 1; }
  report "orders-checkpoints-$mode" "$ROWS" "$WORK/orders-$mode.time" "$WORK/orders-$mode.log"
done

keyed() { # NAME KEYS INCREMENTAL
  cat > "$WORK/$1.yaml" <<YAML
name: ckpt-keys-$1
schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
source:
  generator: { seed: 3, rows: $2, keys: 100, splits: 2, step: 1ms, start_time: "2026-10-01T00:00:00Z" }
  event_time: { field: ts, max_disorder: 1s }
operators:
  - key_by: order_id
  - aggregate: { aggregate: { n: count() } }
sink: { "null": {} }
state: { backend: rocksdb, dir: $WORK/$1/state, memory: 256MiB }
checkpoints: { dir: $WORK/$1/checkpoints, retain: 2 }
profiles: { initial: steady, overrides: { steady: { checkpoint: { interval: 2s, incremental: $3 } } } }
YAML
}

for k in $KEYS; do
  for inc in true false; do
    name="keys-$k-$([ $inc = true ] && echo incremental || echo full)"
    keyed "$name" "$k" "$inc"
    /usr/bin/time -o "$WORK/$name.time" -f "%e %U %S %M" $S run "$WORK/$name.yaml" --progress off \
      > /dev/null 2> "$WORK/$name.log" || { tail -5 "$WORK/$name.log"; exit 1; }
    grep " complete: " "$WORK/$name.log" | sed -E 's/^checkpoint ([0-9]+) complete: ([0-9]+) state files, ([0-9]+) bytes copied.*, ([0-9]+) ms, pause ([0-9]+) ms/  bench=checkpoint keys='"$k"' kind='"$([ $inc = true ] && echo incremental || echo full)"' id=\1 files=\2 bytes_copied=\3 duration_ms=\4 pause_ms=\5/'
  done
done

echo "== recovery: killed after a checkpoint, restarted (time until it reads again)"
keyed recovery 3000000 true
$S run "$WORK/recovery.yaml" --progress off > /dev/null 2> "$WORK/recovery-1.log" &
pid=$!
for _ in $(seq 1 600); do grep -q " complete: " "$WORK/recovery-1.log" && break; sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null || true
t0=$(date +%s%N)
$S run "$WORK/recovery.yaml" --progress off --max-records 1 > /dev/null 2> "$WORK/recovery-2.log" &
pid=$!
for _ in $(seq 1 6000); do grep -q "^running " "$WORK/recovery-2.log" && break; sleep 0.005; done
t1=$(date +%s%N)
wait $pid || true
state=$(du -sb "$WORK/recovery/checkpoints" | cut -f1)
echo "bench=recovery checkpoint_bytes=$state restore_ms=$(( (t1 - t0) / 1000000 ))"
