"""Writes a deterministic orders file (JSON lines) for comparing streamctl with Flink.

Rows arrive out of event-time order by at most DISORDER_MS, less than the pipeline's max_disorder (5 s),
so no row is late in either engine and both must give exactly the same windows.

usage: make_orders.py PATH [ROWS]
"""
import random
import sys
from datetime import datetime, timezone

SHOPS = ["berlin", "lisbon", "oslo", "paris", "rome", "wien", "porto", "gent", "bern", "riga", "oulu", "cork"]
DISORDER_MS = 4000
STEP_MS = 500
START_MS = 1_795_737_600_000  # 2026-11-26T22:00:00Z


def main():
    path = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 40000
    rng = random.Random(20)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(rows):
            ts = START_MS + i * STEP_MS - rng.randrange(0, DISORDER_MS - STEP_MS)
            text = datetime.fromtimestamp(ts / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
            millis = ts % 1000
            stamp = f"{text}.{millis:03d}Z" if millis else f"{text}Z"
            cents = 0 if i % 97 == 0 else rng.randrange(1, 50000)
            amount = f"{cents // 100}.{cents % 100:02d}"
            shop = SHOPS[min(int(rng.paretovariate(1.2)) - 1, len(SHOPS) - 1)]
            f.write(
                f'{{"order_id": {i}, "shop": "{shop}", "customer": "c{rng.randrange(1000):03d}", '
                f'"amount": {amount}, "ts": "{stamp}"}}\n'
            )


if __name__ == "__main__":
    main()
