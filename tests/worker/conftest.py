"""Fixtures driving the unchanged workflow.lua's ``_handle_workflow_task`` with recorded histories."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.worker.replayer import Replayer


@pytest.fixture
def replayer() -> Iterator[Replayer]:
    r = Replayer()
    yield r
    r.rt.close()
