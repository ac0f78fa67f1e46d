#!/usr/bin/env bash
# Install idm like any Unix tool: scripts/install.sh PREFIX BINDIR [DESTDIR]
#   PREFIX/bin                                    the tools
#   PREFIX/share/man/man1                         their man pages (one per subcommand too)
#   PREFIX/share/bash-completion/completions      bash completions
#   PREFIX/share/zsh/site-functions               zsh completions
#   PREFIX/share/fish/vendor_completions.d        fish completions
# BINDIR holds the built tools (target/release for `make install`). Man pages and completions
# come from each tool's own clap definitions (`--generate-man`, `--generate-completions`),
# so they say what `--help` says. DESTDIR, when given, is prefixed for staged installs.
set -euo pipefail

prefix=${1:?usage: install.sh PREFIX BINDIR [DESTDIR]}
bindir=${2:?usage: install.sh PREFIX BINDIR [DESTDIR]}
root="${3:-}${prefix}"

tools=(idm-export idm-map idm-attrs idm-load idm-verify idm-report idm-csv idm-connectors
       idm-creds idm-sandbox)

for t in "${tools[@]}"; do
    [[ -x "$bindir/$t" ]] || { echo "install: $bindir/$t is missing: build first" >&2; exit 1; }
done

install -d "$root/bin" "$root/share/man/man1" "$root/share/bash-completion/completions" \
    "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d"

for t in "${tools[@]}"; do
    install -m 0755 "$bindir/$t" "$root/bin/$t"
    "$bindir/$t" --generate-man "$root/share/man/man1"
    "$bindir/$t" --generate-completions bash > "$root/share/bash-completion/completions/$t"
    "$bindir/$t" --generate-completions zsh > "$root/share/zsh/site-functions/_$t"
    "$bindir/$t" --generate-completions fish > "$root/share/fish/vendor_completions.d/$t.fish"
done

echo "installed ${#tools[@]} tools, their man pages and bash/zsh/fish completions under $root"
