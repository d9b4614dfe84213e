"""SQL schema files of the engine stores (package data, read with importlib.resources)."""
