"""One real server process per test session, with two tenants."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ServerProcess


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir: Path = tmp_path_factory.mktemp("scimhub")
    proc = ServerProcess(database=f"sqlite:///{workdir}/scimhub.db", workdir=workdir)
    proc.tenants = {name: proc.create_tenant(name) for name in ("contoso", "fabrikam")}  # type: ignore[attr-defined]
    proc.start()
    yield proc
    proc.stop()


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
