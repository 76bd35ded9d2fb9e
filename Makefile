# kplay — every set-up step lives here and is idempotent: on a fresh machine `make test` and
# `make play` install what they need and skip what is already there.

SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never
# trunk must not download tools: only the package registries are reachable.
export TRUNK_OFFLINE := true
TRUNK_VERSION := 0.21.14
# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION = $(shell awk '/^name = "wasm-bindgen"$$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
TOOLS_PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: clients-test setup-clients determinism check-deep soak-web test setup setup-web setup-browser fmt-check clippy unit wasm-check web-test e2e play build-web bench bench-quick bench-wasm-build bench-web clean

## setup: what the checks need (clippy, rustfmt, the wasm32 target), skipping what is there.
setup:
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

## test: format, lints (native and wasm32, core and web app), every test: native, the web app's
## components in headless Chromium, and the built site end to end. What CI runs.
test: setup fmt-check clippy wasm-check unit determinism clients-test web-test e2e

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

## The core must build for the browser with no wasm-specific code; the web app only builds there.
wasm-check:
	$(CARGO) clippy -p kplay-core -p kplay-web -p kplay-wasm-node --target wasm32-unknown-unknown -- -D warnings

unit:
	$(CARGO) test

## determinism: every lesson's trace hash for 10 seeds, natively (the dev build `unit` made)
## and from the core compiled to wasm32 under Node, must match.
determinism: setup-web
	$(CARGO) build -q -p kplay
	$(CARGO) build -q -p kplay-wasm-node --target wasm32-unknown-unknown
	PATH="$(TOOLS_PATH)" wasm-bindgen --target nodejs --out-dir target/wasm-node-dev target/wasm32-unknown-unknown/debug/kplay_wasm_node.wasm
	node --test tests/determinism/

## check-deep: the long sweeps, in the release build (not in `make test`; about half an hour on 2
## cores): every fault lesson for 1,000 seeds, 1,000 random fault schedules, the loss cases,
## 100,000 fuzzed inputs, and 24 simulated hours with a fault every 20 minutes. `make test`
## runs the same sweeps with 10 seeds, 20 schedules and 3,000 inputs. Log: target/check-deep.log.
check-deep: setup
	@mkdir -p target && : > target/check-deep.log
	set -o pipefail; KPLAY_SEEDS=1000 KPLAY_RANDOM_RUNS=1000 $(CARGO) test --release -p kplay --test sweeps -- --nocapture --test-threads=1 2>&1 | tee -a target/check-deep.log
	set -o pipefail; KPLAY_FUZZ_INPUTS=100000 $(CARGO) test --release -p kplay-core --test fuzz_inputs -- --nocapture 2>&1 | tee -a target/check-deep.log
	set -o pipefail; $(CARGO) test --release -p kplay-core --test long_run -- --ignored --nocapture 2>&1 | tee -a target/check-deep.log

## soak-web: the playground playing the default lesson for an hour in headless Chromium, sampled
## every minute (frame times, main-thread time, JS heap, DOM size). MINUTES=… SPEED=… to vary.
soak-web: build-web setup-browser
	set -o pipefail; node bench/web-soak.mjs | tee target/web-soak.log

## web-test: the web app's wasm-bindgen-test component tests, in headless Chromium
## (runner in .cargo/config.toml, browser flags in web/webdriver.json).
web-test: setup-web setup-browser
	PATH="$(TOOLS_PATH)" CHROMEDRIVER=/usr/bin/chromedriver $(CARGO) test -p kplay-web --target wasm32-unknown-unknown

## e2e: Playwright drives the release build, served statically, in Debian's Chromium.
## Screenshots land in target/e2e/.
e2e: build-web setup-browser
	node --test tests/e2e/

## setup-web: trunk, the matching wasm-bindgen CLI, and npm's wasm-opt (Debian's is too old).
setup-web: setup
	@trunk --version 2>/dev/null | grep -q "$(TRUNK_VERSION)" || $(CARGO) install --locked trunk --version $(TRUNK_VERSION)
	@wasm-bindgen --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)" || $(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@test -x node_modules/.bin/wasm-opt -a -d node_modules/playwright-core -a -d node_modules/kafkajs || npm install --no-audit --no-fund

## setup-clients: real Kafka client libraries for the gateway's tests: kafka-python in .venv
## (kafkajs comes with the npm packages).
KAFKA_PYTHON_VERSION := 3.0.12
setup-clients:
	@.venv/bin/python -c 'import kafka, sys; sys.exit(kafka.__version__ != "$(KAFKA_PYTHON_VERSION)")' 2>/dev/null || \
	  { python3 -m venv .venv && .venv/bin/pip install -q kafka-python==$(KAFKA_PYTHON_VERSION); }

## clients-test: `kplay serve` with kafka-python (in both modes) and kafkajs connected
## (tests/clients/).
clients-test: setup-web setup-clients
	$(CARGO) build -q -p kplay
	.venv/bin/python -W ignore tests/clients/test_kafka_python.py
	KPLAY_SCENARIO=cluster-kraft.json .venv/bin/python -W ignore tests/clients/test_kafka_python.py
	node --test tests/clients/

## setup-browser: Debian's Chromium and ChromeDriver (no browser downloads are reachable here).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
setup-browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium chromium-driver; }

## play: the playground on http://127.0.0.1:8080 with the default scenario.
play: setup-web
	PATH="$(TOOLS_PATH)" trunk serve --release --address 127.0.0.1 --port 8080

## build-web: the static site in dist/ (any static host serves it).
build-web: setup-web
	PATH="$(TOOLS_PATH)" trunk build --release

## bench / bench-quick: throughput against memcpy, natively and (end to end, simulation speed)
## in wasm32 under Node, native and wasm runs alternating; one JSON object, also in
## target/bench.json.
WASM_NODE := target/wasm32-unknown-unknown/release/kplay_wasm_node.wasm
bench-wasm-build: setup-web
	$(CARGO) build --release -q -p kplay-wasm-node --target wasm32-unknown-unknown
	PATH="$(TOOLS_PATH)" wasm-bindgen --target nodejs --out-dir target/wasm-node $(WASM_NODE)

bench: bench-wasm-build
	$(CARGO) run --release -q -p kplay-bench -- --wasm bench/wasm.mjs

bench-quick: bench-wasm-build
	$(CARGO) run --release -q -p kplay-bench -- --quick --wasm bench/wasm.mjs

## bench-web: frame times of the built site in headless Chromium with hundreds of messages in flight.
bench-web: build-web setup-browser
	node bench/web-frames.mjs

clean:
	$(CARGO) clean
	rm -rf dist
