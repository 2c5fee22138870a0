"""The target's schema as the engine sees it: discovered from the target, then bound to a job.

Entra reads a target's ``/Schemas`` and ``/ResourceTypes`` when the credentials are saved and
builds the attribute list of the mapping editor from them (docs/entra.md §1.12, §1.12.1). The
engine does the same, at Test Connection, at ``scimhub job schema`` and at the start of every
cycle, so that a mapping may name a custom extension attribute the target advertises
(``urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:costCenterCode``), and a
mapping naming an attribute the target lacks is refused before anything is written.

What is discovered becomes the pure SCIM model of ``scimhub.scim.schema`` (``ResourceType``,
``Schema``, ``Attribute``): the same objects scimhub's own service provider is described by,
so mapping validation, ``typed()`` conversion and the create body (``scimdoc.build_resource``)
use one code path whatever the target.

Real servers answer these documents loosely, so parsing tolerates: a ListResponse or a bare
list (or one resource), keys in any case (RFC 7643 §2.1 makes names case-insensitive), missing
characteristics (RFC 7643 §2.2 defaults: string, single-valued, optional, not case-exact,
readWrite), type and mutability names in another case. A target that advertises nothing
usable (404, an empty list, a body that is not JSON) gets scimhub's built-in schema instead,
with a note that says so.

Discovery is repeated at the start of every cycle, initial or incremental: two small GETs
per cycle, so a target that dropped an extension (or changed an attribute to read-only) is
noticed before the first write, and no copy of the target's schema is kept that could go
stale. Entra reads it only when the configuration is saved; the difference costs two
requests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from scimhub.engine.errors import Rejected, SchemaMismatch, ServiceIncompatible
from scimhub.engine.mapping import AttributeMapping
from scimhub.engine.target.client import ScimTarget
from scimhub.engine.types import Report
from scimhub.scim.errors import ScimError
from scimhub.scim.filter_parser import parse_patch_path
from scimhub.scim.resolve import resolve
from scimhub.scim.schema import (
    COMMON_ATTRIBUTES,
    Attribute,
    AttrType,
    Mutability,
    ResourceType,
    Returned,
    Schema,
    Uniqueness,
)
from scimhub.scim.schemas import GROUP, USER
from scimhub.scim.types import Document

if TYPE_CHECKING:
    from scimhub.engine.config import JobConfig

Kind = Literal["Users", "Groups"]
Origin = Literal["discovered", "built-in"]

_TYPES: dict[str, AttrType] = {t.lower(): t for t in get_args(AttrType)}
_MUTABILITY: dict[str, Mutability] = {m.lower(): m for m in get_args(Mutability)}
_RETURNED: dict[str, Returned] = {r.lower(): r for r in get_args(Returned)}
_UNIQUENESS: dict[str, Uniqueness] = {u.lower(): u for u in get_args(Uniqueness)}


@dataclass(frozen=True)
class TargetSchema:
    """The Users and Groups resource types of one target, and how they were obtained.

    ``origin`` is "discovered" when at least one resource type came from the target, and
    "built-in" when the target advertised nothing usable; ``notes`` says what was missing or
    replaced (each a sentence for a person)."""

    url: str
    users: ResourceType
    groups: ResourceType
    origin: Origin
    notes: tuple[str, ...] = ()

    def resource_type(self, kind: Kind) -> ResourceType:
        return self.users if kind == "Users" else self.groups


@dataclass(frozen=True)
class AttributeRow:
    """One line of ``scimhub job schema``: an attribute as a mapping would name it."""

    resource: str
    name: str
    type: str
    multi_valued: bool
    required: bool
    mutability: str
    case_exact: bool
    extension: str | None

    def to_dict(self) -> Report:
        return dataclasses.asdict(self)


# -- reading the documents ----------------------------------------------------------------


def _get(obj: Any, name: str) -> Any:
    """A member of a JSON object, whatever its case (RFC 7643 §2.1)."""
    if not isinstance(obj, Mapping):
        return None
    if name in obj:
        return obj[name]
    lowered = name.lower()
    return next((v for k, v in obj.items() if isinstance(k, str) and k.lower() == lowered), None)


def _items(doc: Any) -> list[Mapping[str, Any]]:
    """The resources of a ListResponse, a bare list, or a single resource."""
    if isinstance(doc, list):
        listed: Any = doc
    elif isinstance(doc, Mapping):
        resources = _get(doc, "Resources")
        if isinstance(resources, list):
            listed = resources
        elif isinstance(resources, Mapping):
            listed = [resources]
        elif _get(doc, "id") is not None or _get(doc, "attributes") is not None:
            listed = [doc]
        else:
            listed = []
    else:
        listed = []
    return [r for r in listed if isinstance(r, Mapping)]


def _flag(raw: Mapping[str, Any], name: str) -> bool:
    value = _get(raw, name)
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = _get(raw, name)
    return value if isinstance(value, str) else ""


def _strings(raw: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = _get(raw, name)
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _attribute(raw: Mapping[str, Any], where: str, notes: list[str]) -> Attribute | None:
    """One attribute definition (RFC 7643 §7); characteristics it omits take their defaults
    (RFC 7643 §2.2), names in another case are accepted."""
    name = _get(raw, "name")
    if not isinstance(name, str) or not name:
        notes.append(f"{where}: an attribute without a name was ignored")
        return None
    kind = _TYPES.get(_text(raw, "type").lower())
    if kind is None:
        if _text(raw, "type"):
            notes.append(f"{where}.{name}: unknown type {_text(raw, 'type')!r}, read as string")
        kind = "complex" if isinstance(_get(raw, "subAttributes"), list) else "string"
    subs_raw = _get(raw, "subAttributes")
    subs = tuple(a for s in (subs_raw if isinstance(subs_raw, list) else [])
                 if isinstance(s, Mapping)
                 and (a := _attribute(s, f"{where}.{name}", notes)) is not None)
    return Attribute(
        name=name, type=kind, multi_valued=_flag(raw, "multiValued"),
        required=_flag(raw, "required"), case_exact=_flag(raw, "caseExact"),
        mutability=_MUTABILITY.get(_text(raw, "mutability").lower(), "readWrite"),
        returned=_RETURNED.get(_text(raw, "returned").lower(), "default"),
        uniqueness=_UNIQUENESS.get(_text(raw, "uniqueness").lower(), "none"),
        description=_text(raw, "description"),
        canonical_values=_strings(raw, "canonicalValues"),
        reference_types=_strings(raw, "referenceTypes"),
        sub_attributes=subs,
    )


def _schema(raw: Mapping[str, Any], notes: list[str]) -> Schema | None:
    sid = _get(raw, "id")
    if not isinstance(sid, str) or not sid:
        notes.append("/Schemas: a schema without an id was ignored")
        return None
    attrs_raw = _get(raw, "attributes")
    attrs = tuple(a for r in (attrs_raw if isinstance(attrs_raw, list) else [])
                  if isinstance(r, Mapping) and (a := _attribute(r, sid, notes)) is not None)
    return Schema(sid, _text(raw, "name") or sid.rsplit(":", 1)[-1],
                  _text(raw, "description"), attrs)


@dataclass(frozen=True)
class _Advertised:
    name: str
    endpoint: str
    description: str
    schema: str
    extensions: tuple[tuple[str, bool], ...]


def _resource_type(raw: Mapping[str, Any]) -> _Advertised | None:
    schema = _get(raw, "schema")
    if not isinstance(schema, str) or not schema:
        return None
    exts: list[tuple[str, bool]] = []
    raw_exts = _get(raw, "schemaExtensions")
    for ext in raw_exts if isinstance(raw_exts, list) else []:
        urn = _get(ext, "schema") if isinstance(ext, Mapping) else ext
        if isinstance(urn, str) and urn:
            exts.append((urn, isinstance(ext, Mapping) and _flag(ext, "required")))
    endpoint = _text(raw, "endpoint") or ""
    name = _text(raw, "name") or _text(raw, "id")
    return _Advertised(name, endpoint, _text(raw, "description"), schema, tuple(exts))


def _is_kind(rt: _Advertised, builtin: ResourceType) -> bool:
    """Users and Groups are found by their endpoint, else their core schema, else the name."""
    endpoint = rt.endpoint.strip("/").rsplit("/", 1)[-1].lower()
    if endpoint:
        return endpoint == builtin.endpoint.strip("/").lower()
    return (rt.schema.lower() == builtin.schema.id.lower()
            or rt.name.lower() == builtin.name.lower())


def _build(rt: _Advertised, schemas: Mapping[str, Schema], builtin: ResourceType,
           notes: list[str]) -> ResourceType:
    def described(urn: str, what: str) -> Schema:
        found = schemas.get(urn.lower())
        if found is not None:
            return found
        known = builtin.schema_for(urn)
        if known is not None:
            notes.append(f"{builtin.name}: /Schemas does not describe {what} {urn}; "
                         f"scimhub's built-in definition of it is used")
            return known
        notes.append(f"{builtin.name}: /Schemas does not describe {what} {urn}, which "
                     f"/ResourceTypes advertises; it is taken to have no attributes")
        return Schema(urn, urn.rsplit(":", 1)[-1], "", ())

    core = described(rt.schema, "the core schema")
    exts = tuple(described(urn, "the extension") for urn, _ in rt.extensions)
    return ResourceType(
        name=rt.name or builtin.name, endpoint=rt.endpoint or builtin.endpoint,
        description=rt.description, schema=core, extensions=exts,
        required_extensions=frozenset(urn for urn, required in rt.extensions if required))


def _from_schemas_only(builtin: ResourceType, schemas: Mapping[str, Schema]
                       ) -> ResourceType | None:
    """Without /ResourceTypes: the standard core schema and the extensions named after it
    (``...:2.0:User``), which is how RFC 7643 §8.7.1 names the enterprise extension."""
    core = schemas.get(builtin.schema.id.lower())
    if core is None:
        return None
    suffix = ":" + builtin.schema.id.rsplit(":", 1)[-1].lower()
    exts = tuple(s for key, s in schemas.items()
                 if key != core.id.lower() and ":extension:" in key and key.endswith(suffix))
    return dataclasses.replace(builtin, schema=core, extensions=exts,
                               required_extensions=frozenset())


def parse_target_schema(url: str, resource_types: Any, schemas: Any,
                        notes: Iterable[str] = ()) -> TargetSchema:
    """The target's Users and Groups from its ``/ResourceTypes`` and ``/Schemas`` documents
    (either may be None: not readable). Pure: no I/O, so every tolerance is unit-tested."""
    said = list(notes)
    by_id: dict[str, Schema] = {}
    for raw in _items(schemas):
        schema = _schema(raw, said)
        if schema is not None:
            by_id[schema.id.lower()] = schema
    advertised = [a for r in _items(resource_types) if (a := _resource_type(r)) is not None]
    found: dict[str, ResourceType] = {}
    for builtin in (USER, GROUP):
        rt = next((a for a in advertised if _is_kind(a, builtin)), None)
        built: ResourceType | None
        if rt is not None:
            built = _build(rt, by_id, builtin, said)
        elif not advertised and by_id:
            built = _from_schemas_only(builtin, by_id)
            if built is not None:
                said.append(f"{builtin.name}: no /ResourceTypes; {built.schema.id} and the "
                            "extensions named after it in /Schemas are used")
        else:
            built = None
        if built is not None:
            found[builtin.name] = built
    origin: Origin = "discovered" if found else "built-in"
    users, groups = found.get("User"), found.get("Group")
    if found:
        for name, rt_found in (("User", users), ("Group", groups)):
            if rt_found is None:
                said.append(f"the target advertises no {name} resource type; scimhub's "
                            "built-in one is used")
    else:
        said.append("the target advertises no usable /ResourceTypes or /Schemas; scimhub's "
                    "built-in schema (RFC 7643 User with the enterprise extension, Group) "
                    "is used")
    return TargetSchema(url, users or USER, groups or GROUP, origin, tuple(said))


async def _read(target: ScimTarget, endpoint: str, notes: list[str]) -> Document | None:
    """A discovery document, or None (with a note) when the target answers without one.

    Only answers that say "not here" (a 4xx other than 401/403, a body that is not JSON) fall
    back; a rejected token or an unreachable target is raised, as the cycle would meet it at
    its next request anyway."""
    try:
        return await target.discover(endpoint)
    except (Rejected, ServiceIncompatible) as exc:
        notes.append(f"GET /{endpoint}: {exc.status or ''} {exc.code}: {exc.detail}".replace(
            ":  ", ": ").strip())
        return None


async def discover(target: ScimTarget) -> TargetSchema:
    """GET /Schemas and /ResourceTypes, and what they describe (built-in when nothing).

    /Schemas first: without attribute definitions the resource types add nothing a mapping
    could use, so a target without /Schemas costs one request and gets the built-in schema."""
    notes: list[str] = []
    schemas = await _read(target, "Schemas", notes)
    resource_types = (await _read(target, "ResourceTypes", notes) if _items(schemas)
                      else None)
    return parse_target_schema(str(target.client.base_url).rstrip("/"), resource_types,
                               schemas, notes)


# -- binding a job's mappings ---------------------------------------------------------------


def _missing(target: str, rtype: ResourceType, url: str) -> str:
    """Why the target has no attribute at ``target``, naming the schema it looked in."""
    try:
        path = parse_patch_path(target)
    except ScimError as exc:
        return f"not a SCIM attribute path: {exc.detail}"
    attr = path.attr
    if attr.urn is not None:
        schema = rtype.schema_for(attr.urn)
        if schema is None:
            offered = ", ".join(e.id for e in rtype.extensions) or "none"
            return (f"the target ({url}) has no extension {attr.urn} for {rtype.name} "
                    f"(its extensions: {offered})")
        what = "core schema" if schema is rtype.schema else "extension"
    else:
        schema, what = rtype.schema, "core schema"
    found = schema.attribute(attr.attr) if schema is not None else None
    if found is not None and attr.sub_attr:
        return f"the target ({url}) has no sub-attribute '{attr.sub_attr}' of '{found.name}' " \
               f"in {what} {schema.id}"
    if found is not None and path.sub_attr:
        return f"the target ({url}) has no sub-attribute '{path.sub_attr}' of '{found.name}' " \
               f"in {what} {schema.id}"
    where = f"{what} {schema.id}" + ("" if attr.urn else " or its extensions")
    return f"the target ({url}) has no attribute '{attr.attr}' in {where}"


def bind_mapping(m: AttributeMapping, rtype: ResourceType, url: str) -> AttributeMapping | str:
    """The mapping with ``leaf`` set to the target's attribute, or why it cannot be bound."""
    try:
        path = m.path or parse_patch_path(m.target)
    except ScimError as exc:
        return f"not a SCIM attribute path: {exc.detail}"
    resolved = resolve(path.attr, rtype)
    if resolved is None:
        return _missing(m.target, rtype, url)
    leaf = resolved.leaf
    if path.sub_attr:
        sub = resolved.attr.sub(path.sub_attr)
        if sub is None:
            return _missing(m.target, rtype, url)
        leaf = sub
    if leaf.mutability == "readOnly":
        return f"'{m.target}' is read-only at the target ({url})"
    return dataclasses.replace(m, path=path, leaf=leaf)


