"""The long fuzz run: the properties of tests/server/test_fuzz.py with a large budget.

Runs every property (filters, query parameters, SearchRequests, POST/PUT and
PATCH bodies, headers and raw bodies, console pages and forms) against the
application in-process, on SQLite and on PostgreSQL
(``$SCIMHUB_TEST_POSTGRES_URL``, by default the local server), with
``--examples`` examples each, and prints how many requests each sent and
whether any produced a 5xx or a SCIM error that is not a SCIM error body.
Exits 1 when one did, after printing the smallest failing example.

    .venv/bin/python bench/fuzz.py --examples 1000
    .venv/bin/python bench/fuzz.py --examples 300 --databases sqlite --only filters
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000,
                        help="examples per property and database (default 1000; half that "
                             "for the two properties that send five requests per example)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--only", default="",
                        help="comma-separated substrings of property names to run")
    args = parser.parse_args()
    # The budget is read when the strategies module is imported.
    os.environ["SCIMHUB_FUZZ_EXAMPLES"] = str(args.examples)
    os.environ["SCIMHUB_FUZZ_HEAVY_EXAMPLES"] = str(max(1, args.examples // 2))
    sys.path.insert(0, str(ROOT))
    logging.disable(logging.CRITICAL)  # the app logs each refused request; only results matter

    from tests.server import test_fuzz
    from tests.server.conftest import _build
    from tests.server.fuzzing import STATS

    properties: list[tuple[str, Callable[..., Any]]] = [
        (name, getattr(test_fuzz, name)) for name in dir(test_fuzz)
        if name.startswith("test_") and (not args.only or any(
            part in name for part in args.only.split(",")))]
    failures: list[str] = []
    started = time.perf_counter()
    print(f"fuzz: {args.examples} examples per property, {len(properties)} properties, "
          f"databases {args.databases}", flush=True)
    for kind in args.databases.split(","):
        with ExitStack() as stack:
            app = _build(kind, Path(tempfile.mkdtemp(prefix=f"fuzz-{kind}-")), stack)
            for name, prop in properties:
                before, t0 = sum(STATS.values()), time.perf_counter()
                try:
                    prop(app=app)
                    outcome = "clean"
                except Exception:  # a falsified property: report it and go on with the next
                    outcome = "FAILED"
                    failures.append(f"{kind} {name}")
                    traceback.print_exc()
                sent = sum(STATS.values()) - before
                print(f"  {kind:<10} {name:<45} {sent:>7} requests "
                      f"{time.perf_counter() - t0:>7.1f} s  {outcome}", flush=True)
    total = sum(STATS.values())
    print(f"total: {total} requests ({STATS['scim']} SCIM, {STATS['console']} console) in "
          f"{time.perf_counter() - started:.0f} s; "
          + (f"{len(failures)} failing: {', '.join(failures)}" if failures
             else "no 5xx and no malformed SCIM error"))
    print(f"command: .venv/bin/python bench/fuzz.py --examples {args.examples} "
          f"--databases {args.databases}" + (f" --only {args.only}" if args.only else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
