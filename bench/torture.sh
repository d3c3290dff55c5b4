#!/usr/bin/env bash
# make torture: the orders job on a separate dev-broker, SIGKILLed KILLS times (default 100) at random
# moments spread across checkpoints while a producer keeps adding orders, restarted each time; then run to
# caught-up and compared with one uninterrupted run over the same topic. Prints lost and duplicated rows
# (both must be 0) and recovery times. Exit 1 on any loss or duplicate.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/streamctl}
KILLS=${KILLS:-100}
WORK=${WORK:-$(mktemp -d /tmp/streamctl-torture.XXXXXX)}
mkdir -p "$WORK"
echo "torture: work in $WORK, $KILLS kills"

"$BIN" dev-broker --topic orders:16 --generate 200000 --address-file "$WORK/broker.addr" --exit-after 7200 \
  >"$WORK/broker.log" 2>&1 &
BROKER=$!
trap 'kill $BROKER $PRODUCER 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do [ -s "$WORK/broker.addr" ] && break; sleep 0.1; done
ADDR=$(cat "$WORK/broker.addr")

pipeline() { # name
  cat >"$WORK/$1.yaml" <<YAML
name: torture-$1
schema: { order_id: int64, shop: string, customer: string, amount: decimal(2), ts: timestamp }
source:
  kafka: { brokers: "$ADDR", topics: [orders], group: $1, start_from: earliest, assignment: static }
  format: json
  event_time: { field: ts, max_disorder: 5s }
operators:
  - key_by: shop
  - window: { tumbling: 1h, aggregate: { orders: count(), revenue: sum(amount) } }
    id: hourly
sink:
  file: { path: $WORK/$1/out, bucket: "date={window_start:%Y-%m-%d}/hour={window_start:%H}", format: json }
state: { backend: rocksdb, dir: $WORK/$1/state, memory: 128MiB }
checkpoints: { dir: $WORK/$1/checkpoints, retain: 2 }
profiles:
  initial: steady
  overrides:
    steady: { checkpoint: { interval: 300ms }, sink: { records_per_second: 20000 } }
YAML
}
pipeline crashed
pipeline reference

# A producer adding orders that continue the generated ones in event time, 2,000 a second.
python3 - "$WORK/produced.jsonl" <<'PY' | kcat -P -b "$ADDR" -t orders -K '|' 2>/dev/null &
import sys, time, random
start = 1_795_000_000_000 + 200_000 * 2_600
rng = random.Random(7)
i = 0
try:
  while True:
    for _ in range(200):
        oid = 10_000_000 + i
        ts = start + i * 2_600 - rng.randint(0, 3_000)
        shop = min(int(rng.paretovariate(1.1)), 500) - 1
        amount = rng.randint(100, 100_000) / 100
        sys.stdout.write(f'{oid}|{{"order_id":{oid},"shop":"shop-{shop}","customer":"cust-{rng.randint(0,9999)}","amount":{amount:.2f},"ts":{ts}}}\n')
        i += 1
    sys.stdout.flush()
    time.sleep(0.1)
except BrokenPipeError:
  pass
PY
PRODUCER=$!

recoveries=()
for k in $(seq 1 "$KILLS"); do
  log="$WORK/crashed-$k.log"
  t0=$(date +%s%N)
  "$BIN" run "$WORK/crashed.yaml" --progress off >/dev/null 2>"$log" &
  pid=$!
  # Until this run completed a checkpoint of its own, then a random moment within the next 1.5 s.
  for _ in $(seq 1 600); do grep -q " complete: " "$log" && break; kill -0 $pid 2>/dev/null || break; sleep 0.05; done
  t1=$(date +%s%N)
  recoveries+=($(( (t1 - t0) / 1000000 )))
  sleep "$(python3 -c 'import random; print(random.uniform(0, 1.5))')"
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  [ $((k % 10)) -eq 0 ] && echo "torture: $k kills"
done
kill $PRODUCER 2>/dev/null || true
wait $PRODUCER 2>/dev/null || true
sleep 1

"$BIN" run "$WORK/crashed.yaml" --until caught-up --progress off >/dev/null 2>"$WORK/crashed-final.log"
"$BIN" run "$WORK/reference.yaml" --until caught-up --progress off >/dev/null 2>"$WORK/reference.log"

python3 - "$WORK" "${recoveries[@]}" <<'PY'
import sys, os, collections
work, rec = sys.argv[1], [int(x) for x in sys.argv[2:]]
def lines(d):
    c = collections.Counter()
    for root, _, files in os.walk(d):
        for f in files:
            if f.startswith("part-"):
                for l in open(os.path.join(root, f)): c[l] += 1
    return c
ref, got = lines(f"{work}/reference/out"), lines(f"{work}/crashed/out")
lost = sum(1 for l in ref if got[l] == 0)
dup = sum(n - 1 for l, n in got.items() if n > 1)
unexpected = sum(1 for l in got if ref[l] == 0)
rec.sort()
p = lambda q: rec[min(len(rec) - 1, int(q * len(rec)))] if rec else 0
print(f"torture: kills={len(rec)} reference_rows={sum(ref.values())} lost={lost} duplicated={dup} unexpected={unexpected}")
print(f"torture: restart to first checkpoint ms p50={p(0.5)} p90={p(0.9)} max={rec[-1] if rec else 0}")
sys.exit(1 if lost or dup or unexpected else 0)
PY
