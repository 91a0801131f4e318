"""Due feeds are polled round-robin over their hosts, so polls in a row go to different hosts."""

from __future__ import annotations

from worker.core.schedule import interleave


def test_round_robin_over_groups_keeping_each_groups_order() -> None:
    due = [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("c1", "c"), ("c2", "c")]
    assert interleave(due) == ["a1", "b1", "c1", "a2", "c2", "a3"]


def test_every_item_once_whatever_the_groups() -> None:
    due = [(f"feed{i}", f"host{i % 7}") for i in range(100)]
    order = interleave(due)
    assert sorted(order) == sorted(f"feed{i}" for i in range(100))
    hosts = [int(f[4:]) % 7 for f in order]
    assert hosts[:98] == [0, 1, 2, 3, 4, 5, 6] * 14  # 100 = 7 * 14 + 2: host 0 and 1 last
    assert hosts[98:] == [0, 1]
