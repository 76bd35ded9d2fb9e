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

.PHONY: test setup setup-web fmt-check clippy unit wasm-check play build-web bench bench-quick clean

## setup: what the checks need (clippy, rustfmt, the wasm32 target), skipping what is there.
setup:
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

## test: format, lints (native and wasm32, core and web app), every test. What CI runs.
test: setup fmt-check clippy wasm-check unit

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

## The core must build for the browser with no wasm-specific code; the web app only builds there.
wasm-check:
	$(CARGO) clippy -p kplay-core -p kplay-web --target wasm32-unknown-unknown -- -D warnings

unit:
	$(CARGO) test

## setup-web: trunk, the matching wasm-bindgen CLI, and npm's wasm-opt (Debian's is too old).
setup-web: setup
	@trunk --version 2>/dev/null | grep -q "$(TRUNK_VERSION)" || $(CARGO) install --locked trunk --version $(TRUNK_VERSION)
	@wasm-bindgen --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)" || $(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@test -x node_modules/.bin/wasm-opt || npm install --no-audit --no-fund

## play: the playground on http://127.0.0.1:8080 with the default scenario.
play: setup-web
	PATH="$(TOOLS_PATH)" trunk serve --release --address 127.0.0.1 --port 8080

## build-web: the static site in dist/ (any static host serves it).
build-web: setup-web
	PATH="$(TOOLS_PATH)" trunk build --release

## bench / bench-quick: throughput against memcpy; one JSON object, also in target/bench.json.
bench:
	$(CARGO) run --release -q -p kplay-bench

bench-quick:
	$(CARGO) run --release -q -p kplay-bench -- --quick

clean:
	$(CARGO) clean
	rm -rf dist
