# idm — build, test, lint, bench, demo. CI runs `make test` (see .ci/run).
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: build test lint bench demo fmt clean pyenv

# A venv with the official Okta and OneLogin Python SDKs, for the sandbox fidelity tests.
PYENV := target/py-venv

build:
	$(CARGO) build --locked --release

test: pyenv
	IDM_TEST_PYTHON=$(CURDIR)/$(PYENV)/bin/python $(CARGO) test --locked

pyenv: $(PYENV)/.installed

$(PYENV)/.installed: tests/python/requirements.txt
	python3 -m venv $(PYENV)
	$(PYENV)/bin/pip install -q --disable-pip-version-check -r tests/python/requirements.txt
	touch $@

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

bench:
	@for script in bench/*.sh; do echo "== $$script" >&2; bash "$$script" || exit 1; done

demo:
	@echo "make demo: needs idm-sandbox, idm-export, idm-map, idm-attrs and idm-load (not implemented yet)" >&2; exit 1

clean:
	$(CARGO) clean
