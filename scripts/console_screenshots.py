"""Screenshots of the console for the README, taken from a real server with sample data.

    .venv/bin/python scripts/console_screenshots.py [--out docs/screenshots]

Needs the test extra (Playwright) and Debian's chromium at /usr/bin/chromium.
The server, its database and its tokens are throwaway: everything lives in a
temporary directory that is removed at the end.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.console.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD  # noqa: E402
from tests.e2e.helpers import CORE_GROUP, PATCH_OP, entra_user_body  # noqa: E402
from tests.e2e.server import ServerProcess, free_port  # noqa: E402

PEOPLE = [
    ("Ada", "Lovelace", "Engineering"), ("Alan", "Turing", "Engineering"),
    ("Grace", "Hopper", "Engineering"), ("Katherine", "Johnson", "Research"),
    ("Edsger", "Dijkstra", "Research"), ("Barbara", "Liskov", "Engineering"),
    ("Donald", "Knuth", "Research"), ("Margaret", "Hamilton", "Operations"),
    ("Dennis", "Ritchie", "Operations"), ("Frances", "Allen", "Research"),
    ("John", "Backus", "Engineering"), ("Radia", "Perlman", "Operations"),
]


def port_8000_or_any() -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", 8000))
        except OSError:
            return free_port()
    return 8000


def populate(server: ServerProcess, token: str) -> dict[str, str]:
    """What Entra ID would have sent: users, groups, a few updates, a disable, one conflict."""
    import httpx

    ids: dict[str, str] = {}
    with httpx.Client(base_url=server.scim_url, timeout=10, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}) as scim:
        for given, family, department in PEOPLE:
            name = f"{given.lower()}.{family.lower()}@contoso.example"
            body = entra_user_body(name, displayName=f"{given} {family}", name={
                "givenName": given, "familyName": family, "formatted": f"{given} {family}"})
            body["emails"] = [{"primary": True, "type": "work", "value": name}]
            body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = {
                "department": department, "employeeNumber": str(1000 + len(ids))}
            ids[name] = scim.post("/Users", json=body).json()["id"]
        for team in ("Engineering", "Research", "Operations"):
            members = [{"value": ids[f"{g.lower()}.{f.lower()}@contoso.example"]}
                       for g, f, d in PEOPLE if d == team]
            group = scim.post("/Groups", json={"schemas": [CORE_GROUP], "displayName": team,
                                               "members": members}).json()
            ids[team] = group["id"]
        ada = ids["ada.lovelace@contoso.example"]
        scim.patch(f"/Users/{ada}", json={"schemas": [PATCH_OP], "Operations": [
            {"op": "Replace", "path": "title", "value": "Principal Engineer"}]})
        scim.patch(f"/Users/{ids['dennis.ritchie@contoso.example']}", json={
            "schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active",
                                                   "value": "False"}]})
        scim.post("/Users", json=entra_user_body("ada.lovelace@contoso.example"))
    return ids


def shoot(page: Page, out: Path, name: str) -> None:
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    print(out / f"{name}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = ServerProcess(database=f"sqlite:///{workdir}/scimhub.db", workdir=workdir,
                               port=port_8000_or_any())
        tenant = server.create_tenant("contoso")
        server.start()
        try:
            ids = populate(server, tenant["token"])
            take(server, ids, args.out)
        finally:
            server.stop()


def take(server: ServerProcess, ids: dict[str, str], out: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=server.url, viewport={"width": 1200, "height": 760})
        page = context.new_page()
        page.goto("/signin")
        page.get_by_label("E-mail").fill("admin@contoso.example")
        shoot(page, out, "sign-in")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{server.url}/")
        shoot(page, out, "overview")
        page.locator("details.profile summary").click()
        page.screenshot(path=str(out / "profile-menu.png"),
                        clip={"x": 700, "y": 0, "width": 500, "height": 220})
        print(out / "profile-menu.png")
        page.locator("details.profile").get_by_role("link", name="API Settings").click()
        page.get_by_label("Current Password").fill(PASSWORD)
        shoot(page, out, "api-settings")
        page.get_by_role("button", name="Submit").click()
        shoot(page, out, "api-settings-token")
        page.goto('/users?q=userName sw "a"')
        shoot(page, out, "users-filter")
        page.goto(f"/users/{ids['ada.lovelace@contoso.example']}")
        shoot(page, out, "user")
        page.goto(f"/groups/{ids['Engineering']}")
        shoot(page, out, "group")
        page.goto("/activity")
        shoot(page, out, "activity")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/users")
        page.screenshot(path=str(out / "phone-users.png"))
        print(out / "phone-users.png")
        browser.close()


if __name__ == "__main__":
    main()
