"""The ``rightswatch`` sub-commands, one module per group (``worker.cli`` is the root)."""
