"""The LDAP source's reads against a real slapd, without a target: profiles, ids, members,
the accountEnabled and assigned rules, bad entries, paging, watermarks, check() and the
``[source]`` keys."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from scimhub.engine.config import SourceConfig
from scimhub.engine.errors import ConfigError, SourceCredentialsRejected, SourceError
from scimhub.engine.sources import Snapshot, check_options, open_source
from scimhub.engine.sources.ldap import LdapSource
from tests.engine.ldap.conftest import GROUPS, PEOPLE, MakeSlapd, admin, group, ou, person
from tests.engine.ldap.slapd import SERVICE_DN, SERVICE_PASSWORD, SUFFIX, Slapd

PASSWORD_ENV = "SCIMHUB_TEST_LDAP_SOURCE_PASSWORD"


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, SERVICE_PASSWORD)


def source(server: Slapd, **options: Any) -> LdapSource:
    table = {"type": "ldap", "url": server.url, "bind_dn": SERVICE_DN,
             "password_env": PASSWORD_ENV, "base_dn": SUFFIX, **options}
    opened = open_source(SourceConfig("ldap", None, table, Path(".")))
    assert isinstance(opened, LdapSource)
    return opened


def read(src: LdapSource, since: str | None = None) -> Snapshot:
    return asyncio.run(src.read(since))


def by_name(snapshot: Snapshot, key: str = "uid") -> dict[str, dict[str, Any]]:
    return {str(u.get(key)): u for u in snapshot.directory.users.values()}


GUIDS = {name: uuid.uuid5(uuid.NAMESPACE_DNS, name) for name in ("ada", "grace", "alan", "ops")}


def ad_entry(name: str, kind: str, usn: int, *lines: str) -> str:
    guid = base64.b64encode(GUIDS[name].bytes_le).decode()
    # slapadd keeps only the last run of an attribute's lines: objectClass values together.
    if kind == "user":
        head = [f"dn: cn={name},{PEOPLE}", "objectClass: inetOrgPerson",
                "objectClass: scimhubTestADObject", f"cn: {name}", f"sn: {name.title()}",
                f"givenName: {name.title()}"]
    else:
        head = [f"dn: cn={name},{GROUPS}", "objectClass: groupOfNames",
                "objectClass: scimhubTestADObject", f"cn: {name}"]
    return "\n".join([*head, f"objectGUID:: {guid}",
                      f"uSNChanged: {usn}", *lines]) + "\n\n"


AD_SEED = (ou("people") + ou("groups")
           + ad_entry("ada", "user", 101, "userPrincipalName: ada@contoso.example",
                      "sAMAccountName: ada", "userAccountControl: 512", "employeeID: E1",
                      "department: Research", "mail: ada@contoso.example")
           + ad_entry("grace", "user", 102, "userPrincipalName: grace@contoso.example",
                      "sAMAccountName: grace", "userAccountControl: 514",
                      f"manager: cn=ada,{PEOPLE}")
           + ad_entry("alan", "user", 103, "userPrincipalName: alan@contoso.example",
                      "sAMAccountName: alan", "userAccountControl: 66048")
           + ad_entry("ops", "group", 104, f"member: cn=ada,{PEOPLE}",
                      f"member: cn=grace,{PEOPLE}")
           # no objectGUID: skipped with a warning, the rest goes on
           + f"dn: cn=ghost,{PEOPLE}\nobjectClass: inetOrgPerson\n"
             "objectClass: scimhubTestADObject\ncn: ghost\nsn: Ghost\nuSNChanged: 105\n\n")
AD_OPTIONS = {"profile": "active-directory",
              "user_filter": "(&(objectClass=inetOrgPerson)(objectClass=scimhubTestADObject))",
              "group_filter": "(&(objectClass=groupOfNames)(objectClass=scimhubTestADObject))"}


def test_active_directory_profile_ids_names_account_control_and_usn(
        make_slapd: MakeSlapd) -> None:
    server = make_slapd(AD_SEED)
    src = source(server, **AD_OPTIONS)
    first = read(src)
    users = first.directory.users
    ada, grace, alan = (users[str(GUIDS[n])] for n in ("ada", "grace", "alan"))
    # objectGUID as Windows writes it (first three fields little-endian), never the DN.
    assert ada["objectId"] == str(GUIDS["ada"])
    assert ada["userPrincipalName"] == "ada@contoso.example"
    assert ada["mailNickname"] == "ada" and ada["employeeId"] == "E1"
    assert ada["department"] == "Research" and ada["surname"] == "Ada"
    assert ada["accountEnabled"] is True and alan["accountEnabled"] is True  # 66048: enabled
    assert grace["accountEnabled"] is False, "userAccountControl 514: ACCOUNTDISABLE"
    assert grace["manager"] == str(GUIDS["ada"])
    assert first.directory.groups[str(GUIDS["ops"])]["members"] == [str(GUIDS["ada"]),
                                                                      str(GUIDS["grace"])]
    assert [w.object_id for w in first.warnings] == [None]
    assert "cn=ghost" in first.warnings[0].reason and "objectGUID" in first.warnings[0].reason

    # No highestCommittedUSN in slapd's rootDSE: the delta starts at the newest uSNChanged seen
    # (refetched, as >=) and fetches what carries a higher one.
    conn = admin(server)
    conn.modify(f"cn=alan,{PEOPLE}", {"title": [("MODIFY_REPLACE", ["Cryptanalyst"])],
                                      "uSNChanged": [("MODIFY_REPLACE", ["200"])]})
    second = read(src, first.watermark)
    assert not second.complete and not second.unchanged
    assert second.stats["fetched"] == 2, second.stats  # ops (104, the newest) and alan (200)
    assert second.directory.users[str(GUIDS["alan"])]["jobTitle"] == "Cryptanalyst"
    assert second.present is not None and len(second.present) == 4
    assert json.loads(second.watermark or "")["stamp"] == "200"


POSIX_SEED = (ou("people") + ou("groups")
              + person("ada", "Ada", "Lovelace") + person("grace", "Grace", "Hopper")
              + person("alan", "Alan", "Turing", description="disabled")
              + f"dn: cn=posix,{GROUPS}\nobjectClass: posixGroup\ncn: posix\ngidNumber: 500\n"
                "memberUid: ada\nmemberUid: nobody\n\n"
              + f"dn: cn=unique,{GROUPS}\nobjectClass: groupOfUniqueNames\ncn: unique\n"
                f"uniqueMember: uid=grace,{PEOPLE}#'0101'B\n\n"
              + group("app-inner", "ada")
              + group("app-outer", "grace", f"cn=app-inner,{GROUPS}")
              + group("loop-a", "alan", f"cn=loop-b,{GROUPS}")
              + group("loop-b", f"cn=loop-a,{GROUPS}"))


def test_member_uid_unique_member_and_nested_groups(make_slapd: MakeSlapd) -> None:
    server = make_slapd(POSIX_SEED)
    flat = read(source(server))
    uid = {u["uid"]: oid for oid, u in flat.directory.users.items()}
    groups = {g["cn"]: g for g in flat.directory.groups.values()}
    assert groups["posix"]["members"] == [uid["ada"]]
    assert any("memberUid 'nobody'" in w.reason for w in flat.warnings)
    assert groups["unique"]["members"] == [uid["grace"]]
    assert groups["app-outer"]["members"] == [uid["grace"], groups["app-inner"]["objectId"]]
    assert "member" not in groups["app-outer"], "member DNs are not passed on"

    nested_source = source(server, nested_groups=True)
    nested = read(nested_source)
    groups = {g["cn"]: g for g in nested.directory.groups.values()}
    assert groups["app-outer"]["members"] == [uid["grace"], uid["ada"]]
    assert groups["loop-a"]["members"] == [uid["alan"]] == groups["loop-b"]["members"]

    # Nested: a change to the inner group reaches the outer one in a delta.
    admin(server).modify(f"cn=app-inner,{GROUPS}",
                         {"member": [("MODIFY_ADD", [f"uid=alan,{PEOPLE}"])]})
    delta = read(nested_source, nested.watermark)
    groups = {g["cn"]: g for g in delta.directory.groups.values()}
    assert groups["app-outer"]["members"] == [uid["grace"], uid["ada"], uid["alan"]]


def test_disabled_filter_and_assigned_groups(make_slapd: MakeSlapd) -> None:
    server = make_slapd(POSIX_SEED)
    src = source(server, disabled_filter="(description=disabled)", assign_all_users=False,
                 assigned_group_filter="(cn=app-*)")
    first = read(src)
    users = by_name(first)
    assert users["alan"]["accountEnabled"] is False
    assert users["ada"]["accountEnabled"] is True
    assert not any(u.get("assigned") for u in users.values())
    assigned = {g["cn"] for g in first.directory.groups.values() if g.get("assigned")}
    assert assigned == {"app-inner", "app-outer"}
    assert first.directory.assigned_users() == {users["ada"]["objectId"],
                                                users["grace"]["objectId"]}

    admin(server).modify(f"uid=ada,{PEOPLE}", {"description": [("MODIFY_ADD", ["disabled"])]})
    second = read(src, first.watermark)
    assert second.stats["fetched"] == 1
    assert by_name(second)["ada"]["accountEnabled"] is False


def test_bad_values_are_skipped_with_a_reason_and_the_rest_goes_on(
        make_slapd: MakeSlapd) -> None:
    seed = (ou("people") + ou("groups")
            + person("ada", "Ada", "Lovelace", manager="uid=someone,dc=elsewhere,dc=com")
            + person("grace", "Grace", "Hopper") + "audio:: //4=\n\n"
            + group("team", "ada", "uid=stranger,dc=elsewhere,dc=com"))
    seed = seed.replace("\n\naudio", "\naudio")
    server = make_slapd(seed)
    snapshot = read(source(server, attributes={"employeeId": "audio"}))
    users = by_name(snapshot)
    assert set(users) == {"ada", "grace"}
    assert "manager" not in users["ada"]
    assert "employeeId" not in users["grace"] and "audio" not in users["grace"]
    reasons = {(w.kind, w.object_id): w.reason for w in snapshot.warnings}
    assert "manager 'uid=someone,dc=elsewhere,dc=com'" in reasons[("user", users["ada"]
                                                                   ["objectId"])]
    assert "audio (for employeeId) is not UTF-8" in reasons[("user", users["grace"]
                                                             ["objectId"])]
    team = next(iter(snapshot.directory.groups.values()))
    assert team["members"] == [users["ada"]["objectId"]]
    assert "uid=stranger" in reasons[("group", team["objectId"])]


def test_every_search_is_paged_past_the_size_limit(make_slapd: MakeSlapd) -> None:
    people = "".join(person(f"user{i:02d}", "User", str(i)) for i in range(23))
    server = make_slapd(ou("people") + people, size_limit=5)
    for page_size in (3, 500):
        assert len(read(source(server, page_size=page_size)).directory.users) == 23


def test_watermarks_unchanged_and_new_options(make_slapd: MakeSlapd) -> None:
    server = make_slapd(ou("people") + person("ada", "Ada", "Lovelace"))
    src = source(server)
    first = read(src)
    assert first.complete and SERVICE_PASSWORD not in (first.watermark or "")
    again = read(src, first.watermark)
    assert again.unchanged and again.stats == {"fetched": 0, "listed": 0}
    # Other filters: the watermark says nothing about them, so the read is complete.
    other = read(source(server, user_filter="(uid=*)"), first.watermark)
    assert other.complete and len(other.directory.users) == 1
    assert read(src, "not json").complete


def test_without_a_readable_context_csn_every_read_lists_and_fetches_the_changes(
        make_slapd: MakeSlapd) -> None:
    server = make_slapd(ou("people") + person("ada", "Ada", "Lovelace")
                        + person("grace", "Grace", "Hopper"), hide_suffix=True)
    src = source(server, base_dn=PEOPLE)
    first = read(src)
    assert len(first.directory.users) == 2
    assert json.loads(first.watermark or "")["mark"] is None
    again = read(src, first.watermark)
    assert not again.unchanged and again.stats["listed"] == 2
    admin(server).modify(f"uid=grace,{PEOPLE}", {"title": [("MODIFY_REPLACE", ["Admiral"])]})
    changed = read(src, first.watermark)
    assert by_name(changed)["grace"]["jobTitle"] == "Admiral"


def test_check_proves_bind_base_and_selection(make_slapd: MakeSlapd,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    server = make_slapd(POSIX_SEED)
    steps = asyncio.run(source(server).check())
    assert [(s.name, s.ok) for s in steps] == [("bind", True), ("base DN", True),
                                               ("users", True), ("groups", True)]
    assert steps[2].detail.startswith("3 users") and steps[3].detail.startswith("6 groups")

    missing = asyncio.run(source(server, base_dn="ou=nowhere,dc=example,dc=com").check())
    assert missing[1].name == "base DN" and not missing[1].ok
    assert "noSuchObject" in missing[1].detail

    monkeypatch.setenv(PASSWORD_ENV, "wrong-password-5d1e")
    refused = asyncio.run(source(server).check())
    assert [(s.name, s.ok) for s in refused] == [("bind", False)]
    assert "invalidCredentials" in refused[0].detail
    assert "wrong-password-5d1e" not in refused[0].detail
    with pytest.raises(SourceCredentialsRejected):
        read(source(server))


def test_a_server_that_does_not_answer_is_a_source_error(make_slapd: MakeSlapd) -> None:
    server = make_slapd(ou("people"))
    server.stop()
    with pytest.raises(SourceError, match="cannot connect"):
        read(source(server))


@pytest.mark.parametrize(("options", "message"), [
    ({"url": "http://x"}, "url must be ldap://"),
    ({"url": None}, "url is required"),
    ({"tls": "yes"}, 'tls must be "starttls" or "none"'),
    ({"url": "ldaps://x", "tls": "starttls"}, "ldaps:// is TLS already"),
    ({"password": "x"}, "unknown key password"),
    ({"password_env": "SCIMHUB_TEST_UNSET_VARIABLE"}, "SCIMHUB_TEST_UNSET_VARIABLE"),
    ({"password_env": None}, "password_env is required with bind_dn"),
    ({"base_dn": None}, "base_dn is required"),
    ({"profile": "novell"}, "profile must be one of"),
    ({"user_filter": "objectClass=person"}, "user_filter must be an LDAP filter"),
    ({"page_size": 0}, "page_size must be"),
    ({"verify": "no"}, "verify must be true or false"),
    ({"ca_file": "missing.pem"}, "ca_file"),
    ({"attributes": {"manager": "secretary"}}, "attributes.manager"),
    ({"nested_groups": "yes"}, "nested_groups must be true or false"),
    ({"bindDN": "x"}, "unknown key bindDN"),
])
def test_source_keys_are_checked_at_load(options: dict[str, Any], message: str,
                                         tmp_path: Path) -> None:
    table = {"type": "ldap", "url": "ldap://127.0.0.1", "bind_dn": SERVICE_DN,
             "password_env": PASSWORD_ENV, "base_dn": SUFFIX, **options}
    table = {k: v for k, v in table.items() if v is not None}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        check_options(SourceConfig("ldap", None, table, tmp_path))


def test_ldaps_and_starttls_check_the_certificate(make_slapd: MakeSlapd) -> None:
    server = make_slapd(ou("people") + person("ada", "Ada", "Lovelace"), tls=True)
    ca = str(server.ca_file)
    starttls = f"ldap://localhost:{server.port}"
    assert len(read(source(server, url=server.ldaps_url, ca_file=ca)).directory.users) == 1
    assert len(read(source(server, url=starttls, tls="starttls",
                           ca_file=ca)).directory.users) == 1
    # Certificate checks are on by default: a CA the machine does not trust is refused...
    for options in ({"url": server.ldaps_url}, {"url": starttls, "tls": "starttls"}):
        with pytest.raises(SourceError, match=r"certificate verify failed"):
            read(source(server, **options))
    # ... and so is a certificate for another name, even from the trusted CA ...
    with pytest.raises(SourceError, match=r"TLS failed: .* not for the host name 127\.0\.0\.1"):
        read(source(server, url=f"ldaps://127.0.0.1:{server.tls_port}", ca_file=ca))
    # ... unless the checks are turned off explicitly.
    assert len(read(source(server, url=f"ldaps://127.0.0.1:{server.tls_port}",
                           verify=False)).directory.users) == 1
