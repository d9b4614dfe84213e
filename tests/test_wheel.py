"""The built wheel (not only the editable install) carries the Lua files and runs a script."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SHA256 = "143f3c6c540adf3b305d94036db2bf31deada19dfc601b333374103592ba4e9e"

SCRIPT = """
local workflow = require("assay.workflow")
if type(workflow.define) ~= "function" then error("no workflow.define") end
print(json.encode({ ok = true, n = 3 }))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-q", "-w", str(out), str(ROOT)],
        check=True,
    )
    [built] = out.glob("assay_bridge-*.whl")
    return built


def test_wheel_contains_the_unchanged_workflow_lua(wheel: Path) -> None:
    import zipfile

    with zipfile.ZipFile(wheel) as zf:
        data = zf.read("bridge/_lua/assay/workflow.lua")
        names = zf.namelist()
    assert hashlib.sha256(data).hexdigest() == SHA256
    assert "bridge/py.typed" in names


def test_wheel_contains_the_dashboard_files(wheel: Path) -> None:
    import zipfile

    static = Path(__file__).parent.parent / "bridge" / "engine" / "dashboard" / "static"
    expected = {"bridge/engine/dashboard/static/" + p.relative_to(static).as_posix()
                for p in static.rglob("*") if p.is_file()}
    assert {"bridge/engine/dashboard/static/index.html",
            "bridge/engine/dashboard/static/app.js",
            "bridge/engine/dashboard/static/components/detail.js"} <= expected
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert expected <= names, sorted(expected - names)


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with the wheel installed (not editable, as CI installs it); its
    directory."""
    env_dir = tmp_path_factory.mktemp("installed") / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
         str(wheel)],
        check=True,
    )
    # Dependencies come from the test environment's site-packages (a plain path entry, so its
    # .pth files, among them the editable install of this checkout, are not processed); the
    # package itself comes only from the wheel, installed before that path was added so pip
    # could not take the test environment's copy for it.
    target = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(target) / "test-deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    return env_dir


def test_installed_wheel_runs_a_lua_script(installed: Path, tmp_path: Path) -> None:
    env_dir = installed
    py = env_dir / "bin" / "python"
    script = tmp_path / "hello.lua"
    script.write_text(SCRIPT)
    where = subprocess.run(
        [str(py), "-c", "import bridge, pathlib; print(pathlib.Path(bridge.__file__).parent)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert where.startswith(str(env_dir)), where
    done = subprocess.run(
        [str(env_dir / "bin" / "assay-bridge"), "run", str(script)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '{"n":3,"ok":true}'


def test_installed_wheel_brings_its_pytest_plugin(installed: Path, tmp_path: Path) -> None:
    # the sample project's tests use the workflow_env fixture with no conftest and no -p: the
    # wheel's pytest11 entry point provides it (PYTHONPATH dropped: only the wheel's bridge)
    shutil.copytree(ROOT / "examples" / "testing", tmp_path / "examples" / "testing",
                    ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_PLUGINS",
                        "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    done = subprocess.run(
        [str(installed / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider", "-W",
         "error", "--strict-markers", "-q", "examples/testing"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "5 passed" in done.stdout
