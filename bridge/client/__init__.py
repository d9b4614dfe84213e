"""The Python client of the workflow HTTP API."""

from __future__ import annotations

from bridge.client.client import Client, Schedules, decode_json_text, decode_record
from bridge.wire import TERMINAL_STATUSES

__all__ = ["TERMINAL_STATUSES", "Client", "Schedules", "decode_json_text", "decode_record"]
