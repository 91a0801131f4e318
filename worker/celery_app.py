"""The Celery application: ``celery -A worker.celery_app worker`` finds ``app`` here.

Delivery guarantees come from the database, not the broker: tasks carry only
ids, are acknowledged late (a killed worker's task comes back), and a periodic
sweep re-enqueues anything overdue, so a flushed Redis loses nothing. No task is
ever scheduled with a countdown (retries are rows with a due time that the
sweep picks up), so the Redis visibility timeout only has to outlast the
longest single task.

The broker URL and the beat interval come from the settings when Celery first
needs its configuration, not when this module is imported.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from celery import Celery
from celery.schedules import crontab

from worker.settings import Settings, load_settings


@cache
def _settings() -> Settings:
    return load_settings()


class _FromSettings:
    """Configuration Celery reads lazily (``config_from_object``) from :mod:`worker.settings`."""

    task_serializer = "json"
    accept_content = ("json",)
    task_ignore_result = True
    task_acks_late = True
    task_reject_on_worker_lost = True
    worker_prefetch_multiplier = 1
    worker_hijack_root_logger = False
    # The console channel prints alerts on standard output as alerts: redirected into the
    # logs they would pass the redaction filter and show as "[redacted]".
    worker_redirect_stdouts = False
    broker_connection_retry_on_startup = True
    broker_connection_max_retries = None
    broker_transport_options = {"visibility_timeout": 3600}  # noqa: RUF012 (read-only)
    task_time_limit = 900
    task_soft_time_limit = 600
    timezone = "UTC"
    enable_utc = True

    @property
    def broker_url(self) -> str:
        return _settings().broker_url or "memory://"

    @property
    def beat_schedule(self) -> dict[str, dict[str, Any]]:
        every = _settings().beat_interval
        return {
            "poll-due-feeds": {
                "task": "rightswatch.poll_due_feeds",
                "schedule": every,
                "options": {"expires": every},
            },
            "sweep": {
                "task": "rightswatch.sweep",
                "schedule": every,
                "options": {"expires": every},
            },
            "purge": {
                "task": "rightswatch.purge",
                "schedule": crontab(hour=3, minute=17),
                "options": {"expires": 3600},
            },
        }


app = Celery("rightswatch", include=["worker.tasks"])
app.config_from_object(_FromSettings())
