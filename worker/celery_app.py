"""The Celery application: ``celery -A worker.celery_app worker`` finds ``app`` here.

Delivery guarantees come from the database, not the broker: tasks carry only
ids, are acknowledged late (a killed worker's task comes back), and a periodic
sweep re-enqueues anything overdue, so a flushed Redis loses nothing. No task is
ever scheduled with a countdown (retries are rows with a due time that the
sweep picks up), so the Redis visibility timeout only has to outlast the
longest single task.
"""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab

from worker.settings import load_settings

_settings = load_settings()

app = Celery("rightswatch", broker=_settings.broker_url or "memory://", include=["worker.tasks"])
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=None,
    broker_transport_options={"visibility_timeout": 3600},
    task_time_limit=900,
    task_soft_time_limit=600,
    timezone="UTC",
    enable_utc=True,
    beat_schedule={
        "poll-due-feeds": {
            "task": "rightswatch.poll_due_feeds",
            "schedule": _settings.beat_interval,
            "options": {"expires": _settings.beat_interval},
        },
        "sweep": {
            "task": "rightswatch.sweep",
            "schedule": _settings.beat_interval,
            "options": {"expires": _settings.beat_interval},
        },
        "purge": {
            "task": "rightswatch.purge",
            "schedule": crontab(hour=3, minute=17),
            "options": {"expires": 3600},
        },
    },
)
