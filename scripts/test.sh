#!/usr/bin/env bash
# Install scimhub with its test dependencies into .venv (and Debian's chromium for the
# console's browser tests, when missing) and run every check:
# ruff, mypy --strict and the whole pytest suite (unit, storage, end-to-end,
# scim2-tester conformance).
set -euo pipefail
cd "$(dirname "$0")/.."
# The console is tested in Debian's headless Chromium (browsers cannot be downloaded here).
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium for the console's browser tests"
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium >/dev/null
fi
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[test]'
.venv/bin/ruff check src tests bench
.venv/bin/mypy
.venv/bin/pytest -q -p no:cacheprovider -n 2 "$@"
