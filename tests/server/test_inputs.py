"""Inputs an outsider can send that were 500s: each is a 4xx SCIM error on both databases.

Every test here failed before the fix it names: IndexError, TypeError, int()
overflow and ValueError in the request parsers, and PostgreSQL refusing NUL.
"""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from scimhub.scim.cursor import Cursor, encode_cursor, fingerprint
from tests.server.conftest import App, raw_request

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_TYPES = {"invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax",
              "invalidPath", "noTarget", "invalidValue", "invalidVers", "sensitive",
              "invalidCursor"}


def assert_scim_error(response: httpx2.Response, status: int, scim_type: str | None = None
                      ) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status), body
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


def user(client: TestClient, name: str) -> dict[str, Any]:
    created = client.post("/Users", json={"userName": name})
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


@pytest.mark.parametrize("sort_by", [" ", ",", " , ", "userName,displayName", "a b"])
def test_blank_or_listed_sort_by_is_invalid_value(client: TestClient, sort_by: str) -> None:
    """Was IndexError: ``paths_param(" ")`` is an empty list and ``[0]`` of it failed."""
    assert_scim_error(client.get("/Users", params={"sortBy": sort_by}), 400, "invalidValue")
    assert_scim_error(client.post("/Users/.search", json={"sortBy": sort_by}), 400,
                      "invalidValue")


@pytest.mark.parametrize("body", [{"attributes": True}, {"excludedAttributes": 5},
                                  {"attributes": {"a": 1}}, {"excludedAttributes": [1]},
                                  {"sortBy": ["userName"]}, {"count": "1.5"},
                                  {"startIndex": True}, {"count": 2.0}])
def test_wrongly_typed_search_parameters_are_invalid_value(client: TestClient,
                                                           body: dict[str, Any]) -> None:
    """Was TypeError: iterating ``True`` or ``5`` as a list of attribute names."""
    assert_scim_error(client.post("/Users/.search", json=body), 400, "invalidValue")
    assert_scim_error(client.post("/.search", json=body), 400, "invalidValue")


@pytest.mark.parametrize("value", ["99999999999999999999999", "9" * 5000, "2147483648",
                                   "-99999999999999999999999", "²", "١٢", "1_0", " 1", "0x10"])
@pytest.mark.parametrize("name", ["startIndex", "count"])
def test_integer_parameters_are_ascii_and_bounded(client: TestClient, name: str,
                                                  value: str) -> None:
    """Was a 500 (an integer beyond 64 bits in SQL, or int() refusing 5,000 digits):
    one bounded parser reads every integer parameter."""
    assert_scim_error(client.get("/Users", params={name: value}), 400, "invalidValue")


def test_integer_parameters_at_the_bounds_still_work(client: TestClient) -> None:
    body = client.get("/Users", params={"startIndex": "2147483647", "count": "+5"}).json()
    assert body["Resources"] == [] and body["startIndex"] == 2147483647
    assert client.post("/Users/.search", json={"startIndex": -5, "count": 10**6}).json()[
        "startIndex"] == 1
    big = client.post("/Users/.search", json={"startIndex": 2**64})
    assert_scim_error(big, 400, "invalidValue")


@pytest.mark.parametrize("tag", [b'W/"\xb2"', b'"\xb2"', b'W/"' + b"9" * 5000 + b'"',
                                 b'"' + b"1" * 19 + b'"', b'W/"\xd9\xa1"', b'W/"\xb2\xb3"'])
def test_etags_that_are_not_ascii_digits_match_nothing(app: App, tag: bytes) -> None:
    """Was ValueError: ``"²".isdigit()`` is true and ``int("²")`` fails; 5,000 digits exceed
    int()'s limit. Such a tag is not one this server issued: If-Match fails (412) and
    If-None-Match passes. Sent as raw bytes: a real server passes 0xB2 on as "²"."""
    uid = user(app.scim, f"etag-{tag.hex()[:40]}")["id"]
    path = f"/scim/v2/Users/{uid}"
    application = app.scim.app

    def status(method: str, header: bytes) -> int:
        return raw_request(application, method, path, [(header, tag)], app.token)

    assert status("GET", b"if-none-match") == 200
    assert status("PUT", b"if-match") in (412, 415)
    assert status("DELETE", b"if-match") == 412
    assert status("DELETE", b"if-none-match") == 204


def test_a_real_etag_still_matches(client: TestClient) -> None:
    created = client.post("/Users", json={"userName": "etag-real"})
    uid, etag = created.json()["id"], created.headers["etag"]
    assert client.get(f"/Users/{uid}", headers={"If-None-Match": etag}).status_code == 304
    assert client.delete(f"/Users/{uid}", headers={"If-Match": etag}).status_code == 204


NUL_BODIES: list[tuple[str, str, Any]] = [
    ("POST", "/Users", {"userName": "pa\x00ul"}),
    ("POST", "/Users", {"userName": "nul-display", "displayName": "\x00"}),
    ("POST", "/Users", {"userName": "nul-mail", "emails": [{"value": "a\x00@b.example"}]}),
    ("POST", "/Users", {"userName": "nul-key", "name": {"given\x00Name": "x"}}),
    ("POST", "/Groups", {"displayName": "group\x00"}),
    ("POST", "/Users/.search", {"filter": 'userName eq "\x00"'}),
    ("POST", "/Users/.search", {"cursor": "\x00"}),
    ("POST", "/.search", {"attributes": ["user\x00Name"]}),
]


