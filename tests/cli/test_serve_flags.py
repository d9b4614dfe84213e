"""assay's own ``serve`` flags, as deploy scripts call them, on real engine processes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import requests

from bridge.testing import EngineServer
from tests.cli.clikit import cli_process


def test_generate_api_key_prints_a_key_that_authenticates(tmp_path: Path) -> None:
    backend = f"sqlite:///{tmp_path / 'e.db'}"
    made = cli_process("serve", "--backend", backend, "--generate-api-key")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert re.fullmatch(r"assay_[0-9a-f]{64}", key) and made.stdout == key + "\n"
    assert f"API key created (prefix: {key[:14]}...)" in made.stderr
    listed = cli_process("serve", "--backend", backend, "--list-api-keys")
    assert listed.returncode == 0 and listed.stdout == f"  {key[:14]}... \n"
    with EngineServer(backend_url=backend, auth_api_key=True, poll_wait_s=0) as server:
        ok = requests.get(server.url + "/api/v1/workflows",
                          headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert ok.status_code == 200
        assert requests.get(server.url + "/api/v1/workflows", timeout=30).status_code == 401


def test_list_api_keys_with_none(tmp_path: Path) -> None:
    listed = cli_process("serve", "--backend", f"sqlite:///{tmp_path / 'e.db'}",
                         "--list-api-keys")
    assert listed.returncode == 0 and listed.stdout == "No API keys configured.\n"


def test_assays_sqlite_url_and_no_auth_are_accepted(tmp_path: Path) -> None:
    made = cli_process("serve", "--backend", "sqlite://assay.db?mode=rwc", "--no-auth",
                       "--generate-api-key", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "assay.db").exists()
    assert not any(p.name.startswith("assay.db?") for p in tmp_path.iterdir())


def test_no_auth_beside_a_mode_warns_and_json_logs_parse() -> None:
    with EngineServer(poll_wait_s=0, auth_api_key=True,
                      extra_args=["--no-auth", "--log-format", "json"]) as server:
        assert requests.get(server.url + "/api/v1/workflows", timeout=30).status_code == 401
        requests.post(server.url + "/api/v1/workflows",
                      headers={"Authorization": f"Bearer {server.create_api_key()}"},
                      json={"workflow_type": "T", "workflow_id": "w"}, timeout=30)
        server.stop()
        lines = server.log_text().splitlines()
    assert "Warning: --no-auth is redundant when --auth-issuer or --auth-api-key is set" in lines
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any("listening on" in r["message"] for r in records)


def test_help_lists_assays_flags() -> None:
    out = cli_process("serve", "--help").stdout
    for flag in ("--generate-api-key", "--list-api-keys", "--auth-issuer", "--auth-audience",
                 "--auth-api-key", "--no-auth", "--backend", "--port", "--metrics-open",
                 "--log-format"):
        assert flag in out
