#!/usr/bin/env bash
# Install scimhub with its test dependencies into .venv and run every check:
# ruff, mypy --strict and the whole pytest suite (unit, storage, end-to-end,
# scim2-tester conformance).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[test]'
.venv/bin/ruff check src tests bench
.venv/bin/mypy
.venv/bin/pytest -q -p no:cacheprovider "$@"
