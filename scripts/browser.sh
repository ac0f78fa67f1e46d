#!/usr/bin/env bash
# Run a command with a headless browser at hand, for the test that opens idm-report's HTML in
# a real browser (tests/report.rs):
#
#   scripts/browser.sh cargo test --test report -- --ignored
#
# - Uses the browser named by IDM_TEST_BROWSER when it is already set (any Chromium or Chrome).
# - Otherwise uses Debian's `chromium`, installing it with apt-get when it is missing (CI runs
#   as root on a fresh Debian machine); quiet, and does nothing when it is already there.
# - Exports IDM_TEST_BROWSER=<path of the browser>, which the browser tests require (without
#   it they are ignored by a plain `cargo test`, and fail with a pointer here when forced to
#   run), then runs the command; its exit code is the script's.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: scripts/browser.sh CMD [ARGS...]" >&2
    exit 2
fi

find_browser() {
    local name
    for name in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if [[ -n "${IDM_TEST_BROWSER:-}" ]]; then
    if [[ ! -x "$IDM_TEST_BROWSER" ]]; then
        echo "browser: IDM_TEST_BROWSER=\`$IDM_TEST_BROWSER\` is not an executable file" >&2
        exit 1
    fi
    browser="$IDM_TEST_BROWSER"
elif ! browser="$(find_browser)"; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "browser: need chromium and there is no apt-get: install it by hand, or set IDM_TEST_BROWSER" >&2
        exit 1
    fi
    sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "browser: need chromium (apt-get install chromium) and am not root" >&2
            exit 1
        fi
        sudo=(sudo)
    fi
    echo "browser: installing chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt_log="$(mktemp)"
    if ! { "${sudo[@]}" apt-get update -qq &&
        "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } \
        >"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        rm -f "$apt_log"
        echo "browser: apt-get install chromium failed" >&2
        exit 1
    fi
    rm -f "$apt_log"
    if ! browser="$(find_browser)"; then
        echo "browser: chromium was installed but is not on PATH" >&2
        exit 1
    fi
fi

export IDM_TEST_BROWSER="$browser"
status=0
"$@" || status=$?
exit "$status"
