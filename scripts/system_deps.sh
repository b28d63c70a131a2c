#!/usr/bin/env bash
# The system packages the tests need beyond .venv (Debian's names): chromium, which the browser
# tests drive (Playwright's own browser download needs the network), and fonts-noto-cjk, for the
# PDF's non-Latin text. `make test` and .ci/run call this first. What is missing is installed
# with apt-get as root (or with password-less sudo); elsewhere the commands to run are printed
# and the browser tests are skipped loudly, but under CI=true a missing package fails.
# CHROMIUM=/path/to/chromium (or a command name) stands in for the chromium package.
set -euo pipefail

has_package() {  # Debian's package database where there is one, else the files it would add
  if command -v dpkg-query >/dev/null; then
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q " installed$"
  else
    "${@:2}" >/dev/null 2>&1
  fi
}
missing=()
found() { command -v chromium || command -v chromium-browser; } >/dev/null
if [ -z "${CHROMIUM:-}" ] && ! found; then missing+=(chromium); fi
has_package fonts-noto-cjk bash -c 'fc-list | grep -q "Noto Sans CJK"' || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
if command -v apt-get >/dev/null && ${as_root[@]+"${as_root[@]}"} true 2>/dev/null; then
  echo "Installing ${missing[*]} with apt-get (scripts/system_deps.sh)"
  if ${as_root[@]+"${as_root[@]}"} apt-get update -q && ${as_root[@]+"${as_root[@]}"} \
      env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; then
    exit 0
  fi
  echo "!! apt-get failed"
fi

echo "!! Missing system packages: ${missing[*]}. To install them, run:"
if command -v apt-get >/dev/null; then
  echo "     sudo apt-get update && sudo apt-get install -y ${missing[*]}"
else  # macOS with Homebrew: its casks' names; the Chromium app is not on PATH, CHROMIUM names it
  echo "     brew install --cask ${missing[*]/fonts-noto-cjk/font-noto-sans-cjk}"
  if [[ " ${missing[*]} " == *" chromium "* ]]; then
    echo "     export CHROMIUM=/Applications/Chromium.app/Contents/MacOS/Chromium"
  fi
fi
if [[ "$(tr '[:upper:]' '[:lower:]' <<<"${CI:-}")" =~ ^(1|true|yes)$ ]]; then
  echo "!! CI=true: the tests that need them must run, so this is a failure"
  exit 1
fi
echo "!! Until then, what needs them is skipped (the browser tests: a warning closes their run)"
echo "   or fails (make pdf)."
