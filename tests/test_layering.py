"""The dependencies between scimhub's packages, enforced by reading every module's imports.

Why: each layer can then be read, tested and replaced on its own. The SCIM protocol
(``scim``) is pure; storage (``store``) knows nothing of HTTP or the engine; the SCIM
server (``server``) knows nothing of the console that is served beside it; the console
uses the server only through its public API (``scimhub.server``'s ``__all__``); the
engine is a SCIM client and knows nothing of the server or the console, and what uses it
imports only its public API (``scimhub.engine``'s ``__all__``). Modules above
them all (``scimhub.web``, ``scimhub.cli``, ``scimhub.demo``) compose them.

And the database does not leak out of ``store``: no other package runs SQL or imports a
database library, and the rest of the code asks the store what it needs to know
(``Database.blocking``), never which database it is.

Imports under ``TYPE_CHECKING`` count: a type is a dependency too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "scimhub"

#: The modules that compose the layers: no layer below may import them.
COMPOSERS = frozenset({"cli", "web", "demo", "__main__"})

#: What each layer must not import (by top-level name under ``scimhub``).
FORBIDDEN: dict[str, frozenset[str]] = {
    "scim": frozenset({"store", "server", "engine", "console", "security"}) | COMPOSERS,
    "store": frozenset({"server", "engine", "console"}) | COMPOSERS,
    "server": frozenset({"console", "engine"}) | COMPOSERS,
    "console": COMPOSERS,
    "engine": frozenset({"server", "console"}) | COMPOSERS,
}

#: The server's public API: the only server modules the console may import.
SERVER_PUBLIC = frozenset({"scimhub.server"})

#: The engine's public API: the only engine module the layers above may import.
ENGINE_PUBLIC = frozenset({"scimhub.engine"})

#: Database libraries: imported by ``store`` alone.
DATABASE_LIBRARIES = frozenset({"sqlalchemy", "alembic", "psycopg", "psycopg2", "sqlite3"})


@dataclass(frozen=True)
class Import:
    module: str   #: the importing module, e.g. scimhub.server.app
    target: str   #: the imported module, e.g. scimhub.console.pages
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(root: Path) -> Iterator[Import]:
    """Every import of a ``scimhub`` module under ``root`` (relative ones resolved).

    ``from a.b import c`` imports ``a.b.c`` when that is a module, else ``a.b``.
    """
    modules = {module_name(p, root) for p in (root / PACKAGE).rglob("*.py")}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        name = module_name(path, root)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(name, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    yield Import(name, sub if sub in modules else base, node.lineno)


def layer(module: str) -> str:
    """``scimhub.server.app`` -> ``server``; ``scimhub`` itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == PACKAGE else ""


def violations(root: Path) -> list[str]:
    found = []
    for imp in imports(root):
        if layer(imp.target) == "" or not imp.target.startswith(PACKAGE):
            continue
        source, target = layer(imp.module), layer(imp.target)
        if target in FORBIDDEN.get(source, frozenset()):
            found.append(f"{imp}: {source} must not depend on {target}")
        elif source == "console" and target == "server" and imp.target not in SERVER_PUBLIC:
            found.append(f"{imp}: the console uses only the server's public API "
                         f"({', '.join(sorted(SERVER_PUBLIC))})")
        elif target == "engine" and source != "engine" and imp.target not in ENGINE_PUBLIC:
            found.append(f"{imp}: outside the engine, only its public API "
                         f"({', '.join(sorted(ENGINE_PUBLIC))}) is imported")
    return found


def database_outside_store(root: Path) -> list[str]:
    return [str(imp) for imp in imports(root)
            if imp.target.split(".")[0] in DATABASE_LIBRARIES and layer(imp.module) != "store"]


def backend_leaks(root: Path) -> list[str]:
    """Mentions of ``is_sqlite`` outside ``store/``."""
    found = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        if layer(module_name(path, root)) == "store":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "is_sqlite" in line:
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_packages_depend_only_downwards() -> None:
    assert violations(SRC) == []


def test_the_backend_stays_inside_the_store() -> None:
    assert backend_leaks(SRC) == []


def test_only_the_store_touches_the_database() -> None:
    assert database_outside_store(SRC) == []


def test_the_server_public_api_exists() -> None:
    """What the console is allowed to import is what ``scimhub.server`` exports."""
    import scimhub.server

    assert {"AppContext", "tenant_url", "public_base"} <= set(scimhub.server.__all__)
    for name in scimhub.server.__all__:
        assert hasattr(scimhub.server, name), name


# The checks themselves: each rule catches a violation planted in a throwaway tree.

def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in {"scimhub/__init__.py": "", **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(tmp_path).parents:
            init = tmp_path / parent / "__init__.py"
            if parent != Path(".") and not init.exists():
                init.write_text("")
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(("files", "expected"), [
    ({"scimhub/scim/a.py": "from scimhub.store.database import Database\n"},
     "scim must not depend on store"),
    ({"scimhub/store/a.py": "import scimhub.engine.runner\n"},
     "store must not depend on engine"),
    ({"scimhub/server/app.py": "from scimhub.console import console_routes\n"},
     "server must not depend on console"),
    ({"scimhub/server/guard.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                 "    from scimhub.console.pages import Pages\n"},
     "server must not depend on console"),
    ({"scimhub/server/app.py": "from ..web import create_app\n"},
     "server must not depend on web"),
    ({"scimhub/console/a.py": "from scimhub.server.scim_routes import base_url\n"},
     "the console uses only the server's public API"),
    ({"scimhub/console/a.py": "from ..server import scim_routes\n",
      "scimhub/server/scim_routes.py": ""},
     "the console uses only the server's public API"),
    ({"scimhub/engine/a.py": "from scimhub.server import AppContext\n"},
     "engine must not depend on server"),
    ({"scimhub/cli/a.py": "from scimhub.engine.cycle.cycle import Cycle\n"},
     "only its public API"),
    ({"scimhub/console/a.py": "from scimhub.engine import runner\n",
      "scimhub/engine/runner.py": ""},
     "only its public API"),
])
def test_each_rule_catches_a_violation(tmp_path: Path, files: dict[str, str],
                                       expected: str) -> None:
    found = violations(_tree(tmp_path, files))
    assert len(found) == 1 and expected in found[0], found


def test_allowed_imports_pass(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "scimhub/console/a.py": "from scimhub.server import AppContext\n"
                                "from scimhub.store.audit import AuditStore\n",
        "scimhub/web.py": "from scimhub.console import console_routes\n"
                          "from scimhub.server.app import create_app\n",
        "scimhub/server/a.py": "from . import b\nfrom scimhub.store import x\n",
        "scimhub/server/b.py": "",
        "scimhub/cli/a.py": "from scimhub.engine import run_once\n",
        "scimhub/engine/a.py": "from scimhub.engine.cycle import plan\n",
    })
    assert violations(root) == []


def test_a_backend_leak_is_caught(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"scimhub/server/context.py": "inline = db.is_sqlite\n",
                            "scimhub/store/database.py": "is_sqlite = True\n"})
    assert backend_leaks(root) == ["scimhub/server/context.py:1: inline = db.is_sqlite"]


def test_a_database_import_outside_the_store_is_caught(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"scimhub/console/a.py": "from sqlalchemy import text\n",
                            "scimhub/store/b.py": "import sqlalchemy\n"})
    assert database_outside_store(root) == ["scimhub.console.a:1 imports sqlalchemy"]
