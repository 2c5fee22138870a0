"""Property: nothing an outsider sends, to SCIM or to the console, produces a 5xx.

Each property runs on SQLite and on PostgreSQL (the ``app`` fixture), over
filters, query parameters, SearchRequests, POST/PUT/PATCH bodies, headers,
and the console's query strings and forms, signed in and not. A SCIM error
must be a SCIM error body; a failed write must change nothing. The number of
examples is ``SCIMHUB_FUZZ_EXAMPLES`` (see ``fuzzing.py``); ``bench/fuzz.py``
runs the same properties for much longer.
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import quote

from hypothesis import assume, example, given
from hypothesis import strategies as st

from scimhub.scim.cursor import Cursor, encode_cursor, fingerprint
from scimhub.scim.errors import ScimError
from scimhub.scim.filter_parser import parse_attr_path, parse_filter
from scimhub.scim.filters import Filter
from scimhub.scim.paths import AttrPath
from tests.server.conftest import App, csrf_of, send_raw
from tests.server.fuzzing import (
    AUTHORIZATION,
    CONSOLE_PATHS,
    CONSOLE_QUERIES,
    CONTENT_TYPES,
    HEADER_TEXT,
    HEAVY,
    NAMES,
    PATCH_BODIES,
    PATCH_OP,
    PLAIN,
    QUERIES,
    SEARCHES,
    SETTINGS,
    TEXT,
    check_console,
    check_scim,
    console_path,
    filters,
    header_bytes,
    json_values,
    resource_bodies,
)

_serial = itertools.count()


def _create(app: App, kind: str) -> dict[str, Any]:
    key = "userName" if kind == "Users" else "displayName"
    response = app.scim.post(f"/{kind}", json={key: f"fuzz-{kind}-{next(_serial)}",
                                              "emails": [{"value": "a@b.example"}]}
                             if kind == "Users" else {key: f"fuzz-{kind}-{next(_serial)}"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _unchanged(app: App, kind: str, before: dict[str, Any], what: object) -> None:
    """A write that failed changed nothing (same version, same document)."""
    after = app.scim.get(f"/{kind}/{before['id']}")
    check_scim(after, what)
    assert after.status_code == 200, (what, after.text)
    assert after.json() == before, (what, before, after.json())


@SETTINGS
@given(text=st.one_of(filters(), TEXT))
@example(text='Emails.Value eq "\\u0000"')
@example(text='meta.created gt "0001-01-01T00:00:00+14:00"')
@example(text=" or ".join(['userName eq "x"'] * 40))
def test_filters_never_500(app: App, text: str) -> None:
    for endpoint in ("/Users", "/Groups"):
        check_scim(app.scim.get(endpoint, params={"filter": text}), text)
    check_scim(app.scim.post("/.search", json={"filter": text}), text)


@SETTINGS
@given(params=QUERIES, kind=st.sampled_from(["Users", "Groups"]))
@example(params={"sortBy": " "}, kind="Users")
@example(params={"sortBy": ","}, kind="Groups")
@example(params={"startIndex": "99999999999999999999999"}, kind="Users")
@example(params={"filter": 'userName eq "\x00"'}, kind="Users")
def test_query_parameters_never_500(app: App, params: dict[str, str], kind: str) -> None:
    check_scim(app.scim.get(f"/{kind}", params=params), params)


@SETTINGS
@given(body=SEARCHES, where=st.sampled_from(["/Users/.search", "/Groups/.search", "/.search"]))
@example(body={"attributes": True}, where="/Users/.search")
@example(body={"excludedAttributes": 5}, where="/.search")
@example(body={"sortBy": " "}, where="/Groups/.search")
def test_search_requests_never_500(app: App, body: Any, where: str) -> None:
    check_scim(app.scim.post(where, json=body), body)


@HEAVY
@given(case=st.sampled_from(["Users", "Groups"]).flatmap(
    lambda kind: st.tuples(st.just(kind), resource_bodies(kind, "fuzz-new"))))
@example(case=("Users", {"userName": "pa\x00ul"}))
@example(case=("Users", {"userName": "nul-mail", "emails": [{"value": "a\x00@b.example"}]}))
@example(case=("Groups", {"displayName": "group\x00"}))
def test_create_and_replace_bodies_never_500(app: App, case: tuple[str, Any]) -> None:
    kind, body = case
    created = app.scim.post(f"/{kind}", json=body)
    check_scim(created, body)
    if created.status_code == 201:
        app.scim.delete(f"/{kind}/{created.json()['id']}")
    target = _create(app, kind)
    replaced = app.scim.put(f"/{kind}/{target['id']}", json=body)
    check_scim(replaced, body)
    if replaced.status_code >= 400:
        _unchanged(app, kind, target, body)
    app.scim.delete(f"/{kind}/{target['id']}")


@HEAVY
@given(body=PATCH_BODIES, kind=st.sampled_from(["Users", "Groups"]),
       query=st.sampled_from([{}, {"attributes": "id"}, {"excludedAttributes": "members"}]))
@example(body={"schemas": [PATCH_OP], "Operations": [
    {"op": "replace", "path": "displayName", "value": "a\x00"}]}, kind="Groups", query={})
def test_patch_bodies_never_500(app: App, body: Any, kind: str, query: dict[str, str]) -> None:
    target = _create(app, kind)
    response = app.scim.patch(f"/{kind}/{target['id']}", json=body, params=query)
    check_scim(response, body)
    if response.status_code >= 400:
        _unchanged(app, kind, target, body)
    app.scim.delete(f"/{kind}/{target['id']}")


@SETTINGS
@given(method=st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "POST"]),
       headers=st.fixed_dictionaries({}, optional={
           "If-Match": HEADER_TEXT, "If-None-Match": HEADER_TEXT,
           "Content-Type": CONTENT_TYPES, "Authorization": AUTHORIZATION}),
       body=st.one_of(st.binary(max_size=40), json_values().map(
           lambda v: json.dumps(v).encode())))
@example(method="DELETE", headers={"If-Match": 'W/"\u00b2"'}, body=b"")
@example(method="GET", headers={"If-None-Match": '"\u00b2"'}, body=b"")
@example(method="DELETE", headers={"If-Match": '"' + "9" * 5000 + '"'}, body=b"")
def test_headers_and_raw_bodies_never_500(app: App, method: str, headers: dict[str, str],
                                          body: bytes) -> None:
    target = _create(app, "Users")
    path = "/Users" if method == "POST" else f"/Users/{target['id']}"
    raw = [(name.lower().encode(), header_bytes(value)) for name, value in headers.items()]
    response = send_raw(app.scim.app, method, f"/scim/v2{path}", raw,
                        body if method != "GET" else b"", app.token)
    check_scim(response, (method, headers, body))
    if response.status_code >= 400 and method != "POST":
        _unchanged(app, "Users", target, (method, headers, body))
    app.scim.delete(f"/Users/{target['id']}")


@SETTINGS
@given(template=st.sampled_from(CONSOLE_PATHS), params=CONSOLE_QUERIES, junk=PLAIN,
       signed=st.booleans())
@example(template="/users", params={"page": "\u00b2"}, junk="", signed=True)
@example(template="/groups/{group}", params={"page": "9" * 5000}, junk="", signed=True)
@example(template="/activity", params={"to": "9999-12-31T23:59"}, junk="", signed=True)
@example(template="/users", params={"q": "\x00"}, junk="", signed=True)
@example(template="/users/{junk}", params={}, junk="\x00", signed=True)
def test_console_pages_never_500(app: App, template: str, params: dict[str, str], junk: str,
                                 signed: bool) -> None:
    user, group = _console_targets(app)
    client = app.console if signed else app.anonymous()
    path = console_path(template, user, group, junk)
    check_console(client.get(path, params=params), (path, params))


@SETTINGS
@given(where=st.sampled_from(["/signin", "/settings/api/reveal", "/settings/api/reset",
                              "/signout", "/users"]),
       form=st.fixed_dictionaries({}, optional={
           "email": st.one_of(TEXT, st.just("admin@fuzz.example")), "password": TEXT,
           "next": TEXT, "extra": TEXT}),
       csrf=st.sampled_from(["valid", "missing", "junk"]), params=CONSOLE_QUERIES)
@example(where="/signin", form={"email": "pa\x00@a.example", "password": "x"}, csrf="valid",
         params={})
@example(where="/signin", form={"email": "a" * 400, "password": "x"}, csrf="valid", params={})
def test_console_forms_never_500(app: App, where: str, form: dict[str, str], csrf: str,
                                 params: dict[str, str]) -> None:
    """Signed in for the settings forms, anonymous for /signin (a valid double-submit token
    taken from the form); /signout only ever with a wrong token, so the session lives on."""
    anonymous = where == "/signin"
    client = app.anonymous() if anonymous else app.console
    data = dict(form)
    if csrf == "valid" and where != "/signout":
        data["csrf"] = csrf_of(client.get("/signin").text) if anonymous else app.csrf
    elif csrf == "junk" or where == "/signout":
        data["csrf"] = "junk"
    check_console(client.post(where, data=data, params=params), (where, form, csrf))


@SETTINGS
@given(kind=st.sampled_from(["Users", "Groups"]), sort=st.one_of(st.none(), NAMES),
       text=st.one_of(st.none(), filters()), descending=st.booleans(),
       key=st.one_of(st.none(), TEXT, st.text(max_size=8)), rid=st.one_of(TEXT, PLAIN))
@example(kind="Users", sort=None, text=None, descending=False, key="\x00", rid="x")
def test_forged_cursors_never_500(app: App, kind: str, sort: str | None, text: str | None,
                                  descending: bool, key: str | None, rid: str) -> None:
    """A cursor's fingerprint is computed from the query alone, so a client can forge a
    cursor that passes it, with any key and id: the keyset query must still be safe."""
    try:
        parsed: Filter | None = parse_filter(text) if text else None
        path: AttrPath | None = parse_attr_path(sort) if sort else None
    except ScimError:
        return
    marker = fingerprint(kind[:-1], parsed, path, descending)
    params = {"cursor": encode_cursor(Cursor(key, rid, marker)), "count": "2",
              "sortOrder": "descending" if descending else "ascending"}
    if sort:
        params["sortBy"] = sort
    if text:
        params["filter"] = text
    check_scim(app.scim.get(f"/{kind}", params=params), params)


@SETTINGS
@given(method=st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "POST"]),
       template=st.sampled_from(["/Users/{}", "/Groups/{}", "/{}", "/Schemas/{}",
                                 "/ResourceTypes/{}", "/ServiceProviderConfig", "/Schemas",
                                 "/ResourceTypes", "/Users/{}/x", "/.search", "/Bulk",
                                 "/Me"]),
       junk=st.one_of(PLAIN, st.sampled_from(["", "%", "urn:ietf:params:scim:"
                                              "schemas:core:2.0:User", "User", "x" * 1000])),
       params=QUERIES)
@example(method="GET", template="/Users/{}", junk="\x00", params={})
def test_any_path_never_500(app: App, method: str, template: str, junk: str,
                            params: dict[str, str]) -> None:
    """Every path under /scim/v2 ("." and ".." excepted: the client would resolve them)."""
    assume(junk not in (".", ".."))
    path = template.format(quote(junk, safe=""))
    check_scim(app.scim.request(method, path, params=params, json={}), (method, path))


_TARGETS: dict[int, tuple[str, str]] = {}


def _console_targets(app: App) -> tuple[str, str]:
    """One user in one group, so that detail pages have something to page through."""
    if id(app) not in _TARGETS:
        user, group = _create(app, "Users"), _create(app, "Groups")
        patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                 "Operations": [{"op": "add", "path": "members",
                                 "value": [{"value": user["id"]}]}]}
        app.scim.patch(f"/Groups/{group['id']}", json=patch)
        _TARGETS[id(app)] = (user["id"], group["id"])
    return _TARGETS[id(app)]
