# idm — build, test, lint, bench, demo. CI runs `make test` (see .ci/run).
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: build test lint bench demo fmt clean

build:
	$(CARGO) build --locked --release

test:
	$(CARGO) test --locked

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

bench:
	@echo "make bench: not implemented yet" >&2; exit 1

demo:
	@echo "make demo: needs idm-sandbox, idm-export, idm-map, idm-attrs and idm-load (not implemented yet)" >&2; exit 1

clean:
	$(CARGO) clean
