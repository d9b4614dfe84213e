"""``python -m bridge`` is the same as the ``assay-bridge`` command."""

from bridge.cli import console_main

console_main()
