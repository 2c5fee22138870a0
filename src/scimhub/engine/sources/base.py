"""The Source contract: what a directory gives the engine, and what it can say about changes.

Entra's cycle starts by importing the source (docs/entra.md §2.1): an initial cycle reads every
user and group, an incremental one asks for what changed since a watermark. A source is
anything that can answer that question, so that the next one (LDAP, another SCIM service) is
one new file implementing ``Source`` and one line in the registry of
``scimhub.engine.sources`` (``open_source``).

What a source yields is a ``Directory`` (sources/directory.py): users and groups as mappings
keyed by their objectId, with Entra's source attribute names; a group's ``members`` is a list
of objectIds; ``assigned: true`` marks an object assigned to the application (the scope of
"sync assigned"). A ``Snapshot`` is either complete (every object of the directory: an object
absent from it was removed) or a delta (only the objects changed since the watermark; those
removed are named in ``removed``), and carries the watermark to ask from next time.

The contract for ``read(since)``: with ``since=None`` the snapshot must be complete. With a
watermark a source may answer a delta, or a complete snapshot when it cannot tell what changed
(the file source always does). The engine keeps what the last snapshots said (its mirror of
the source) with the watermark, applies a delta to it, and runs the cycle over the result; an
initial cycle (and a restart) asks with ``since=None``.

A delta names what left the directory either one by one (``removed``) or by listing every
object still there (``present``: an id-only listing, far cheaper than reading every entry);
``unchanged`` says the source proved nothing at all changed (an LDAP server's contextCSN or
highestCommittedUSN did not move), so the engine reuses its mirror as it is. ``stats`` says
what the read cost (``fetched``: entries read with their attributes; ``listed``: ids listed),
for the cycle's summary.

A reference (a group's ``members``, a user's ``manager``) is always an objectId, never a DN or
a name, so that a rename or a move changes nothing else; a reference to an object the delta
removed is dropped by the engine from every object of the mirror that holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from scimhub.engine.sources.directory import Directory

#: What a source gives to ask for the changes after a snapshot: opaque to the engine (a
#: delta link, a USN, a file's modification stamp...), stored and handed back as is.
Watermark = str
#: The kind of a source object, as ``Snapshot.removed`` names them.
SourceKind = Literal["user", "group"]


@dataclass(frozen=True)
class SourceWarning:
    """One piece of the directory a source skipped, and why, so that it is logged against that
    object (``object_id`` None when the entry has no usable id: ``reason`` names its DN) while
    the rest of the cycle goes on."""

    kind: SourceKind
    object_id: str | None
    reason: str


@dataclass(frozen=True)
class Snapshot:
    """What one ``Source.read`` found."""

    directory: Directory
    #: The watermark to pass to the next ``read`` (None: the source cannot give one).
    watermark: Watermark | None = None
    #: True: ``directory`` holds every object, and one missing from it was removed. False: a
    #: delta, holding only the objects changed since the watermark it was asked for.
    complete: bool = True
    #: In a delta, the objects removed since the watermark (a complete snapshot has none:
    #: what it does not hold was removed).
    removed: frozenset[tuple[SourceKind, str]] = field(default_factory=frozenset)
    #: In a delta, when given: every object in the directory now (an id-only listing); an
    #: object of the mirror not in it was removed.
    present: frozenset[tuple[SourceKind, str]] | None = None
    #: In a delta: the source proved that nothing changed since the watermark.
    unchanged: bool = False
    #: What the read cost, e.g. ``{"fetched": 120, "listed": 101000}``: for the summary.
    stats: Mapping[str, int] = field(default_factory=dict)
    #: Bad input the source skipped (an entry without its id attribute, a member not in
    #: scope...): the engine logs each against its object; the rest of the snapshot stands.
    warnings: tuple[SourceWarning, ...] = ()

    def __post_init__(self) -> None:
        if self.complete and (self.removed or self.present is not None or self.unchanged):
            raise ValueError("a complete snapshot names no removed objects: they are absent")


@dataclass(frozen=True)
class SourceCheck:
    """One step of proving a source (Test Connection): bind, base DN found, objects selected."""

    name: str
    ok: bool
    detail: str


@runtime_checkable
class Source(Protocol):
    """A directory the engine provisions from; ``scimhub.engine.sources.open_source`` gives the
    one a job's ``[source]`` names."""

    #: What the messages call it (a file's path, a server's URL): never a secret.
    description: str
    # Optional: a class attribute ``keeps_mirror = False`` says the source holds no history
    # (it always answers complete): the engine then keeps no mirror of it. Any other source
    # is mirrored (engine/source_mirror.py), which a source answering deltas needs.

    async def read(self, since: Watermark | None = None) -> Snapshot:
        """Everything (``since=None``: a complete snapshot), or what changed since ``since``.
        Raises ``SourceError`` naming the object at fault when the data cannot be used."""
        ...

    async def check(self) -> list[SourceCheck]:
        """Prove the source can be read (what ``scimhub test-connection --config`` shows):
        each step with its outcome; never raises for a failed step, and never shows a secret."""
        ...
