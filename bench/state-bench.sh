#!/usr/bin/env bash
# Keyed state throughput: streamctl's batched read-modify-write (pre-aggregate 4096 rows, one MultiGet,
# one WriteBatch) beside db_bench's fillrandom and readrandom on the same key/value sizes, the ceiling
# RocksDB itself reaches on this machine.
#
#   bench/state-bench.sh                    # 1M and 10M keys, 256MiB budget
#   SIZES="1000000" MEMORY=128MiB bench/state-bench.sh
#
# Needs .build/release/streamctl (make build) and db_bench (Debian: rocksdb-tools).
# Environment: SIZES (distinct keys, space-separated), UPDATES (updates per run; default = keys),
# MEMORY (state budget, also db_bench's --cache_size), STATE_DIR (a local disk; default: a temp dir).
set -euo pipefail

STREAMCTL=${STREAMCTL:-.build/release/streamctl}
SIZES=${SIZES:-"1000000 10000000"}
MEMORY=${MEMORY:-256MiB}
WORK=$(mktemp -d "${STATE_DIR:-${TMPDIR:-/tmp}}/state-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

[ -x "$STREAMCTL" ] || { echo "state-bench: $STREAMCTL not found; run 'make build' first" >&2; exit 1; }
command -v db_bench >/dev/null || { echo "state-bench: db_bench not found; apt-get install rocksdb-tools" >&2; exit 1; }

# "256MiB" / "1GiB" / "512KiB" / plain bytes → bytes.
bytes() {
    local v=$1
    case $v in
        *GiB) echo $(( ${v%GiB} << 30 )) ;;
        *MiB) echo $(( ${v%MiB} << 20 )) ;;
        *KiB) echo $(( ${v%KiB} << 10 )) ;;
        *) echo "$v" ;;
    esac
}
CACHE_BYTES=$(bytes "$MEMORY")

# "fillrandom   :       2.345 micros/op 426401 ops/sec; ..." → 426401
ops_per_sec() { awk -v name="$1" '$1 == name { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^ops\/sec/) print $i }'; }

printf '%-10s %-10s %18s %22s %22s %14s\n' keys updates \
    "streamctl rmw/s" "db_bench fillrandom/s" "db_bench readrandom/s" "peak RSS MiB"
for keys in $SIZES; do
    updates=${UPDATES:-$keys}

    out=$("$STREAMCTL" bench state --keys "$keys" --updates "$updates" --memory "$MEMORY" --dir "$WORK/streamctl-$keys")
    echo "$out" >"$WORK/streamctl-$keys.log"
    rmw=$(grep -o 'updates_per_s=[0-9]*' <<<"$out" | cut -d= -f2)
    rss=$(grep -o 'peak_rss_mib=[0-9.]*' <<<"$out" | cut -d= -f2)
    rm -rf "$WORK/streamctl-$keys"

    db_bench --benchmarks=fillrandom,readrandom --num="$keys" --reads="$updates" --value_size=32 --key_size=24 \
        --cache_size="$CACHE_BYTES" --db="$WORK/db_bench-$keys" --threads=1 >"$WORK/db_bench-$keys.log" 2>&1
    fill=$(ops_per_sec fillrandom <"$WORK/db_bench-$keys.log")
    read=$(ops_per_sec readrandom <"$WORK/db_bench-$keys.log")
    rm -rf "$WORK/db_bench-$keys"

    printf '%-10s %-10s %18s %22s %22s %14s\n' "$keys" "$updates" "${rmw:-?}" "${fill:-?}" "${read:-?}" "${rss:-?}"
done
echo "streamctl: one update = a read and a write of one key, batched; db_bench: single-key operations." >&2
