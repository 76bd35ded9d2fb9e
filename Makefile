# kplay — every set-up step lives here and is idempotent: a fresh machine needs only
# `make test` (and, once the web app lands, `make play`).

SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: test setup fmt-check clippy unit wasm-check check-deep bench bench-quick clean

## setup: installs what the checks need (wasm target, clippy, rustfmt), skipping what is there.
setup:
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

## test: format, lints (native and wasm32), every test. What CI runs.
test: setup fmt-check clippy wasm-check unit

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## The core must build for the browser with no wasm-specific code.
wasm-check:
	$(CARGO) clippy -p kplay-core --target wasm32-unknown-unknown -- -D warnings

unit:
	$(CARGO) test --workspace

clean:
	$(CARGO) clean
