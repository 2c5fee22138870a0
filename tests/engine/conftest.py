"""One live scimhub server per test module that asks for ``server``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.server import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("live")
    proc = ServerProcess(database=f"sqlite:///{workdir}/live.db", workdir=workdir)
    proc.tenants = {"contoso": proc.create_tenant("contoso")}  # type: ignore[attr-defined]
    proc.start()
    yield proc
    proc.stop()
