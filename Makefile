# streamctl — build, test and run. `make run` and `make test` set up a fresh Debian machine themselves.
SWIFT      ?= swift
RELEASE    := .build/release/streamctl
# graphviz: the README pipes `streamctl graph` into `dot`, and `graph --format svg` runs it; tmux and curl: the
# tests of `streamctl top` and of the control endpoint.
DEB_PKGS   := librdkafka-dev librocksdb-dev libjemalloc-dev kcat pkg-config graphviz tmux curl
BENCH_PKGS := rocksdb-tools
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup build test test-flink run bench smoke torture clean

# Installs the system libraries when missing; silent when everything is there.
setup:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

build: setup
	$(SWIFT) build -c release --product streamctl

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# The exported Flink SQL run on real Flink (PyFlink, installed under .build-flink/) against streamctl's own
# output on the same input. Not part of `make test`: it needs PyPI once and a JVM.
test-flink: setup
	bash flink/test-flink.sh

# The main job on the embedded default: an in-process Kafka broker filled with a million generated
# orders, the orders pipeline of examples/ run to completion. Each run starts from empty output and state.
RUN_ROWS ?= 1000000
run: build
	rm -rf out/orders out/orders-bad.jsonl state/orders checkpoints/orders
	$(RELEASE) run examples/orders.yaml --generate $(RUN_ROWS) --partitions 64 --until caught-up --progress on
	@echo "output: $$(find out/orders -name 'part-*' | wc -l) files under out/orders/, e.g.:"; \
	  f=$$(find out/orders -name 'part-*' | sort | head -1); echo "$$f"; head -3 "$$f"

# Every example with an expectation in examples/expected/ run on known input and compared (JUnit under out/).
smoke: build
	$(RELEASE) validate examples/*.yaml
	mkdir -p out
	$(RELEASE) smoke examples/stdout.yaml --expect examples/expected/stdout.jsonl --junit out/smoke-stdout.xml
	$(RELEASE) smoke examples/orders.yaml --data examples/data/orders-sample.jsonl \
	  --expect examples/expected/orders.jsonl --junit out/smoke-orders.xml

bench: build
	@missing=""; for p in $(BENCH_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; fi
	bash bench/run.sh

clean:
	rm -rf .build out

# Exactly once under fire: 100 SIGKILLs (KILLS=N) of the orders job while a producer adds rows; prints lost and
# duplicated rows (0 and 0) and recovery times. Not part of `make test`.
torture: build
	bash bench/torture.sh