def bind_mappings(mappings: Sequence[AttributeMapping], rtype: ResourceType, section: str,
                  url: str) -> tuple[tuple[AttributeMapping, ...], list[str]]:
    """Every mapping bound, and one line per mapping that cannot be (``section[i] (target)``,
    i being the mapping's position in the job file)."""
    bound: list[AttributeMapping] = []
    problems: list[str] = []
    for i, m in enumerate(mappings):
        result = bind_mapping(m, rtype, url)
        if isinstance(result, str):
            problems.append(f"{section}[{i}] ({m.target}): {result}")
        else:
            bound.append(result)
    return tuple(bound), problems


def unmapped_required(mappings: Sequence[AttributeMapping], rtype: ResourceType) -> list[str]:
    """Attributes the target marks required that no mapping gives: a create will likely be
    refused (Entra shows them as Required? in the mapping editor, docs/entra.md §2.5)."""
    given = set()
    for m in mappings:
        bound = bind_mapping(m, rtype, "")
        if isinstance(bound, AttributeMapping) and bound.path is not None:
            resolved = resolve(bound.path.attr, rtype)
            if resolved is not None:
                given.add((resolved.container, resolved.attr.name.lower()))
    missing = []
    for schema in (rtype.schema, *rtype.extensions):
        container = None if schema is rtype.schema else schema.id
        for attr in schema.attributes:
            if (attr.required and attr.mutability != "readOnly"
                    and (container, attr.name.lower()) not in given):
                missing.append(attr.name if container is None else f"{container}:{attr.name}")
    return missing


