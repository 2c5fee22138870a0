"""One exception root: every failure the engine raises is an ``EngineError``, so ``scimhub
sync`` (and any caller of the engine) catches one type, and the old import paths still work."""

from __future__ import annotations

import pytest

from scimhub.engine import errors
from scimhub.engine.config import ConfigError
from scimhub.engine.cycle.cycle import DeletionThresholdExceeded
from scimhub.engine.expressions import EvaluationError, ExpressionError, parse_expression
from scimhub.engine.identity import JobTargetChanged
from scimhub.engine.mapping import MappingError
from scimhub.engine.runner import JobBusy, JobStopped, LeaseLost
from scimhub.engine.sources.directory import SourceError

OLD_HOMES: list[type[Exception]] = [
    ConfigError, MappingError, ExpressionError, EvaluationError, JobStopped, JobBusy, LeaseLost,
    JobTargetChanged, DeletionThresholdExceeded, SourceError, errors.TargetError,
]


@pytest.mark.parametrize("cls", OLD_HOMES, ids=lambda c: c.__name__)
def test_every_engine_failure_is_an_engine_error_defined_once(cls: type[Exception]) -> None:
    assert issubclass(cls, errors.EngineError)
    # The old module's name is the very class of errors.py, not a copy that
    # ``except errors.X`` would miss.
    assert getattr(errors, cls.__name__) is cls


def test_value_errors_stay_value_errors() -> None:
    """Callers that caught ValueError around a job file or a source keep working."""
    for cls in (ConfigError, MappingError, SourceError):
        assert issubclass(cls, ValueError)


def test_target_errors_are_under_the_root() -> None:
    for name in ("Transient", "Throttled", "AnswerLost", "Rejected", "Conflict", "Unreachable",
                 "CredentialsRejected", "DuplicateTargetEntries", "ServiceIncompatible"):
        assert issubclass(getattr(errors, name), errors.TargetError)


def test_a_bad_expression_is_caught_as_an_engine_error() -> None:
    with pytest.raises(errors.EngineError, match="position"):
        parse_expression('Join(",", [a]')
