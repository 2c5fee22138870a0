"""Import, incrementally: the engine's mirror of a delta-capable source, and its watermark.

Entra's incremental cycle asks the source for what changed since a watermark (docs/entra.md
§2.1), but every later step (scope, change detection, deprovisioning what left) works from the
whole directory. So the engine keeps, per job, every object of the source as last read (the
*mirror*, ``prov_source_objects``) and the watermark with the source's identity
(``prov_source``), and each cycle:

- asks ``read(since=watermark)``, or ``read(None)`` when the cycle is initial (the first one,
  after ``job restart``/``job reset``, after the mappings changed) or the ``[source]`` table
  now names another directory (its fingerprint changed);
- applies what came back: a complete snapshot *is* the directory (only the rows that differ
  from the mirror are written); a delta upserts the objects it holds, drops those it names in
  ``removed`` and, when it lists ``present``, every mirror object not listed; ``unchanged``
  keeps the mirror as it is;
- runs the cycle over the mirror with every reference (a group's ``members``, a user's
  ``manager``) to an object no longer in it left out. The references are pruned in the view
  the cycle gets, not in the stored mirror: OpenLDAP's refint overlay rewrites a group's
  member DNs without touching the group's ``modifyTimestamp``, so a delta never re-reads that
  group; pruning by what the mirror holds gets deletions right without it, and a member that
  leaves the search base and comes back is a member again without its group changing;
- saves the mirror's changed rows and the new watermark in one transaction, only when the
  read succeeded and never in a dry run (nor for provision on demand). A read that fails
  raises ``SourceError``: the cycle fails before anything is deprovisioned, the watermark
  stays where it was.

A source that holds no history (the file source) says so with ``keeps_mirror = False``: it is
read complete every cycle and nothing is stored for it, as before.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from scimhub.engine.config import SourceConfig
from scimhub.engine.errors import SourceError
from scimhub.engine.sources import open_source
from scimhub.engine.sources.base import Snapshot, Source, SourceWarning
from scimhub.engine.sources.directory import Directory
from scimhub.engine.types import SourceObject
from scimhub.store.provisioning import EngineState, MirrorKey, SourceState

#: ``[source]`` keys left out of the source's fingerprint: a secret (or where one is read
#: from) must never be stored, even hashed, and rotating it is not another directory.
_SECRET_KEY = re.compile(r"password|secret|token|credential|key_file|private", re.IGNORECASE)


def source_fingerprint(config: SourceConfig) -> str:
    """The identity of the directory a ``[source]`` table names: its type and every key but
    the secrets. Another URL, base DN or filter is another directory: its changes cannot be
    applied to this mirror, so the next read is complete."""
    table = {k: v for k, v in config.options.items() if not _SECRET_KEY.search(k)}
    if config.path is not None:
        table["path"] = str(config.path)
    text = orjson.dumps({"type": config.type, "options": table}, default=str,
                        option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).hexdigest()


def keeps_mirror(source: Source) -> bool:
    """Whether the engine mirrors this source (an optional class attribute of a source,
    True unless it says otherwise: a source that can answer deltas needs the mirror)."""
    return bool(getattr(source, "keeps_mirror", True))


@dataclass
class SourceRead:
    """What one import found: the directory the cycle runs over, what it cost, and the
    mirror's changes waiting to be saved (``save``)."""

    directory: Directory
    #: For the cycle's summary: ``kind`` ("complete", "delta", "unchanged"), ``fetched``,
    #: ``listed`` and whatever else the source counted.
    stats: dict[str, Any]
    warnings: tuple[SourceWarning, ...] = ()
    #: None: nothing to store (a source without a mirror).
    pending: SourceState | None = None
    changed: dict[MirrorKey, SourceObject] = field(default_factory=dict)
    removed: set[MirrorKey] = field(default_factory=set)
    replace: bool = False

    def save(self, state: EngineState, job_id: str) -> None:
        """The mirror's changes and the watermark, in one transaction."""
        if self.pending is not None:
            state.save_source(job_id, self.pending, changed=self.changed, removed=self.removed,
                              replace=self.replace)


