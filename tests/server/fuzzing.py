"""The fuzzer's strategies and oracles, shared by ``test_fuzz.py`` and ``bench/fuzz.py``.

Inputs are generated near the valid ones (real attribute names, real
operators, real parameter names) and then bent: wrong JSON types, NUL,
integers past 64 bits, Unicode digits, blank strings, deep and long filters.
The oracles are what an outsider must never see: a 5xx, or a SCIM error that
is not a SCIM error body (RFC 7644 §3.12: ``schemas``, ``status`` as a string
equal to the HTTP status, ``scimType`` only from the RFC's list).

``SCIMHUB_FUZZ_EXAMPLES`` sets the number of examples per property (100 by
default, a third of that for the costliest two, so that the suite's run stays near
a minute on both databases; ``bench/fuzz.py`` raises both, the second with
``SCIMHUB_FUZZ_HEAVY_EXAMPLES``), and ``STATS``
counts the requests sent, so a long run can say how many it made.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any
from urllib.parse import quote

import httpx2
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("SCIMHUB_FUZZ_EXAMPLES", "100"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
#: For the properties that send five requests per example (create, replace, PATCH).
HEAVY = settings(SETTINGS, max_examples=int(os.environ.get(
    "SCIMHUB_FUZZ_HEAVY_EXAMPLES", max(1, EXAMPLES // 3))))
#: Requests sent, by kind ("scim", "console"), over the whole process.
STATS: Counter[str] = Counter()

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#: RFC 7644 §3.12 Table 9, plus RFC 9865's invalidCursor.
SCIM_TYPES = frozenset({"invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax",
                        "invalidPath", "noTarget", "invalidValue", "invalidVers", "sensitive",
                        "invalidCursor"})


# -- oracles ----------------------------------------------------------------

def check_scim(response: httpx2.Response, what: object) -> None:
    """Never a 5xx; every error a SCIM error body; every success JSON."""
    STATS["scim"] += 1
    status = response.status_code
    assert status < 500, (what, status, response.text[:500])
    if status in (204, 304):
        return
    assert response.headers.get("content-type", "").startswith("application/scim+json"), (
        what, status, response.headers.get("content-type"), response.text[:300])
    body = response.json()
    if status >= 400:
        assert isinstance(body, dict) and body.get("schemas") == [ERROR], (what, body)
        assert body.get("status") == str(status), (what, body)
        assert isinstance(body.get("detail"), str), (what, body)
        assert body.get("scimType") in (None, *SCIM_TYPES), (what, body)


def check_console(response: httpx2.Response, what: object) -> None:
    """Never a 5xx from any console page, signed in or not."""
    STATS["console"] += 1
    assert response.status_code < 500, (what, response.status_code, response.text[:500])


# -- values -----------------------------------------------------------------

#: Strings that have broken parsers somewhere: blank, NUL, Unicode digits, long digits.
NASTY = ["", " ", "  \t", ",", " , ", "\x00", "a\x00b", "²", "١٢", "1_0", " 1", "+1", "-0",
         "0x10", "1e3", "9" * 30, "9" * 5000, "-" + "9" * 25, "2147483648", "null", "true",
         "True", "[]", "{}", '"', "\\", "'", "é", "\u3000", "\u200b", "%00", "%", "../..",
         "9999-12-31T23:59", "9999-12-31T23:59:59Z", "0001-01-01T00:00", "2011-05-13T04:42:34Z",
         "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2011-05-13t04:42:34z",
         "2025-13-45T99:99", "-1", "0", "1", "1000001", "\U0001d7d9",
         "x" * 321, "\u00e9" * 1000, "admin@fuzz.example" + " " * 400]
#: Text without surrogates (a URL or a header cannot carry one), with NUL allowed.
PLAIN = st.text(st.characters(exclude_categories=["Cs"]), max_size=24)
TEXT = st.one_of(st.sampled_from(NASTY), PLAIN)
BIG_INTS = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from(
    [2**31, 2**31 - 1, 2**63, 2**63 - 1, -(2**63), 2**64, 10**30, 0, -1]))
SCALARS = st.one_of(st.none(), st.booleans(), BIG_INTS,
                    st.floats(allow_nan=False, allow_infinity=False), TEXT,
                    st.text(max_size=6))  # surrogates too: JSON escapes them
INT_TEXT = st.one_of(BIG_INTS.map(str), st.sampled_from(NASTY))

USER_NAMES = ["userName", "name", "name.givenName", "name.familyName", "displayName",
              "nickName", "title", "emails", "emails.value", "emails.type", "emails.primary",
              "phoneNumbers", "phoneNumbers.value", "addresses", "addresses.country",
              "active", "password", "externalId", "id", "meta", "meta.created",
              "meta.lastModified", "meta.version", "schemas", "groups", "groups.value",
              "roles", "x509Certificates", "locale", "timezone", "profileUrl",
              "preferredLanguage", "userType", "ims", "photos", "entitlements",
              f"{ENTERPRISE}:manager", f"{ENTERPRISE}:manager.value", f"{ENTERPRISE}:department",
              f"{ENTERPRISE}:employeeNumber", ENTERPRISE, f"{CORE_USER}:userName",
              "manager", "department", "nosuch", "name.nosuch", "Emails.Value", "USERNAME",
              "urn:ietf:params:scim:schemas:extension:ADSCIM:2.0:Group", "members",
              "members.value", "members.display", "$ref", "emails.$ref"]
GROUP_NAMES = ["displayName", "members", "members.value", "members.display", "members.type",
               "members.$ref", "externalId", "id", "meta", "schemas", "nosuch",
               f"{CORE_GROUP}:displayName",
               "urn:ietf:params:scim:schemas:extension:ADSCIM:2.0:Group"]
NAMES = st.sampled_from(sorted(set(USER_NAMES + GROUP_NAMES)))
VALUE_FILTERS = ['emails[type eq "work"]', 'emails[type eq "work"].value',
                 'members[value eq "x"]', 'phoneNumbers[type eq "mobile"].value',
                 'addresses[type eq "work"].streetAddress', 'emails[value co "\\u0000"]',
                 'emails[primary eq true]', 'members[value eq 99999999999999999999999]',
                 'emails[type eq "work" and value sw "a"]', "emails[not(type pr)]"]
PATH_TEXT = st.one_of(NAMES, st.sampled_from(VALUE_FILTERS), TEXT)
OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]


def json_values(names: st.SearchStrategy[str] = NAMES) -> st.SearchStrategy[Any]:
    """Any JSON, keyed by real attribute names more often than not."""
    return st.recursive(
        SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.one_of(names, st.sampled_from(["value", "type", "primary",
                                                              "display", "$ref"]), TEXT),
                            inner, max_size=4)),
        max_leaves=8,
    )


def _literal(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


@st.composite
def filters(draw: st.DrawFn, depth: int = 0) -> str:
    """Filters mostly well-formed, with strange literals and shapes."""
    kind = draw(st.integers(0, 7 if depth < 3 else 1))
    name = draw(st.one_of(NAMES, st.sampled_from(VALUE_FILTERS)))
    if kind == 0:
        value = draw(st.one_of(SCALARS, BIG_INTS, st.just(10**30), st.sampled_from(NASTY)))
        return f"{name} {draw(st.sampled_from(OPS))} {_literal(value)}"
    if kind == 1:
        return f"{name} pr"
    if kind == 2:
        return f"({draw(filters(depth + 1))}) and {draw(filters(depth + 1))}"
    if kind == 3:
        joiner = draw(st.sampled_from([" or ", " and ", " OR ", " aNd "]))
        return joiner.join(draw(st.lists(filters(depth + 1), min_size=2, max_size=40)))
    if kind == 4:
        return f"not ({draw(filters(depth + 1))})"
    if kind == 5:
        return f"emails[{draw(filters(depth + 1))}]"
    if kind == 6:
        return f"{name} {draw(st.sampled_from(OPS))} {draw(TEXT)}"  # unquoted junk
    return draw(TEXT)


FILTER_TEXT = st.one_of(filters(), TEXT, st.just("(" * 40 + "a pr" + ")" * 40))


# -- query parameters and SearchRequests --------------------------------------

def _attribute_list() -> st.SearchStrategy[str]:
    return st.lists(st.one_of(NAMES, TEXT), max_size=4).map(",".join)


QUERY_VALUES: dict[str, st.SearchStrategy[str]] = {
    "filter": FILTER_TEXT,
    "sortBy": st.one_of(NAMES, TEXT, st.just("password")),
    "sortOrder": st.one_of(st.sampled_from(["ascending", "descending", "DESCENDING"]), TEXT),
    "startIndex": INT_TEXT,
    "count": INT_TEXT,
    "attributes": _attribute_list(),
    "excludedAttributes": _attribute_list(),
    "cursor": st.one_of(st.just(""), TEXT, st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789-_=",
                                                   max_size=60)),
}
QUERIES = st.dictionaries(st.sampled_from(sorted(QUERY_VALUES)), st.none(), max_size=5).flatmap(
    lambda keys: st.fixed_dictionaries({k: QUERY_VALUES[k] for k in keys}))

SEARCH_VALUES: dict[str, st.SearchStrategy[Any]] = {
    **QUERY_VALUES,
    "startIndex": st.one_of(BIG_INTS, INT_TEXT, SCALARS),
    "count": st.one_of(BIG_INTS, INT_TEXT, SCALARS),
    "attributes": st.one_of(st.lists(st.one_of(NAMES, SCALARS), max_size=4), SCALARS,
                            _attribute_list()),
    "excludedAttributes": st.one_of(st.lists(st.one_of(NAMES, SCALARS), max_size=4), SCALARS),
    "sortBy": st.one_of(NAMES, SCALARS, st.lists(NAMES, max_size=2)),
    "filter": st.one_of(FILTER_TEXT, SCALARS),
    "cursor": st.one_of(st.just(""), SCALARS),
    "schemas": st.one_of(st.just([SEARCH]), json_values()),
}
SEARCHES = st.one_of(
    st.dictionaries(st.sampled_from(sorted(SEARCH_VALUES)), st.none(), max_size=5).flatmap(
        lambda keys: st.fixed_dictionaries({k: SEARCH_VALUES[k] for k in keys})),
    json_values(),
)


# -- resources and PATCH ---------------------------------------------------------

def resource_bodies(kind: str, name: str) -> st.SearchStrategy[Any]:
    """POST/PUT bodies: a valid core plus random attributes, or anything at all."""
    key = "userName" if kind == "Users" else "displayName"
    schema = CORE_USER if kind == "Users" else CORE_GROUP
    names = st.sampled_from(USER_NAMES if kind == "Users" else GROUP_NAMES)
    near = st.fixed_dictionaries(
        {"schemas": st.one_of(st.just([schema]), st.just([schema, ENTERPRISE]), json_values()),
         key: st.one_of(st.just(name), TEXT, SCALARS)},
    ).flatmap(lambda base: st.dictionaries(names, json_values(names), max_size=5).map(
        lambda extra: {**base, **extra}))
    return st.one_of(near, json_values(names))


@st.composite
def operations(draw: st.DrawFn) -> Any:
    op: dict[str, Any] = {"op": draw(st.one_of(
        st.sampled_from(["add", "replace", "remove", "Add", "Replace", "Remove"]), TEXT,
        SCALARS))}
    if draw(st.booleans()):
        op["path"] = draw(st.one_of(PATH_TEXT, SCALARS))
    if draw(st.booleans()):
        op["value"] = draw(json_values())
    if draw(st.integers(0, 9)) == 0:
        op[draw(TEXT)] = draw(SCALARS)
    return op


PATCH_BODIES = st.one_of(
    st.fixed_dictionaries({"schemas": st.one_of(st.just([PATCH_OP]), json_values()),
                           "Operations": st.lists(operations(), max_size=4)}),
    st.fixed_dictionaries({"schemas": st.just([PATCH_OP]),
                           "Operations": st.one_of(SCALARS, json_values())}),
    json_values(),
)


# -- headers ------------------------------------------------------------------------

#: Header values as a real client sends them: latin-1, no control characters.
HEADER_TEXT = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
            max_size=30),
    st.sampled_from(['W/"1"', '"1"', "*", 'W/"²"', '"\u0661"', 'W/"' + "9" * 5000 + '"',
                     'W/"1", W/"2"', 'W/""', "W/", '"', ",,,", 'W/"-1"', 'W/" 1"']),
)
CONTENT_TYPES = st.one_of(st.sampled_from([
    "application/scim+json", "application/json", "application/scim+json; charset=utf-8",
    "APPLICATION/JSON", "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", ""]), HEADER_TEXT)
AUTHORIZATION = st.one_of(
    HEADER_TEXT,
    HEADER_TEXT.map(lambda t: f"Bearer {t}"),
    st.text("abcdef0123456789\x00é", min_size=12, max_size=12).map(
        lambda p: f"Bearer scimhub_{p}_secret"),
    st.just("Bearer"), st.just("Basic dXNlcjpwYXNz"),
)


def header_bytes(value: str) -> bytes:
    """Latin-1 where it can be (one byte per character, as a server reads it), else UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


