"""The Python client of the workflow HTTP API."""

from __future__ import annotations

from bridge.client.client import Client

__all__ = ["Client"]
