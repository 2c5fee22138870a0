"""Where the engine reads its directory: the Source contract (base.py) and the sources.

``open_source(config)`` gives the source a job's ``[source]`` table names, by its ``type``.
Adding a source is one new module implementing ``sources.base.Source`` and one entry in
``SOURCES``; the job loader (engine/config.py) decides which types a job file may name.
"""

from __future__ import annotations

from collections.abc import Callable

from scimhub.engine.config import SourceConfig
from scimhub.engine.errors import ConfigError, SourceError
from scimhub.engine.sources.base import (
    Snapshot,
    Source,
    SourceCheck,
    SourceKind,
    SourceWarning,
    Watermark,
)
from scimhub.engine.sources.directory import Directory
from scimhub.engine.sources.file import FileSource
from scimhub.engine.sources.ldap import check_options as check_ldap_options
from scimhub.engine.sources.ldap import open_ldap
from scimhub.engine.sources.scim import ScimSource
from scimhub.engine.sources.scim import check_options as check_scim_options

#: Each source type, and how to open one from its configuration.
SOURCES: dict[str, Callable[[SourceConfig], Source]] = {
    "file": lambda config: FileSource(config.path or config.base),
    "ldap": open_ldap,
    "scim": ScimSource,
}

#: Each source type's check of its ``[source]`` options, run when the job loads (a
#: ``ConfigError`` naming the key); types without one here are not built yet.
OPTION_CHECKS: dict[str, Callable[[SourceConfig], None]] = {
    "file": lambda config: None,
    "ldap": check_ldap_options,
    "scim": check_scim_options,
}


def check_options(config: SourceConfig) -> None:
    """``ConfigError`` when the ``[source]`` table cannot be used, naming the key at fault."""
    check = OPTION_CHECKS.get(config.type)
    if check is None:
        raise ConfigError(f"source type {config.type!r} is not supported (yet): use one of "
                          f"{', '.join(sorted(OPTION_CHECKS))}")
    check(config)


def open_source(config: SourceConfig) -> Source:
    """The source of ``config.type``: ``SourceError`` for a type no module implements."""
    factory = SOURCES.get(config.type)
    if factory is None:
        raise SourceError(f"source type {config.type!r} is not supported (yet): use one of "
                          f"{', '.join(sorted(SOURCES))}")
    return factory(config)


__all__ = ["OPTION_CHECKS", "SOURCES", "Directory", "FileSource", "Snapshot", "Source",
           "SourceCheck", "SourceError", "SourceKind", "SourceWarning", "Watermark",
           "check_options", "open_source"]
