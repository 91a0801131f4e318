"""How one feed is polled: the config's ``defaults`` and the feed's own keys, as one value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from worker.config import Config, FeedConfig, OperatorConfig
from worker.core.selectors import Pick
from worker.ingest.fetch import FetchLimits
from worker.ingest.sources import SourceSpec
from worker.ingest.sources.page import HtmlRules


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """Bounds, fetch limits, story rules and operators for one feed."""

    min_poll_interval: timedelta = timedelta(minutes=5)
    max_poll_interval: timedelta = timedelta(hours=6)
    max_backoff: timedelta = timedelta(hours=24)
    stale_after: timedelta | None = None
    failure_alert_after: int = 5
    limits: FetchLimits = field(default_factory=FetchLimits)
    story_window: timedelta = timedelta(days=7)
    story_hold: timedelta = timedelta(0)
    operators: tuple[OperatorConfig, ...] = ()
    source: SourceSpec = field(default_factory=SourceSpec)

    @classmethod
    def from_config(cls, config: Config, feed_id: str) -> PollPolicy:
        defaults = config.defaults
        feed = next((f for f in config.feeds if f.id == feed_id), None)
        return cls(
            min_poll_interval=(feed and feed.min_poll_interval) or defaults.min_poll_interval,
            max_poll_interval=(feed and feed.max_poll_interval) or defaults.max_poll_interval,
            max_backoff=defaults.max_backoff,
            stale_after=config.stale_after(feed_id),
            failure_alert_after=defaults.failure_alert_after,
            limits=FetchLimits(
                max_redirects=defaults.max_redirects,
                host_concurrency=defaults.host_concurrency,
                host_delay=defaults.host_delay.total_seconds(),
                proxy=config.proxy(feed) if feed else config.fetch.proxy,
                circuit=feed_id,
                user_agent=config.user_agent(feed) if feed else config.fetch.user_agent,
                require_proxy=config.fetch.require_proxy,
            ),
            story_window=defaults.story_window,
            story_hold=defaults.story_hold,
            operators=config.operators,
            source=_source(config, feed) if feed else SourceSpec(),
        )


def _source(config: Config, feed: FeedConfig) -> SourceSpec:
    """How to read the feed: its kind, its selectors (checked when the config was read)."""
    html = feed.html
    rules = None
    if html is not None:
        rules = HtmlRules(
            item=Pick.parse(html.item).css,
            title=_pick(html.title),
            link=_pick(html.link),
            date=_pick(html.date),
            summary=_pick(html.summary),
        )
    return SourceSpec(feed.kind, rules, config.telegram_backfill(feed))


def _pick(selector: str | None) -> Pick | None:
    return Pick.parse(selector) if selector else None
