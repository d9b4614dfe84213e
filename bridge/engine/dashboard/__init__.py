"""The engine's web dashboard: static pages at ``/workflow/`` that read the engine API.

The files under ``static/`` are plain HTML, CSS and JavaScript modules with no build step and
nothing loaded from elsewhere. They hold no data: the pages call ``/api/v1`` with the key the
user types in (engine-api §1.8 describes assay's dashboard; ours adds the Authorization header
that assay's never sends). :mod:`bridge.engine.dashboard.routes` serves them.
"""
