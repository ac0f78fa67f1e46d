#!/usr/bin/env bash
# Record `make demo` as a person sees it in a terminal, as text: target/demo-terminal.txt.
#
# The demo runs in a detached tmux session (a real terminal, 160 columns: progress bars,
# colour), and what the terminal finally shows, scrollback included, is captured with
# `tmux capture-pane`: escape codes resolved, bars that were cleared gone, as on a screen.
# The script waits for the demo through `tmux wait-for` channels, never by polling. tmux comes
# from Debian's packages when it is missing.
#
#   scripts/record-demo.sh [OUT]        # default OUT: target/demo-terminal.txt
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-target/demo-terminal.txt}
mkdir -p "$(dirname "$out")"

if ! command -v tmux >/dev/null 2>&1; then
  echo "record-demo: installing tmux" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && apt-get install -y -qq tmux >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq tmux >/dev/null
  fi
fi

# a private tmux server: nothing of the user's own sessions is touched
sock="idm-demo-$$"
conf=$(mktemp)
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -f "$conf"' EXIT
cat >"$conf" <<'CONF'
set -g history-limit 100000
set -g status off
CONF

# In the pane: the demo, its exit code, then a signal to this script, then a wait until the
# screen has been captured (the pane must outlive the capture).
inner="make demo; echo \"[make demo exited \$?]\"; tmux -L $sock wait-for -S demo-done; tmux -L $sock wait-for captured"
tmux -L "$sock" -f "$conf" new-session -d -s demo -x 160 -y 50 -c "$PWD" \
  -e "TERM=xterm-256color" -e "NO_COLOR=" "bash -c '$inner'"
tmux -L "$sock" wait-for demo-done
tmux -L "$sock" capture-pane -t demo -p -J -S - -E - | sed -e 's/[[:space:]]*$//' | cat -s >"$out"
tmux -L "$sock" wait-for -S captured
echo "record-demo: wrote $out ($(wc -l <"$out") lines)" >&2
