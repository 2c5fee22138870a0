"""Two ``scimhub serve`` processes on one PostgreSQL database serve one directory."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.e2e.helpers import PATCH_OP, create_group, create_user
from tests.e2e.server import ServerProcess
from tests.support.postgres import temporary_database


def test_write_through_one_process_read_through_the_other(tmp_path: Path) -> None:
    with temporary_database() as url:
        first = ServerProcess(database=url, workdir=tmp_path)
        second = ServerProcess(database=url, workdir=tmp_path)  # same key file, same database
        token = first.create_tenant("shared")["token"]
        first.start()
        try:
            second.start()
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=first.scim_url, headers=headers) as a, \
                    httpx.Client(base_url=second.scim_url, headers=headers) as b:
                user = create_user(a)
                assert b.get(f"/Users/{user['id']}").json()["userName"] == user["userName"]
                group = create_group(b, members=[user["id"]])
                tag = a.get(f"/Groups/{group['id']}").headers["etag"]
                b.patch(f"/Groups/{group['id']}", json={"schemas": [PATCH_OP], "Operations": [
                    {"op": "replace", "path": "displayName", "value": "renamed"}]})
                stale = a.patch(f"/Groups/{group['id']}", headers={"If-Match": tag}, json={
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "replace", "path": "displayName", "value": "x"}]})
                assert stale.status_code == 412
                assert a.get(f"/Groups/{group['id']}").json()["displayName"] == "renamed"
                assert a.delete(f"/Users/{user['id']}").status_code == 204
                assert b.get(f"/Users/{user['id']}").status_code == 404
        finally:
            second.stop()
            first.stop()
