"""What opening a database leaves on disk and says when it cannot: a new SQLite file (and its
-wal and -shm files) readable by its owner only, and a clear instruction when the PostgreSQL
driver is missing."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from scimhub.store.database import Database
from scimhub.store.migrate import migrate


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_wal_files_are_private(tmp_path: Path) -> None:
    """It holds token digests and password hashes: 0600, like the key file."""
    previous = os.umask(0o022)  # the usual umask, which would give 0644
    try:
        path = tmp_path / "nested" / "scimhub.db"
        db = Database(f"sqlite:///{path}")
        try:
            migrate(db)
            with db.write() as tx:
                tx.cursor.execute("CREATE TABLE probe (x INTEGER)")
            with db.read() as tx:  # a connection is open: the -wal and -shm files exist
                files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
                assert all(f.exists() for f in files), [f.name for f in files if f.exists()]
                assert {f.name: oct(_mode(f)) for f in files} == \
                    {f.name: oct(0o600) for f in files}
                tx.cursor.execute("SELECT 1")
        finally:
            db.dispose()
    finally:
        os.umask(previous)


def test_the_command_line_creates_its_database_private(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    env = {**os.environ, "SCIMHUB_KEY_FILE": str(tmp_path / "key")}
    result = subprocess.run(
        [sys.executable, "-c", "import os, sys; os.umask(0o022); from scimhub.cli import main; "
         "main(sys.argv[1:])", "tenant", "list", "--database", f"sqlite:///{path}"],
        env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert oct(_mode(path)) == oct(0o600)


def test_an_existing_database_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    first = Database(f"sqlite:///{path}")
    migrate(first)
    first.dispose()
    path.chmod(0o640)
    again = Database(f"sqlite:///{path}")
    migrate(again)
    again.dispose()
    assert oct(_mode(path)) == oct(0o640)


def test_postgresql_without_psycopg_says_what_to_install(tmp_path: Path) -> None:
    """The import really fails (psycopg is blocked in sys.modules, as if not installed); the
    command exits with one line naming the extra, not a traceback."""
    blocked = ("import sys; sys.modules['psycopg'] = None; from scimhub.cli import main; "
               "main(sys.argv[1:])")
    url = "postgresql://scimhub@127.0.0.1:5432/scimhub"
    for args in (["tenant", "list", "--database", url],
                 ["serve", "--port", "1", "--database", url]):
        result = subprocess.run(
            [sys.executable, "-c", blocked, *args], capture_output=True, text=True,
            timeout=60, check=False, env={**os.environ, "SCIMHUB_KEY_FILE": str(tmp_path / "k")})
        assert result.returncode == 1, (args, result.stderr)
        assert "pip install 'scimhub[postgres]'" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and "ModuleNotFoundError" not in result.stderr
