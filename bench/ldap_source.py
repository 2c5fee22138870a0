"""The LDAP source at scale: a real slapd holding 100,000 users and 1,000 groups, into scimhub.

Builds bench/engine_cycle.py's sample directory (the same users, groups and memberships),
loads it into a throwaway slapd offline (``slapadd`` from generated LDIF: tests/engine/ldap/
slapd.py, with syncprov and refint as a production OpenLDAP runs), and provisions it into a
``scimhub serve`` on SQLite four times:

1. the file source's initial cycle over the same directory (a JSON export), the yardstick;
2. the LDAP source's initial cycle (into a fresh server and tenant);
3. after 1% of the users changed through ldapmodify: an incremental cycle (entries fetched
   with their attributes and ids listed are printed);
4. with nothing changed (contextCSN did not move: no search at all).

Targets (issue 12): initial within 1.5x of the file source, incremental < 30 s reading ~1% of
the entries, no change < 10 s.

    .venv/bin/python bench/ldap_source.py [--users 100000] [--groups 1000] [--members 50]
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine_cycle import arguments, create_tenant, job_toml, start_server
from tests.engine.ldap.slapd import (
    ROOT_DN,
    ROOT_PASSWORD,
    SERVICE_DN,
    SERVICE_PASSWORD,
    SUFFIX,
    Slapd,
)

from scimhub.engine.config import load_jobs
from scimhub.engine.cycle.cycle import CycleSummary
from scimhub.engine.runner import run_once
from scimhub.engine.sample import sample_directory
from scimhub.store.database import Database
from scimhub.store.migrate import migrate

PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"

#: The ``[source]`` table of the LDAP job (``job_toml`` writes the rest).
LDAP_SOURCE = """type = "ldap"
url = "{ldap_url}"
bind_dn = "{bind_dn}"
password_env = "BENCH_LDAP_PASSWORD"
base_dn = "{base_dn}"
profile = "openldap"
page_size = {page_size}
disabled_filter = "(description=disabled)"
"""


def value(name: str, text: str) -> str:
    """One LDIF line; base64 when the value is not plain ASCII (Zoë, Müller...)."""
    if text.isascii() and not text.startswith((" ", ":", "<")):
        return f"{name}: {text}"
    return f"{name}:: {base64.b64encode(text.encode()).decode()}"


def to_ldif(directory: dict[str, Any]) -> str:
    """The sample directory as inetOrgPerson and groupOfNames entries (ids come from slapadd's
    entryUUID; manager and member values are DNs, as in a real directory)."""
    dn = {u["objectId"]: f"uid={u['mailNickname']},{PEOPLE}" for u in directory["users"]}
    out = [f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
           f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n"]
    for u in directory["users"]:
        lines = [f"dn: {dn[u['objectId']]}", "objectClass: inetOrgPerson",
                 value("uid", u["mailNickname"]), value("cn", u["displayName"]),
                 value("displayName", u["displayName"]), value("givenName", u["givenName"]),
                 value("sn", u["surname"]), value("mail", u["userPrincipalName"]),
                 value("mobile", u["mobile"]), value("departmentNumber", u["department"]),
                 value("employeeNumber", u["employeeId"]), value("title", u["jobTitle"])]
        if not u.get("accountEnabled", True):
            lines.append("description: disabled")
        if u.get("manager"):
            lines.append(f"manager: {dn[u['manager']]}")
        out.append("\n".join(lines) + "\n")
    for g in directory["groups"]:
        members = [f"member: {dn[m]}" for m in g["members"]] or [f"member: cn=nobody,{SUFFIX}"]
        out.append("\n".join([f"dn: cn={g['displayName']},{GROUPS}", "objectClass: groupOfNames",
                              value("cn", g["displayName"]), *members]) + "\n")
    return "\n".join(out) + "\n"


def change_one_percent(slapd: Slapd, directory: dict[str, Any], workdir: Path) -> int:
    """1% of the users get a new mobile and surname, through ldapmodify (real LDAP writes)."""
    changes = []
    for i, u in enumerate(directory["users"]):
        if i % 100 == 0:
            changes.append("\n".join([
                f"dn: uid={u['mailNickname']},{PEOPLE}", "changetype: modify",
                "replace: mobile", f"mobile: +1 555 9{i:06}", "-",
                "replace: sn", value("sn", u["surname"] + "-Changed"), "-"]) + "\n")
    (workdir / "changes.ldif").write_text("\n".join(changes))
    subprocess.run(["ldapmodify", "-x", "-H", slapd.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD,
                    "-f", str(workdir / "changes.ldif")], check=True, capture_output=True)
    return len(changes)


def line(name: str, summary: CycleSummary, seconds: float) -> dict[str, Any]:
    source = summary.source or {}
    print(f"{name:<28} {seconds:>8.1f} s  source {source.get('kind', '?'):<9} "
          f"fetched {source.get('fetched', 0):>7,}  listed {source.get('listed', 0):>7,}  "
          f"{summary.requests:>7,} requests  {summary.failures} failures  "
          f"{dict(summary.counts)}")
    return {"seconds": seconds, "source": source, "requests": summary.requests,
            "failures": summary.failures, "counts": dict(summary.counts)}


def cycle(job: Any, db: Database) -> tuple[CycleSummary, float]:
    started = time.monotonic()
    summary = asyncio.run(run_once(job, db))
    return summary, time.monotonic() - started


def run_target(workdir: Path, name: str) -> tuple[subprocess.Popen[bytes], str]:
    """A fresh scimhub serve on its own SQLite database, with a tenant whose token is set."""
    target_dir = workdir / name
    target_dir.mkdir()
    env = {**os.environ, "SCIMHUB_DATABASE_URL": f"sqlite:///{target_dir}/scimhub.db",
           "SCIMHUB_KEY_FILE": str(target_dir / "key")}
    os.environ["BENCH_TOKEN"] = create_tenant(env, name)["token"]
    return start_server(target_dir, env)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--skip-file", action="store_true",
                        help="do not run the file source's initial cycle (the yardstick)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    os.environ["BENCH_LDAP_PASSWORD"] = SERVICE_PASSWORD
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        directory = sample_directory(users=args.users, groups=args.groups,
                                     members=args.members)
        memberships = sum(len(g["members"]) for g in directory["groups"])
        print(f"directory: {args.users:,} users, {args.groups:,} groups, "
              f"{memberships:,} memberships")

        if not args.skip_file:
            (workdir / "directory.json").write_text(json.dumps(directory))
            server, scim_url = run_target(workdir, "file")
            try:
                (workdir / "file.toml").write_text(job_toml(
                    "bench-file", scim_url, args.concurrency))
                [job] = load_jobs(workdir / "file.toml")
                db = Database(f"sqlite:///{workdir}/engine-file.db")
                migrate(db)
                report["file_initial"] = line("file source: initial", *cycle(job, db))
            finally:
                server.terminate()
                server.wait(timeout=30)

        slapd_dir = workdir / "slapd"
        slapd_dir.mkdir()
        slapd = Slapd(slapd_dir, size_limit=500)
        started = time.monotonic()
        slapd.configure(to_ldif(directory))
        print(f"slapadd: {time.monotonic() - started:.1f} s")
        slapd.start()
        server, scim_url = run_target(workdir, "ldap")
        try:
            (workdir / "ldap.toml").write_text(job_toml(
                "bench-ldap", scim_url, args.concurrency, source=LDAP_SOURCE.format(
                    ldap_url=slapd.url, bind_dn=SERVICE_DN, base_dn=SUFFIX,
                    page_size=args.page_size)))
            [job] = load_jobs(workdir / "ldap.toml")
            db = Database(f"sqlite:///{workdir}/engine-ldap.db")
            migrate(db)
            report["ldap_initial"] = line("ldap source: initial", *cycle(job, db))
            changed = change_one_percent(slapd, directory, workdir)
            report["ldap_incremental"] = line(f"ldap: {changed:,} users changed",
                                              *cycle(job, db))
            report["ldap_no_change"] = line("ldap: no change", *cycle(job, db))
        finally:
            server.terminate()
            server.wait(timeout=30)
            slapd.stop()
    if "file_initial" in report:
        ratio = report["ldap_initial"]["seconds"] / report["file_initial"]["seconds"]
        report["initial_ratio"] = ratio
        print(f"initial: LDAP / file = {ratio:.2f} (target <= 1.5)")
    print("targets: incremental < 30 s reading ~1% of the entries, no change < 10 s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print("reproduce: " + shlex.join([sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
