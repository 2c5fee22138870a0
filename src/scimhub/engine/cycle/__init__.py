"""One provisioning cycle, one module per step of Entra's (docs/entra.md §2.1, §2.10).

``plan``         scope (one :class:`Scope` per cycle), change detection, deletion guard
``match``        match by the matching attributes in precedence order; link; create
``provision``    the action: create / update / disable / delete, the log, escrow
``memberships``  group members as add/remove deltas
``managers``     ``manager`` once both users are linked
``cycle``        the orchestrator: users, groups, memberships, managers
``summary``      what a cycle did
"""

from scimhub.engine.cycle.cycle import Cycle
from scimhub.engine.cycle.plan import Scope, source_hash
from scimhub.engine.cycle.summary import CycleSummary

__all__ = ["Cycle", "CycleSummary", "Scope", "source_hash"]
