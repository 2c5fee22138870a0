#!/usr/bin/env bash
# Serve the reference SCIM server (scim2-server, from PyPI) under gunicorn, in the
# foreground, so the benchmark can compare scimhub against it on the same machine.
#
# Usage: bench/scim2_server.sh [PORT] [THREADS]
#   PORT     default 8081; binds 127.0.0.1 only
#   THREADS  default 8; gthread threads of the single worker
# Env:
#   SCIM2_BENCH_TOKEN      if set, the only accepted bearer token
#   SCIM2_SERVER_VERSION   pin a scim2-server version (default: latest on PyPI)
#   PYTHON                 interpreter used to create the venv (default: python3)
#
# The venv lives in bench/.venv-scim2-server (git-ignored) and is created on first use,
# because scim2-server pulls in pydantic and must not leak into the project venv.
# One worker only: scim2-server keeps its resources in the worker's memory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-scim2-server"
port="${1:-8081}"
threads="${2:-8}"

if [[ ! -x "$venv/bin/gunicorn" ]] || ! "$venv/bin/python" -c 'import scim2_server' 2>/dev/null; then
    echo "creating $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv"
    spec="scim2-server"
    [[ -n "${SCIM2_SERVER_VERSION:-}" ]] && spec="scim2-server==${SCIM2_SERVER_VERSION}"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$spec" gunicorn >&2
fi

exec "$venv/bin/gunicorn" \
    --chdir "$here" \
    --bind "127.0.0.1:${port}" \
    --worker-class gthread --workers 1 --threads "$threads" \
    --keep-alive 75 \
    --log-level warning \
    scim2_server_app:app