def bind_to(job: JobConfig, schema: TargetSchema) -> JobConfig:
    """The job with its mappings bound to ``schema``; ``SchemaMismatch`` names every mapping
    that names an attribute the target lacks (or a read-only one)."""
    users, user_problems = bind_mappings(job.user_mappings, schema.users, "mappings.users",
                                         schema.url)
    groups, group_problems = bind_mappings(job.group_mappings, schema.groups,
                                           "mappings.groups", schema.url)
    if problems := user_problems + group_problems:
        raise SchemaMismatch([f"job {job.name}: {p}" for p in problems])
    return dataclasses.replace(job, user_mappings=users, group_mappings=groups,
                               user_type=schema.users, group_type=schema.groups)


async def bind_job(job: JobConfig, target: ScimTarget) -> JobConfig:
    """Discover the target's schema and bind the job's mappings to it (docs/entra.md §1.12.1).

    Called after the job is claimed and before the cycle (or the on-demand provisioning)
    writes anything, so a mapping to an attribute the target lacks fails the run with the
    mapping named and nothing written."""
    return bind_to(job, await discover(target))


def attribute_rows(schema: TargetSchema) -> list[AttributeRow]:
    """The attribute list as a mapping names it: core attributes by name, sub-attributes as
    ``name.sub``, extension attributes by their full path ``urn:...:name``; the common
    attributes of RFC 7643 §3.1 (id, externalId, meta) once per resource type."""
    rows: list[AttributeRow] = []
    for rtype in (schema.users, schema.groups):
        for schema_ in (None, rtype.schema, *rtype.extensions):
            attrs = COMMON_ATTRIBUTES if schema_ is None else schema_.attributes
            ext = None if schema_ is None or schema_ is rtype.schema else schema_.id
            for attr in attrs:
                name = attr.name if ext is None else f"{ext}:{attr.name}"
                rows.append(_row(rtype.name, name, attr, ext))
                rows.extend(_row(rtype.name, f"{name}.{sub.name}", sub, ext)
                            for sub in attr.sub_attributes)
    return rows


