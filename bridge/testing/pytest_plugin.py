"""The pytest plugin of assay-bridge: the ``workflow_env`` fixture.

Installed with the package (the ``pytest11`` entry point ``assay-bridge``), so a project's tests
use it with no conftest::

    def test_onboarding(workflow_env):
        workflow_env.worker("workflows.lua")
        workflow_env.client.start("Onboard", workflow_id="onboard-1")
        assert workflow_env.client.result("onboard-1", timeout=30) == "done"

Each test gets a fresh :class:`~bridge.testing.WorkflowEnvironment` (function scope), with time
skipping on unless configured otherwise, most specific first:

* the marker ``@pytest.mark.workflow_env(time_skipping=False)`` on the test, its class or module
  (any :class:`~bridge.testing.WorkflowEnvironment` argument);
* the command-line option ``--workflow-env-time-skipping=off`` (or ``on``);
* the ini option ``workflow_env_time_skipping = false`` (default true).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bridge.testing.environment import WorkflowEnvironment

#: The marker that configures the fixture.
MARKER = "workflow_env"
#: The ini option: the default of ``time_skipping``.
INI_TIME_SKIPPING = "workflow_env_time_skipping"
_OPTION_DEST = "workflow_env_time_skipping"
_SWITCH = {"on": True, "off": False}


def pytest_addoption(parser: pytest.Parser) -> None:
    """The ini and command-line options of the ``workflow_env`` fixture."""
    parser.addini(INI_TIME_SKIPPING, type="bool", default=True,
                  help="workflow_env fixture of assay-bridge: skip engine time to the next "
                       "timer when every workflow waits on time (default true)")
    group = parser.getgroup("assay-bridge", "assay-bridge workflow tests")
    group.addoption("--workflow-env-time-skipping", dest=_OPTION_DEST, choices=sorted(_SWITCH),
                    default=None,
                    help="time skipping of the workflow_env fixture: on or off (overrides the "
                         f"ini option {INI_TIME_SKIPPING}; a test's workflow_env marker "
                         "overrides both)")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(time_skipping=True, poll_wait_s=5.0): options of assay-bridge's "
        "workflow_env fixture (bridge.testing.WorkflowEnvironment arguments)")
    _ini_time_skipping(config)  # a bad value stops the run once, before any test


def _ini_time_skipping(config: pytest.Config) -> bool:
    try:
        return bool(config.getini(INI_TIME_SKIPPING))
    except (ValueError, pytest.UsageError) as exc:
        raise pytest.UsageError(f"ini option {INI_TIME_SKIPPING}: {exc} (true or false)") \
            from None


def environment_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The :class:`~bridge.testing.WorkflowEnvironment` arguments for the requesting test:
    the ini option, then the command-line option, then the closest ``workflow_env`` marker."""
    config = request.config
    options: dict[str, Any] = {"time_skipping": _ini_time_skipping(config)}
    switch = config.getoption(_OPTION_DEST, default=None)
    if switch is not None:
        options["time_skipping"] = _SWITCH[str(switch)]
    # the module's marker, then the class's, then the test's: the closer one wins per option
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword arguments only, "
                                    f"e.g. {MARKER}(time_skipping=False)")
        unknown = sorted(set(marker.kwargs) - set(_MARKER_OPTIONS))
        if unknown:
            raise pytest.UsageError(
                f"@pytest.mark.{MARKER}: unknown option {', '.join(unknown)} (it takes "
                f"{', '.join(_MARKER_OPTIONS)})")
        options.update(marker.kwargs)
    return options


#: The options a ``workflow_env`` marker may set (WorkflowEnvironment's arguments).
_MARKER_OPTIONS = ("time_skipping", "poll_wait_s")


@pytest.fixture
def workflow_env(request: pytest.FixtureRequest) -> Iterator[WorkflowEnvironment]:
    """A fresh :class:`~bridge.testing.WorkflowEnvironment`: an in-process engine on a
    temporary SQLite file, ``workflow_env.worker(...)`` and ``workflow_env.client``; time
    skipping on by default. Closed (workers stopped, files removed) after the test."""
    from bridge.testing.environment import WorkflowEnvironment

    with WorkflowEnvironment(**environment_options(request)) as env:
        yield env
