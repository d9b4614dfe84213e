"""The public surface: what ``import bridge`` offers, pinned so nothing disappears by accident."""

from __future__ import annotations

import inspect

import bridge

PUBLIC = {
    "__version__",
    "ActivityContext", "Client", "Engine", "Runtime", "Worker", "WorkflowCancelled", "WorkflowContext",
    "ActivityFailedError", "ApplicationError", "BridgeError", "ChildWorkflowFailedError",
    "ClientError", "ConfigError", "EngineClosedError", "EngineError", "EngineResponseError", "EngineUnavailableError",
    "LeaseLostError", "LuaMemoryLimitError", "LuaScriptError", "NonDeterminismError",
    "WorkflowAlreadyExistsError",
    "WorkflowFailedError", "WorkflowNotFoundError",
}


def test_all_is_pinned() -> None:
    assert set(bridge.__all__) == PUBLIC
    for name in bridge.__all__:
        assert hasattr(bridge, name), name


def test_public_names_are_documented() -> None:
    for name in bridge.__all__:
        obj = getattr(bridge, name)
        if inspect.isclass(obj):
            assert inspect.getdoc(obj), name
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and callable(member):
                    assert inspect.getdoc(member), f"{name}.{attr}"


def test_errors_share_one_base() -> None:
    for name in bridge.__all__:
        obj = getattr(bridge, name)
        if inspect.isclass(obj) and name.endswith("Error"):
            assert issubclass(obj, bridge.BridgeError), name
    assert issubclass(bridge.ConfigError, ValueError)
    assert issubclass(bridge.LuaMemoryLimitError, MemoryError)
    assert not issubclass(bridge.WorkflowCancelled, Exception)


def test_package_is_typed() -> None:
    from importlib import resources

    assert (resources.files("bridge") / "py.typed").is_file()


TESTING = {
    "EngineServer", "EngineServerError", "FakeClock", "SkippingClock", "TimeSkipper",
    "WorkflowEnvironment", "end_event", "load_history", "normalize_events", "replay",
}


def test_testing_kit_is_pinned_and_documented() -> None:
    import bridge.testing as kit

    assert set(kit.__all__) == TESTING
    assert set(dir(kit)) >= TESTING
    for name in kit.__all__:
        obj = getattr(kit, name)
        assert inspect.getdoc(obj), name
        assert callable(obj), name  # a function or class, never the submodule of that name
    import bridge.testing.replay  # noqa: F401 - importing the submodule keeps the function
    assert inspect.isfunction(kit.replay)
