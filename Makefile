# idm — build, test, lint, bench, demo. CI runs `make test` (see .ci/run).
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: build test test-sdk test-keyring test-browser lint bench demo fmt clean pyenv install

# A venv with the official Okta and OneLogin Python SDKs, for the sandbox fidelity tests.
PYENV := target/py-venv

build:
	$(CARGO) build --locked --release

# The tools, man pages and bash/zsh/fish completions under PREFIX (DESTDIR for staging).
PREFIX ?= /usr/local
install: build
	scripts/install.sh $(PREFIX) target/release $(DESTDIR)

# Plain `cargo test` runs everything that needs nothing but cargo. What needs more is
# `#[ignore]`d there and run here with `--ignored`: the official Python SDKs (test-sdk), a real
# Secret Service (test-keyring) and a real browser (test-browser).
test: pyenv
	$(CARGO) test --locked
	$(MAKE) test-sdk test-keyring test-browser

# The sandbox checked with clients nobody here wrote: the official Okta and OneLogin SDKs.
test-sdk: pyenv
	IDM_TEST_PYTHON=$(CURDIR)/$(PYENV)/bin/python $(CARGO) test --locked --test it -- --ignored sdk_

# idm-creds against a real Secret Service: installs gnome-keyring and dbus when missing, then runs
# the keyring tests in a private D-Bus session with an unlocked, throwaway gnome-keyring.
test-keyring:
	scripts/with-keyring.sh $(CARGO) test --locked --test it -- --ignored keyring_

# idm-report's page in a real headless Chromium: installs Debian's chromium when missing, then
# runs the browser tests of tests/report.rs (ignored by a plain `cargo test`).
test-browser:
	scripts/browser.sh $(CARGO) test --locked --test it -- --ignored report::

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

# Builds release once, runs every bench/<area>.sh (each prints `<area>: <figure>` lines),
# writes bench-out/report.txt; a failing script is reported, not fatal to the others.
bench:
	bash bench/run.sh

demo: build
	scripts/demo.sh

clean:
	$(CARGO) clean
