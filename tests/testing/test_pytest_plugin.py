"""The pytest plugin as a user's project meets it: the ``workflow_env`` fixture with no conftest,
and how the marker, the command-line option and the ini option set time skipping."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.testing.pytest_run import run_pytest

USER_TESTS = '''
import os

import pytest

EXPECTED = os.environ["EXPECTED_TIME_SKIPPING"] == "1"


def test_default(workflow_env):
    assert workflow_env.time_skipping is EXPECTED


@pytest.mark.workflow_env(time_skipping=False)
def test_marker_off(workflow_env):
    assert workflow_env.time_skipping is False


@pytest.mark.workflow_env(time_skipping=True)
def test_marker_on(workflow_env):
    assert workflow_env.time_skipping is True


@pytest.mark.workflow_env(poll_wait_s=1.5)
def test_other_arguments(workflow_env):
    assert workflow_env.poll_wait_s == 1.5
    assert workflow_env.time_skipping is EXPECTED


@pytest.mark.workflow_env(time_skipping=False)
class TestMarkedClass:
    def test_inherits_the_class_marker(self, workflow_env):
        assert workflow_env.time_skipping is False


@pytest.mark.workflow_env(poll_wait_s=1.5)
class TestMarkersMerge:
    @pytest.mark.workflow_env(time_skipping=not EXPECTED)
    def test_the_class_option_stays_beside_the_tests_own(self, workflow_env):
        assert workflow_env.poll_wait_s == 1.5
        assert workflow_env.time_skipping is (not EXPECTED)
'''


@pytest.mark.parametrize(("ini", "args", "expected"), [
    (None, [], True),
    ("workflow_env_time_skipping = false", [], False),
    (None, ["--workflow-env-time-skipping=off"], False),
    ("workflow_env_time_skipping = false", ["--workflow-env-time-skipping=on"], True),
], ids=["default", "ini-off", "option-off", "option-over-ini"])
def test_the_marker_the_option_and_the_ini_set_time_skipping(
        tmp_path: Path, ini: str | None, args: list[str], expected: bool) -> None:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    if ini is not None:
        (tmp_path / "pytest.ini").write_text(f"[pytest]\n{ini}\n")
    done = run_pytest(tmp_path, *args, env={"EXPECTED_TIME_SKIPPING": "1" if expected else "0"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout


def test_a_positional_marker_argument_is_refused(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(
        "import pytest\n\n@pytest.mark.workflow_env(False)\n"
        "def test_it(workflow_env):\n    pass\n")
    done = run_pytest(tmp_path)
    assert done.returncode != 0
    assert "keyword arguments only" in done.stdout + done.stderr


@pytest.mark.parametrize(("ini", "test", "expected"), [
    (None, "@pytest.mark.workflow_env(time_skiping=False)",
     "@pytest.mark.workflow_env: unknown option time_skiping (it takes time_skipping, "
     "poll_wait_s)"),
    (None, '@pytest.mark.workflow_env(time_skipping="no")',
     "time_skipping must be True or False, not 'no'"),
    ("workflow_env_time_skipping = maybe", "",
     "ini option workflow_env_time_skipping: invalid truth value 'maybe'"),
], ids=["marker-typo", "marker-not-a-bool", "ini-not-a-bool"])
def test_a_bad_option_is_named_in_the_error(tmp_path: Path, ini: str | None, test: str,
                                            expected: str) -> None:
    (tmp_path / "test_user.py").write_text(
        f"import pytest\n\n\n{test}\ndef test_it(workflow_env):\n    pass\n")
    if ini is not None:
        (tmp_path / "pytest.ini").write_text(f"[pytest]\n{ini}\n")
    done = run_pytest(tmp_path)
    assert done.returncode != 0
    assert expected in done.stdout + done.stderr, done.stdout + done.stderr