def _row(resource: str, name: str, attr: Attribute, ext: str | None) -> AttributeRow:
    return AttributeRow(resource, name, attr.type, attr.multi_valued, attr.required,
                        attr.mutability, attr.case_exact, ext)




# -- what ``scimhub job schema`` shows ------------------------------------------------------


async def read_schema(job: JobConfig) -> TargetSchema:
    """The job's target's schema, read with the job's URL and token (two GETs)."""
    async with ScimTarget(job.target.url, job.target.token, concurrency=1,
                          timeout=job.target.timeout) as target:
        return await discover(target)


def listing(job: JobConfig, schema: TargetSchema) -> Report:
    """The attribute list and how the job's mappings bind to it, as one JSON object."""
    try:
        bound = bind_to(job, schema)
        problems: list[str] = []
        required = (unmapped_required(bound.user_mappings, bound.user_type)
                    + unmapped_required(bound.group_mappings, bound.group_type))
    except SchemaMismatch as exc:
        problems, required = list(exc.problems), []
    return {"job": job.name, "url": schema.url, "origin": schema.origin,
            "notes": list(schema.notes),
            "resource_types": [{"name": rt.name, "endpoint": rt.endpoint,
                                "schema": rt.schema.id,
                                "extensions": [{"schema": e.id,
                                                "required": e.id in rt.required_extensions}
                                               for e in rt.extensions]}
                               for rt in (schema.users, schema.groups)],
            "attributes": [row.to_dict() for row in attribute_rows(schema)],
            "mappings": {"ok": not problems, "problems": problems,
                         "unmapped_required": required}}


