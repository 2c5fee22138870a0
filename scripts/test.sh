#!/usr/bin/env bash
# Install scimhub with its test dependencies into .venv (and, when missing, Debian's chromium
# for the console's browser tests and slapd + ldap-utils for the LDAP source's tests) and run
# every check: ruff, mypy --strict and the whole pytest suite (unit, storage, end-to-end,
# scim2-tester conformance, the LDAP source against a real slapd).
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages the tests need; installed only when missing (browsers and directories
# cannot be downloaded from anywhere else here).
missing=()
# The console is tested in Debian's headless Chromium.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# The LDAP source is tested against a real slapd, started by the tests on a free port with a
# throwaway configuration and database, seeded and changed with ldapadd/ldapmodify.
{ [ -x /usr/sbin/slapd ] && command -v ldapadd >/dev/null 2>&1; } || missing+=(slapd ldap-utils)
# Shared rate limits are tested against a real Redis, started by the tests on a free port.
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} for the tests"
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[test,ldap]'
.venv/bin/ruff check src tests bench scripts
.venv/bin/mypy
.venv/bin/pytest -q -p no:cacheprovider -n 2 "$@"
