"""Plant known bugs one at a time in a copy of the tree and check that a test catches each.

Each bug is a text substitution in one source file (the text must occur exactly once, so a
bug that no longer applies is reported instead of silently skipped). For each bug the tree
is copied to a temporary directory, the bug is planted there, and the named test files run
from the copy with ``PYTHONPATH`` pointing at it, so the server and engine processes the
tests start import the planted copy too. A bug is *caught* when pytest reports at least
one failed test; the failing tests are printed.

    .venv/bin/python scripts/plant_bugs.py              # every bug
    .venv/bin/python scripts/plant_bugs.py cursor-tenant lease-everyone
    .venv/bin/python scripts/plant_bugs.py --baseline   # the same tests on the unplanted copy
    .venv/bin/python scripts/plant_bugs.py --list

It is a check to run by hand (it runs slow end-to-end tests once per bug), not part of CI.
See docs/testing.md for the results of the last run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Bug:
    name: str
    why: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    #: A pytest ``-k`` expression, when only some tests of those files are meant to catch it.
    select: str = ""


BUGS = [
    Bug("cursor-tenant", "the cursor listing forgets the tenant (first page and after a cursor)",
        "src/scimhub/store/resources.py",
        "        where = [table.c.tenant_id == tenant]\n"
        "        if filter_ is not None:\n"
        "            where.append(FilterCompiler(rtype, table, self.dialect).compile(filter_))\n"
        "        key = (func.coalesce(",
        "        where = []\n"
        "        if filter_ is not None:\n"
        "            where.append(FilterCompiler(rtype, table, self.dialect).compile(filter_))\n"
        "        key = (func.coalesce(",
        ("tests/store/test_cursors.py", "tests/e2e/test_cursor_paging.py")),
    Bug("cursor-tenant-after", "pages after a cursor forget the tenant and the filter",
        "src/scimhub/store/resources.py",
        "condition = [*where, mark < bound if descending else mark > bound]",
        "condition = [mark < bound if descending else mark > bound]",
        ("tests/store/test_cursors.py", "tests/e2e/test_cursor_paging.py")),
    Bug("lease-everyone", "every engine worker is granted the job's lease",
        "src/scimhub/store/provisioning.py",
        "        return won == 1\n",
        "        return True\n",
        ("tests/engine/test_workers.py",)),
    Bug("lease-renewal-ignored", "a worker whose lease was taken over goes on with its cycle",
        "src/scimhub/engine/runner.py",
        "if not dry_run and not state.acquire_lease(job_id, WORKER, job.lease_seconds):",
        "if False:",
        ("tests/engine/test_lease_lost.py",)),
    Bug("guard-leavers", "the deletion guard counts source deletions only, not scope leavers",
        "src/scimhub/engine/cycle/cycle.py",
        "if obj is None or not (sid in assigned and in_scope(self.job.scoping, obj)):",
        "if obj is None:",
        ("tests/engine/test_job_control.py",)),
    Bug("lockout-api-settings", "wrong passwords on API Settings do not count toward the lockout",
        "src/scimhub/console/settings_routes.py",
        "            locked = await console.run(lambda: console.lockout.failed(session.email, "
        "client))\n",
        "            locked = None\n",
        ("tests/console/test_sign_in_throttle.py",)),
    Bug("console-log-job-filter", "the console's provisioning log ignores the job filter",
        "src/scimhub/console/provisioning.py",
        "search_log(job_name=job, token_digests=",
        "search_log(job_name=None, token_digests=",
        ("tests/console/test_provisioning_page.py", "tests/engine/test_job_identity.py")),
    Bug("member-add-refused", "every member add is refused as naming a missing user",
        "src/scimhub/store/resources.py",
        "missing = [v for v in wanted if v not in types]",
        "missing = list(wanted)",
        ("tests/e2e/test_races.py",), select="burst"),
]


def copy_tree(source: Path, destination: Path) -> None:
    shutil.copytree(source, destination, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
        "scimhub-demo", "*.egg-info", ".venv-*"))


def plant(tree: Path, bug: Bug) -> None:
    target = tree / bug.path
    text = target.read_text()
    found = text.count(bug.old)
    if found != 1:
        raise SystemExit(f"{bug.name}: the text to replace occurs {found} times in {bug.path}; "
                         "update the bug to the current code")
    target.write_text(text.replace(bug.old, bug.new))


def environment(tree: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree}"}
    probe = subprocess.run([sys.executable, "-c", "import scimhub, tests; "
                            "print(scimhub.__file__); print(tests.__file__)"],
                           cwd=tree, env=env, capture_output=True, text=True, check=True)
    if not all(line.startswith(str(tree)) for line in probe.stdout.split()):
        raise SystemExit(f"the copy's code does not run first: {probe.stdout}")
    return env


def run(source: Path, bug: Bug | None, tests: tuple[str, ...], pytest_args: list[str],
        select: str = "") -> tuple[bool, str]:
    """(some test failed, the failing tests) for one planted bug, or for none (baseline)."""
    stop_early = ["-x"] if bug is not None else []  # one failure is enough to catch a bug
    if select:
        stop_early += ["-k", select]
    with tempfile.TemporaryDirectory(prefix="scimhub-mutant-") as work:
        tree = Path(work) / "tree"
        copy_tree(source, tree)
        if bug is not None:
            plant(tree, bug)
        result = subprocess.run(  # noqa: S603 - pytest from this venv, our own arguments
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE",
             *stop_early, *pytest_args, *tests],
            cwd=tree, env=environment(tree), capture_output=True, text=True, check=False)
    failed = [line for line in result.stdout.splitlines()
              if re.match(r"(FAILED|ERROR) ", line)]
    last = result.stdout.strip().splitlines()[-1:] or [result.stderr.strip()[-300:]]
    return any(line.startswith("FAILED") for line in failed), "\n".join(failed or last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bugs", nargs="*", help="names of bugs to plant (default: all)")
    parser.add_argument("--baseline", action="store_true",
                        help="run each bug's tests on the unplanted copy instead")
    parser.add_argument("--list", action="store_true", help="list the bugs and their tests")
    parser.add_argument("--pytest", default="", help="extra pytest arguments, space-separated")
    parser.add_argument("--source", type=Path, default=ROOT,
                        help="the tree to copy (default: this checkout)")
    args = parser.parse_args()
    chosen = [b for b in BUGS if not args.bugs or b.name in args.bugs]
    if unknown := set(args.bugs) - {b.name for b in BUGS}:
        raise SystemExit(f"unknown bugs: {', '.join(sorted(unknown))}")
    if args.list:
        for bug in chosen:
            only = f" -k {bug.select}" if bug.select else ""
            print(f"{bug.name}: {bug.why}\n  {bug.path}\n  tests: {' '.join(bug.tests)}{only}")
        return
    missed = 0
    if args.baseline:  # each file once: they do not depend on the bug
        for tests in dict.fromkeys(t for bug in chosen for t in bug.tests):
            started = time.monotonic()
            failed, detail = run(args.source, None, (tests,), args.pytest.split())
            verdict = "BROKEN" if failed or "passed" not in detail else "green"
            print(f"{tests}: {verdict} in {time.monotonic() - started:.0f} s\n  {detail}",
                  flush=True)
        return
    for bug in chosen:
        print(f"{bug.name}: {bug.why}", flush=True)
        caught = False
        for tests in bug.tests:  # each file on its own: which of them catches the bug
            started = time.monotonic()
            failed, detail = run(args.source, bug, (tests,), args.pytest.split(), bug.select)
            caught |= failed
            verdict = "fails" if failed else "passes"
            print(f"  {tests}: {verdict} in {time.monotonic() - started:.0f} s\n    "
                  + detail.replace("\n", "\n    "), flush=True)
        missed += not caught
        print(f"  => {'caught' if caught else 'MISSED'}", flush=True)
    print(f"{len(chosen) - missed} of {len(chosen)} planted bugs caught")
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
