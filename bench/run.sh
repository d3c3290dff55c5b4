#!/usr/bin/env bash
# `make bench`: every figure in one run, each beside its reference where one exists.
# Needs .build/release/streamctl (make build), kcat and db_bench (make bench installs them).
# Environment: ORDERS_ROWS and FILE_ROWS_BIG (bench/orders.sh), ROWS (micro-pipeline rows, default 5M), KAFKA_ROWS (default 2M), STATE_SIZES (default "1000000 10000000").
set -euo pipefail
cd "$(dirname "$0")/.."
S=.build/release/streamctl
ROWS=${ROWS:-5000000}
KAFKA_ROWS=${KAFKA_ROWS:-2000000}

echo "== machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "== startup: time to validate and plan the orders job"
/usr/bin/time -f "startup_seconds=%e peak_rss_kib=%M" $S validate examples/orders.yaml 2>&1 | tail -2

echo "== decode: JSON → columns, one thread"
$S bench decode --rows 2000000

echo "== orders: the orders job on the realistic workload, Kafka (beside kcat) and files (bench/orders.sh)"
STREAMCTL=$S bash bench/orders.sh

echo "== checkpoints: cost with and without, per-checkpoint duration, pause and bytes at 1M and 10M keys, recovery (bench/checkpoints.sh)"
STREAMCTL=$S bash bench/checkpoints.sh

echo "== profiles: switch cost, produce → sink-produce latency (steady, 1 s checkpoints), orders backfill vs steady (bench/profiles.sh)"
STREAMCTL=$S bash bench/profiles.sh

echo "== micro-pipeline: generator (1,000 shops) → key_by → 1-hour windows → null sink; a micro-benchmark of the runtime"
for p in 1 2; do $S bench micro-pipeline --rows "$ROWS" --parallelism $p; done
$S bench micro-pipeline --rows "$ROWS" --parallelism 2 --state rocksdb

echo "== kafka: kcat -C -e versus streamctl consume + decode, same embedded topic, same run"
$S bench kafka --rows "$KAFKA_ROWS" --partitions 64 --parallelism 2
$S bench kafka --rows "$KAFKA_ROWS" --partitions 64 --parallelism 2 --assignment group

echo "== state: RocksDB keyed read-modify-write versus db_bench"
SIZES=${STATE_SIZES:-"1000000 10000000"} STREAMCTL=$S bash bench/state-bench.sh

echo "== memory: 10M distinct keys of state held against state.memory (process RSS, jemalloc, RocksDB side by side)"
for m in 256MiB 1GiB; do $S bench state --keys 10000000 --updates 10000000 --memory $m; done