@pytest.mark.parametrize(("method", "path", "body"), NUL_BODIES)
def test_nul_in_any_json_string_is_refused_alike_on_both_databases(
        client: TestClient, method: str, path: str, body: Any) -> None:
    """Was a 500 on PostgreSQL (which cannot store NUL) and a 201 on SQLite."""
    error = assert_scim_error(client.request(method, path, json=body), 400, "invalidValue")
    assert "U+0000" in error["detail"]


def test_nul_in_patch_and_put_bodies_is_refused_and_changes_nothing(client: TestClient) -> None:
    uid = user(client, "nul-target")["id"]
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "displayName", "value": "a\x00"}]}
    assert_scim_error(client.patch(f"/Users/{uid}", json=patch), 400, "invalidValue")
    assert_scim_error(client.put(f"/Users/{uid}", json={"userName": "nul\x00"}), 400,
                      "invalidValue")
    assert client.get(f"/Users/{uid}").json()["userName"] == "nul-target"


@pytest.mark.parametrize("url", ["/Users/%00", "/Groups/a%00b",
                                 "/Users?filter=userName%20eq%20%22%00%22", "/Users?sortBy=%00",
                                 "/Users?attributes=%00",
                                 "/Groups?excludedAttributes=members%00", "/Users?cursor=%00"])
def test_nul_in_a_path_or_query_is_refused(client: TestClient, url: str) -> None:
    """Was a 500 on PostgreSQL (``/Users/%00`` looked NUL up; a filter value compared it)."""
    assert_scim_error(client.get(url), 400, "invalidValue")
    assert_scim_error(client.delete(url.split("?")[0] if "%00" in url.split("?")[0]
                                    else "/Users/%00"), 400, "invalidValue")


def test_blank_user_name_is_refused(client: TestClient) -> None:
    """``userName`` is required (RFC 7643 §4.1.1): only spaces is as good as none."""
    assert_scim_error(client.post("/Users", json={"userName": "   "}), 400, "invalidValue")
    assert_scim_error(client.post("/Users", json={"userName": "\t \u3000"}), 400,
                      "invalidValue")
    assert_scim_error(client.post("/Groups", json={"displayName": "  "}), 400, "invalidValue")
    uid = user(client, "blank-later")["id"]
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "userName", "value": "  "}]}
    assert_scim_error(client.patch(f"/Users/{uid}", json=patch), 400, "invalidValue")
    assert_scim_error(client.put(f"/Users/{uid}", json={"userName": " "}), 400, "invalidValue")


@pytest.mark.parametrize("sort_by", ["password", "nosuch", "name.nosuch",
                                     "urn:ietf:params:scim:schemas:core:2.0:User:password"])
def test_sorting_by_a_never_returned_or_unknown_attribute_is_invalid_value(
        client: TestClient, sort_by: str) -> None:
    """Sorting by ``password`` answered 200, ordered by the password hashes."""
    assert_scim_error(client.get("/Users", params={"sortBy": sort_by}), 400, "invalidValue")
    assert_scim_error(client.get("/Users", params={"sortBy": sort_by, "cursor": ""}), 400,
                      "invalidValue")


def test_forty_or_clauses_without_parentheses_are_a_filter(app: App) -> None:
    """Was "nesting exceeds the maximum depth of 32": a flat chain is not nesting."""
    client = app.scim
    names = [user(client, f"chain-{i}")["userName"] for i in range(3)]
    text = " or ".join(f'userName eq "chain-{i}"' for i in range(40))
    body = client.get("/Users", params={"filter": text, "sortBy": "userName"}).json()
    assert [r["userName"] for r in body["Resources"]] == names
    longest = " or ".join(["id pr"] * 455)  # 4,091 characters: the most the length limit allows
    total = client.get("/Users", params={"filter": longest, "count": 0}).json()["totalResults"]
    assert total == client.get("/Users", params={"count": 0}).json()["totalResults"]


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_date_time_beyond_year_1_or_9999_in_utc_is_invalid_filter(client: TestClient,
                                                                    instant: str) -> None:
    """Found by the fuzzer: OverflowError converting to UTC when the filter was compiled."""
    for endpoint in ("/Users", "/Groups"):
        response = client.get(endpoint, params={"filter": f'meta.created gt "{instant}"'})
        assert_scim_error(response, 400, "invalidFilter")


@pytest.mark.parametrize(("key", "rid"), [("\x00", "x"), ("a", "\x00"), (None, "a\x00b")])
def test_a_forged_cursor_with_nul_is_invalid_cursor(client: TestClient, key: str | None,
                                                    rid: str) -> None:
    """Found by the fuzzer: a cursor's fingerprint is public, so anyone can forge one, and a
    NUL inside it (base64, past the NUL guard) reached PostgreSQL."""
    forged = encode_cursor(Cursor(key, rid, fingerprint("User", None, None, False)))
    assert_scim_error(client.get("/Users", params={"cursor": forged}), 400, "invalidCursor")


@pytest.mark.parametrize("text", ['Emails.Value eq "\\u0000"', 'userName sw "a\\u0000"',
                                  'emails[value eq "\\u0000"]'])
def test_nul_spelled_as_an_escape_in_a_filter_is_invalid_filter(app: App, text: str) -> None:
    """Found by the fuzzer: ``\\u0000`` passes the byte-level NUL check of the query string,
    and the parser turned it into NUL, which PostgreSQL cannot compare."""
    for endpoint in ("/Users", "/Groups"):
        assert_scim_error(app.scim.get(endpoint, params={"filter": text}), 400, "invalidFilter")
    assert_scim_error(app.scim.post("/Users/.search", json={"filter": text}), 400,
                      "invalidFilter")
    assert app.console.get("/users", params={"q": text}).status_code == 200
