#!/usr/bin/env bash
# Installs what the test suite needs besides the Rust toolchain: the third-party SMPP
# peers and cross-check implementations (npm and PyPI packages under tests/interop/),
# schemathesis for the API fuzz test (PyPI, in the same venv) and systemd-analyze for
# the unit-file check. Safe to run again; it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

interop=tests/interop
if [ -f "$interop/package.json" ]; then
  command -v npm >/dev/null || { echo "test-deps: npm is required (apt-get install nodejs npm)" >&2; exit 1; }
  if [ -f "$interop/package-lock.json" ]; then
    (cd "$interop" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$interop" && npm install --no-audit --no-fund --loglevel=error)
  fi
fi

if [ -f "$interop/requirements.txt" ]; then
  if [ ! -x "$interop/.venv/bin/python" ]; then
    python3 -m venv "$interop/.venv"
  fi
  "$interop/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$interop/requirements.txt"
fi

if ! command -v systemd-analyze >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
  else
    echo "test-deps: systemd-analyze is missing; install systemd" >&2
    exit 1
  fi
fi
