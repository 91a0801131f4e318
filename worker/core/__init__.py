"""The pure core: typed values, errors, dedup keys, schedules, feed health, digest periods.

Nothing here imports another part of ``worker`` (or does I/O): these modules take data
and return data, so they are tested with tables of cases and reused by every shell.
"""