async def read_source(config: SourceConfig, state: EngineState, job_id: str, *,
                      initial: bool) -> SourceRead:
    """Read the job's source as the cycle should see it (module docstring); saves nothing."""
    source = open_source(config)
    mirrored = keeps_mirror(source)
    identity = SourceState(config.type, source_fingerprint(config), None)
    stored = state.source_state(job_id) if mirrored else None
    same = stored is not None and (stored.source_type, stored.fingerprint) == (
        identity.source_type, identity.fingerprint)
    since = stored.watermark if same and stored is not None and not initial else None
    snapshot = await source.read(since)
    if not snapshot.complete and since is None:  # the contract: None answers everything
        raise SourceError(f"{config.type} source answered a delta when asked for everything")
    if not mirrored:
        return SourceRead(snapshot.directory, _stats(snapshot), snapshot.warnings)
    mirror: dict[MirrorKey, SourceObject] = state.load_mirror(job_id) if same else {}
    read = SourceRead(Directory(), _stats(snapshot), snapshot.warnings,
                      SourceState(identity.source_type, identity.fingerprint,
                                  snapshot.watermark), replace=not same)
    if snapshot.complete:
        _replace(mirror, snapshot, read)
    elif not snapshot.unchanged:
        _apply_delta(mirror, snapshot, read)
    read.directory = view(mirror)
    return read


def _stats(snapshot: Snapshot) -> dict[str, Any]:
    kind = ("complete" if snapshot.complete else
            "unchanged" if snapshot.unchanged else "delta")
    fetched = len(snapshot.directory.users) + len(snapshot.directory.groups)
    return {"kind": kind, "fetched": fetched, "listed": 0, **snapshot.stats}


def _objects(snapshot: Snapshot) -> dict[MirrorKey, SourceObject]:
    """The snapshot's objects as the mirror stores them (JSON: what a reload gives back, so
    that comparing a fresh read with the mirror finds only real changes)."""
    found: dict[MirrorKey, SourceObject] = {}
    for kind, objects in (("user", snapshot.directory.users),
                          ("group", snapshot.directory.groups)):
        for sid, obj in objects.items():
            try:
                found[(kind, sid)] = orjson.loads(orjson.dumps(obj))
            except TypeError as exc:
                raise SourceError(f"{kind} {sid}: a value cannot be stored: {exc}") from None
    return found


def _spared(snapshot: Snapshot) -> set[MirrorKey]:
    return {(w.kind, w.object_id) for w in snapshot.warnings if w.object_id is not None}


def _replace(mirror: dict[MirrorKey, SourceObject], snapshot: Snapshot,
             read: SourceRead) -> None:
    """A complete snapshot is the directory: the mirror becomes it, writing only the rows that
    differ. An object the source skipped for bad input (a warning naming it) keeps its last
    good version: a value that does not decode must not deprovision the person."""
    fresh, spared = _objects(snapshot), _spared(snapshot)
    for key in list(mirror):
        if key not in fresh and key not in spared:
            del mirror[key]
            read.removed.add(key)
    for key, obj in fresh.items():
        if read.replace or mirror.get(key) != obj:
            read.changed[key] = obj
        mirror[key] = obj


def _apply_delta(mirror: dict[MirrorKey, SourceObject], snapshot: Snapshot,
                 read: SourceRead) -> None:
    """Upsert what the delta holds, then drop what it names removed or does not list as
    present (an object read and then deleted before the listing is gone)."""
    for key, obj in _objects(snapshot).items():
        if mirror.get(key) != obj:
            read.changed[key] = obj
        mirror[key] = obj
    gone: set[MirrorKey] = {key for key in snapshot.removed if key in mirror}
    if snapshot.present is not None:
        present, spared = snapshot.present, _spared(snapshot)
        gone.update(key for key in mirror if key not in present and key not in spared)
    for key in gone:
        del mirror[key]
        read.changed.pop(key, None)
        read.removed.add(key)


def view(mirror: Mapping[MirrorKey, SourceObject]) -> Directory:
    """The mirror as the cycle's directory, every reference to an object it no longer holds
    left out (a copy of just the objects holding one: the mirror keeps what the source said)."""
    directory = Directory()
    for (kind, sid), obj in mirror.items():
        (directory.users if kind == "user" else directory.groups)[sid] = obj
    users, groups = directory.users, directory.groups
    for uid, user in users.items():
        manager = user.get("manager")
        if isinstance(manager, str) and manager not in users:
            users[uid] = {k: v for k, v in user.items() if k != "manager"}
    for gid, group in groups.items():
        members = group.get("members")
        if isinstance(members, list):
            kept = [m for m in members if m in users or m in groups]
            if len(kept) != len(members):
                groups[gid] = {**group, "members": kept}
    return directory
