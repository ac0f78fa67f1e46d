#!/usr/bin/env bash
# Run a command inside a private D-Bus session with an unlocked gnome-keyring, so the tests of
# idm-creds talk to a real Secret Service (the store Linux desktops use) without touching the
# user's own keyring.
#
#   scripts/with-keyring.sh cargo test --test creds
#
# - Installs `gnome-keyring` and `dbus` with apt-get when they are missing (CI runs as root on a
#   fresh Debian machine); quiet, and does nothing when they are already there.
# - Starts `dbus-run-session`, and inside it a gnome-keyring daemon whose keyrings live in a
#   throwaway directory, unlocked with a throwaway password.
# - Sets IDM_TEST_KEYRING=1, which the keyring tests require (without it they fail and say to
#   run `make test`), then runs the command; its exit code is the script's.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: scripts/with-keyring.sh CMD [ARGS...]" >&2
    exit 2
fi

if [[ "${1:-}" != "--inside-session" ]]; then
    missing=()
    command -v gnome-keyring-daemon >/dev/null 2>&1 || missing+=(gnome-keyring)
    for tool in dbus-run-session dbus-daemon dbus-send; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            missing+=(dbus)
            break
        fi
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        if ! command -v apt-get >/dev/null 2>&1; then
            echo "with-keyring: need ${missing[*]} and there is no apt-get: install them by hand" >&2
            exit 1
        fi
        sudo=()
        if [[ "$(id -u)" -ne 0 ]]; then
            if ! command -v sudo >/dev/null 2>&1; then
                echo "with-keyring: need ${missing[*]} (apt-get install ${missing[*]}) and am not root" >&2
                exit 1
            fi
            sudo=(sudo)
        fi
        echo "with-keyring: installing ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt_log="$(mktemp)"
        if ! { "${sudo[@]}" apt-get update -qq &&
            "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
            >"$apt_log" 2>&1; then
            cat "$apt_log" >&2
            rm -f "$apt_log"
            echo "with-keyring: apt-get install ${missing[*]} failed" >&2
            exit 1
        fi
        rm -f "$apt_log"
    fi
    exec dbus-run-session -- "$0" --inside-session "$@"
fi
shift

# Inside the private session bus from here on.
keyring_home="$(mktemp -d "${TMPDIR:-/tmp}/idm-keyring.XXXXXX")"
cleanup() {
    if [[ -n "${daemon_pid:-}" ]]; then kill "$daemon_pid" 2>/dev/null || true; fi
    rm -rf "$keyring_home"
}
trap cleanup EXIT

# The daemon keeps its keyring files under $XDG_DATA_HOME/keyrings: a fresh directory means a
# fresh `login` collection, created and unlocked with the password read from stdin.
# --unlock makes it print its environment (GNOME_KEYRING_CONTROL=…) and fork into the
# background; the session bus activates nothing else.
env_lines="$(printf '%s' "idm-test-keyring" |
    XDG_DATA_HOME="$keyring_home" gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
while IFS= read -r line; do
    [[ "$line" == *=* ]] && export "${line?}"
done <<<"$env_lines"
daemon_pid="${GNOME_KEYRING_PID:-}"

# Wait until the Secret Service owns its name on the bus (the daemon registers on its own
# schedule after forking); give up after ten seconds with a clear message.
secret_service_up() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
        grep -q 'boolean true'
}
for _ in $(seq 1 100); do
    secret_service_up && break
    sleep 0.1
done
if ! secret_service_up; then
    echo "with-keyring: gnome-keyring-daemon did not start the Secret Service on the session bus" >&2
    exit 1
fi

export IDM_TEST_KEYRING=1
status=0
"$@" || status=$?
exit "$status"