# -- the console ---------------------------------------------------------------------

CONSOLE_PATHS = ["/", "/users", "/groups", "/activity", "/provisioning", "/settings/api",
                 "/settings/api/reset", "/signin", "/users/{user}", "/groups/{group}",
                 "/users/{junk}", "/groups/{junk}", "/assets/{junk}", "/{junk}"]
CONSOLE_PARAMS: dict[str, st.SearchStrategy[str]] = {
    "q": st.one_of(FILTER_TEXT, TEXT),
    "sort": st.one_of(st.sampled_from(["userName", "displayName", "meta.lastModified"]), TEXT),
    "order": st.one_of(st.sampled_from(["asc", "desc"]), TEXT),
    "page": INT_TEXT,
    "type": st.one_of(st.sampled_from(["User", "Group"]), TEXT),
    "resource": TEXT,
    "from": st.one_of(st.sampled_from(["2025-01-31T09:30", "9999-12-31T23:59"]), TEXT),
    "to": st.one_of(st.sampled_from(["2025-01-31T09:30", "9999-12-31T23:59"]), TEXT),
    "next": st.one_of(st.sampled_from(["/users", "//evil.example", "/\\evil"]), TEXT),
    "job": TEXT, "status": TEXT, "action": TEXT, "search": TEXT, "since": TEXT,
    "format": st.one_of(st.sampled_from(["json", "csv"]), TEXT),
    "signed_out": TEXT,
}
CONSOLE_QUERIES = st.dictionaries(st.sampled_from(sorted(CONSOLE_PARAMS)), st.none(),
                                  max_size=4).flatmap(
    lambda keys: st.fixed_dictionaries({k: CONSOLE_PARAMS[k] for k in keys}))


def console_path(template: str, user: str, group: str, junk: str) -> str:
    return template.format(user=user, group=group, junk=quote(junk, safe=""))
