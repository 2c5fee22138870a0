"""One exception root: every failure the engine raises is an ``EngineError``, so ``scimhub
sync`` (and any caller of the engine) catches one type, and the old import paths still work."""

from __future__ import annotations

from pathlib import Path

import pytest

from scimhub.engine import errors
from scimhub.engine.config import ConfigError
from scimhub.engine.cycle.cycle import DeletionThresholdExceeded
from scimhub.engine.expressions import EvaluationError, ExpressionError, parse_expression
from scimhub.engine.identity import JobTargetChanged
from scimhub.engine.mapping import MappingError
from scimhub.engine.runner import JobBusy, JobStopped, LeaseLost
from scimhub.engine.sources.directory import SourceError
from tests.e2e.server import ServerProcess
from tests.engine.test_engine_e2e import ENTERPRISE, Job, target  # noqa: F401
from tests.engine.test_job_control import sync

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


def test_sync_reports_any_engine_error_in_one_line(
        target: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    """``scimhub sync`` catches ``EngineError``, not a hand-written list: a failure outside the
    old list (here the target's schema lacking a mapped attribute, found after the job file
    loaded) is one line naming the job, exit 1, no traceback."""
    job = Job(target, tmp_path)
    config = tmp_path / "job.toml"
    config.write_text(config.read_text() + f'''
[[mappings.users]]
target = "{ENTERPRISE}:costCentre"
source = "department"
''')
    failed = sync(job)
    assert failed.returncode == 1, failed.stdout
    assert "Traceback" not in failed.stderr, failed.stderr
    assert failed.stderr.startswith("Error: acunetix-360: "), failed.stderr
    assert "costCentre" in failed.stderr
