"""Run ``assay-bridge`` in-process (``main(argv)``) or as a real process, for the CLI tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from bridge.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def cli(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> Result:
    """``assay-bridge ARGV... --url URL`` in this process; usage errors give code 2."""
    capsys.readouterr()
    try:
        code = main([*argv, "--url", url])
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def cli_process(*argv: str, url: str | None = None, timeout: float = 60,
                **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``python -m bridge ARGV...`` as a child process, the URL given via ASSAY_ENGINE_URL."""
    env = {k: v for k, v in os.environ.items() if k not in ("ASSAY_ENGINE_URL", "ASSAY_TOKEN")}
    if url is not None:
        env["ASSAY_ENGINE_URL"] = url
    env.update(kwargs.pop("env", {}))
    return subprocess.run([sys.executable, "-m", "bridge", *argv], env=env, text=True,
                          capture_output=True, timeout=timeout, check=False, **kwargs)
