"""A real server process per database (SQLite and PostgreSQL), each with two tenants."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ServerProcess
from tests.support.postgres import temporary_database


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir: Path = tmp_path_factory.mktemp(f"scimhub-{request.param}")
    with ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(temporary_database())
        else:
            url = f"sqlite:///{workdir}/scimhub.db"
        proc = ServerProcess(database=url, workdir=workdir)
        proc.tenants = {name: proc.create_tenant(name) for name in ("contoso", "fabrikam")}  # type: ignore[attr-defined]
        proc.start()
        stack.callback(proc.stop)
        yield proc


def _client(server: ServerProcess, tenant: str) -> Iterator[httpx.Client]:
    token = server.tenants[tenant]["token"]  # type: ignore[attr-defined]
    with httpx.Client(
        base_url=server.scim_url,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
        timeout=10,
    ) as client:
        yield client


@pytest.fixture()
def scim(server: ServerProcess) -> Iterator[httpx.Client]:
    """A client of tenant contoso."""
    yield from _client(server, "contoso")


@pytest.fixture()
def other(server: ServerProcess) -> Iterator[httpx.Client]:
    """A client of tenant fabrikam, which must never see contoso's data."""
    yield from _client(server, "fabrikam")
