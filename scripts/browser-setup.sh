#!/usr/bin/env bash
# The agents' browser for runners started as processes (and for the runner's tests):
# Debian's Chromium and the Playwright MCP server, installed inside the repo.
#
#   /usr/bin/chromium                                   (apt: chromium)
#   .tools/node/node_modules/.bin/playwright-mcp        (npm: @playwright/mcp, pinned below)
#
# The runner finds the MCP server through PRAKTOR_BROWSER_MCP (this path by default, see
# agent-runner/src/praktor_agent_runner/browser.py); the agent image installs the same
# packages. Never downloads a browser build of Playwright's own.
#
# Idempotent: installs only what is missing or at another version. Without root (or without
# apt-get) it says what to install and exits 0: agents then run without a browser.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX="$ROOT/.tools/node"
MCP_PACKAGE="@playwright/mcp"
MCP_VERSION="${PRAKTOR_PLAYWRIGHT_MCP_VERSION:-0.0.83}"
CHROMIUM="/usr/bin/chromium"

say() { echo "browser-setup: $*" >&2; }

apt_install() {
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
        say "missing: $*; install them (sudo apt-get install -y $*) and run again." \
            "Agents have no browser until then."
        exit 0
    fi
    say "installing $*"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
[[ -x "$CHROMIUM" ]] || missing+=(chromium)
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
    apt_install "${missing[@]}"
fi

installed_version() {
    local manifest="$PREFIX/node_modules/@playwright/mcp/package.json"
    [[ -f "$manifest" ]] && node -p "require('$manifest').version" 2>/dev/null || true
}

if [[ "$(installed_version)" != "$MCP_VERSION" ]]; then
    say "installing $MCP_PACKAGE@$MCP_VERSION into $PREFIX"
    mkdir -p "$PREFIX"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$PREFIX" --no-save --no-audit \
        --no-fund --loglevel=error "$MCP_PACKAGE@$MCP_VERSION" >/dev/null
fi

[[ "$(installed_version)" == "$MCP_VERSION" ]] || { say "$MCP_PACKAGE did not install"; exit 1; }
echo "$PREFIX/node_modules/.bin/playwright-mcp"
