"""Notifiers: one per channel, all behind the small :class:`Notifier` protocol."""
