"""A sample directory for the demo and the benchmark: deterministic, Entra-shaped."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import orjson

from scimhub.scim.types import Document

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Katherine",
         "Dennis", "Ken", "Linus", "Guido", "Frances", "Radia", "Hedy", "Tim", "Vint", "Bjarne",
         "Niklaus", "John", "Shafi", "Leslie", "Tony", "Adele", "Anita", "Sophie", "Zoë", "José"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Johnson",
        "Ritchie", "Thompson", "Torvalds", "van Rossum", "Allen", "Perlman", "Lamarr",
        "Berners-Lee", "Cerf", "Stroustrup", "Wirth", "McCarthy", "Goldwasser", "Lamport",
        "Hoare", "Goldberg", "Borg", "Wilson", "Müller", "García"]
DEPARTMENTS = ["Engineering", "Sales", "Marketing", "Finance", "Support", "Research"]


def sample_user(i: int, domain: str = "contoso.example") -> Document:
    """The sample directory's user number ``i``: the same at every call, so a benchmark can
    check any user in the target without keeping the directory."""
    first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
    nick = f"{first}.{last}.{i}".lower().replace(" ", "").replace("ë", "e").replace("é", "e")
    nick = nick.replace("ü", "u").replace("í", "i")
    return {
        "objectId": f"user-{i:06}", "userPrincipalName": f"{nick}@{domain}",
        "mail": f"{nick}@{domain}", "mailNickname": nick, "givenName": first,
        "surname": last, "displayName": f"{first} {last}",
        "mobile": f"+1 555 {i:07}", "accountEnabled": True,
        "department": DEPARTMENTS[i % len(DEPARTMENTS)], "employeeId": f"E{i:06}",
        "jobTitle": "Engineer", "assigned": i % 10 != 9,
        **({"manager": f"user-{i // 10:06}"} if i >= 10 else {}),
    }


def sample_groups(users: int, groups: int, members: int, seed: int = 7) -> Iterator[Document]:
    """The sample directory's groups, one at a time (members drawn at random, as many each)."""
    rng = random.Random(seed)
    ids = [f"user-{i:06}" for i in range(users)]
    for g in range(groups):
        yield {"objectId": f"group-{g:04}", "displayName": f"Team {g:03}", "assigned": True,
               "members": sorted(rng.sample(ids, min(members, len(ids))))}


def sample_directory(users: int = 300, groups: int = 20, members: int = 15, seed: int = 7,
                     domain: str = "contoso.example") -> Document:
    return {"users": [sample_user(i, domain) for i in range(users)],
            "groups": list(sample_groups(users, groups, members, seed))}


def write_sample_lines(path: Path, users: int, groups: int, members: int,
                       seed: int = 7) -> None:
    """The sample directory as JSON Lines (sources/lines.py), written as it is generated:
    a million users never in memory at once. Groups carry ``objectType: "Group"``."""
    with path.open("wb") as out:
        for i in range(users):
            out.write(orjson.dumps(sample_user(i)) + b"\n")
        for group in sample_groups(users, groups, members, seed):
            out.write(orjson.dumps({"objectType": "Group", **group}) + b"\n")


def next_day(directory: Document) -> list[str]:
    """The demo's changes: a new hire, an attribute change, a leaver, a membership change."""
    users, groups = directory["users"], directory["groups"]
    address = "new.hire@contoso.example"
    hire = {**users[0], "objectId": "user-new-hire", "userPrincipalName": address,
            "mail": address, "mailNickname": "new.hire", "givenName": "New",
            "surname": "Hire", "displayName": "New Hire", "assigned": True}
    users.append(hire)
    users[1]["mobile"] = "+1 555 0000001"
    users[1]["surname"] = users[1]["surname"] + "-Smith"
    leaver = users.pop(2)
    users[3]["accountEnabled"] = False
    groups[0]["members"] = [*groups[0]["members"], "user-new-hire"][1:]
    return [f"new hire {hire['userPrincipalName']}",
            f"{users[1]['userPrincipalName']}: new surname and mobile",
            f"leaver {leaver['userPrincipalName']} removed from the directory",
            f"{users[3]['userPrincipalName']}: account disabled",
            f"{groups[0]['displayName']}: new hire added, one member removed"]
