"""Where a group PATCH of Entra's size runs: members alone inline, anything more on a thread.

Entra adds members up to 100 a request (about 7 KB of body). Such a PATCH validates no
document, only looks ids up and inserts rows, so on SQLite it is cheap enough for the event
loop; a thread hop and the write lock's handover between eight of them cost more than the
work (docs/performance.md). A PATCH that also changes attributes of that size is not.
"""

from __future__ import annotations

from typing import Any

import pytest

from scimhub.server.context import AppContext
from tests.server.conftest import App

SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture()
def cheapness(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each storage call of a request was declared cheap (``AppContext.run``)."""
    seen: list[bool] = []
    original = AppContext.run

    async def run(self: AppContext, fn: Any, *, cheap: bool = False) -> Any:
        seen.append(cheap)
        return await original(self, fn, cheap=cheap)

    monkeypatch.setattr(AppContext, "run", run)
    return seen


def test_a_member_only_patch_of_100_is_cheap_and_one_with_attributes_is_not(
        app: App, cheapness: list[bool]) -> None:
    ids = []
    for n in range(100):
        made = app.scim.post("/Users", json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"inline.member.{n}.{app.kind}@example.com"})
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    group = app.scim.post("/Groups", json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": f"inline {app.kind}"})
    assert group.status_code == 201, group.text
    path = f"/Groups/{group.json()['id']}"
    members = [{"value": i} for i in ids]

    cheapness.clear()
    added = app.scim.patch(path, json={"schemas": [SCHEMA], "Operations": [
        {"op": "add", "path": "members", "value": members}]})
    assert added.status_code == 204, added.text
    assert cheapness[-1] is True  # (on PostgreSQL the token lookup runs first)

    cheapness.clear()
    both = app.scim.patch(path, json={"schemas": [SCHEMA], "Operations": [
        {"op": "remove", "path": "members", "value": members},
        {"op": "replace", "path": "displayName", "value": f"renamed {app.kind}"}]})
    assert both.status_code == 204, both.text
    assert cheapness[-1] is False
    got = app.scim.get(path)
    assert got.json()["displayName"] == f"renamed {app.kind}"
    assert "members" not in got.json() or not got.json()["members"]
