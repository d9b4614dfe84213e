"""The Python client of the workflow HTTP API."""

from __future__ import annotations

from bridge.client.client import TERMINAL_STATUSES, Client, Schedules, decode_record

__all__ = ["TERMINAL_STATUSES", "Client", "Schedules", "decode_record"]
