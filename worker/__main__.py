"""``python -m worker`` is the ``rightswatch`` command."""

from worker.cli import main

main()