def listing_lines(doc: Mapping[str, Any]) -> list[str]:
    """``listing`` for a person: one line per attribute under its resource type."""
    lines = [f"{doc['url']}: {doc['origin']} schema"
             + (f", discovered {doc['discovered']}" if "discovered" in doc else "")]
    lines += [f"  note: {n}" for n in doc["notes"]]
    resource = None
    for row in doc["attributes"]:
        if row["resource"] != resource:
            resource = row["resource"]
            lines.append(f"{resource}:")
        flags = ["multi-valued" if row["multi_valued"] else "single",
                 "required" if row["required"] else "optional", row["mutability"],
                 "case-exact" if row["case_exact"] else "case-insensitive"]
        lines.append(f"  {row['name']}  {row['type']}  {' '.join(flags)}")
    mappings = doc["mappings"]
    if mappings["ok"]:
        lines.append(f"Mappings of job {doc['job']}: all bound to the target's attributes")
    else:
        lines.append(f"Mappings of job {doc['job']} the target cannot take:")
        lines += [f"  {p}" for p in mappings["problems"]]
    if mappings["unmapped_required"]:
        lines.append("Required by the target, given by no mapping: "
                     + ", ".join(mappings["unmapped_required"]))
    return lines


__all__ = ["AttributeRow", "SchemaMismatch", "TargetSchema", "attribute_rows", "bind_job",
           "bind_mapping", "bind_mappings", "bind_to", "discover", "listing", "listing_lines",
           "parse_target_schema", "read_schema", "unmapped_required"]
