"""The edge feed's rules (domain/edge_feed.py): which revisions a follower may ask for, deduplicated
changes, which edges count, and when a binding is settled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from prefixgate.domain.codes import Code
from prefixgate.domain.edge_feed import (
    EDGE_KIND_OF,
    EdgeNode,
    FeedHead,
    check_not_ahead,
    check_since,
    is_settled,
    latest_per_entity,
    node_statuses,
    parse_node_name,
    settle_limit,
)
from prefixgate.domain.errors import FeedGone, InvalidInput
from prefixgate.edge.state import KINDS

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def node(name: str, revision: int, seen_ago_s: float) -> EdgeNode:
    return EdgeNode(name, revision, NOW - timedelta(hours=1), NOW - timedelta(seconds=seen_ago_s))


def test_every_kind_a_change_notes_is_a_kind_of_the_state() -> None:
    assert set(EDGE_KIND_OF.values()) == set(KINDS)


@pytest.mark.parametrize("since", [9, 10, 15, 20])
def test_a_since_from_oldest_minus_one_to_the_head_is_followed(since: int) -> None:
    check_since(since, FeedHead(revision=20, oldest=10))


@pytest.mark.parametrize(("since", "words"), [(8, "no longer kept"), (0, "no longer kept"), (21, "ahead")])
def test_a_since_too_old_or_ahead_is_gone(since: int, words: str) -> None:
    with pytest.raises(FeedGone, match=words) as e:
        check_since(since, FeedHead(revision=20, oldest=10))
    assert e.value.code == Code.FEED_GONE == 2200


def test_a_fresh_feed_follows_from_zero() -> None:
    check_since(0, FeedHead(revision=0, oldest=1))
    with pytest.raises(FeedGone):
        check_since(1, FeedHead(revision=0, oldest=1))


def test_a_reported_revision_may_be_old_but_not_ahead() -> None:
    check_not_ahead(0, FeedHead(revision=20, oldest=10), what="revision")
    with pytest.raises(FeedGone, match="revision 21 is ahead"):
        check_not_ahead(21, FeedHead(revision=20, oldest=10), what="revision")


def test_each_entity_appears_once_at_its_last_revision_in_revision_order() -> None:
    entries = [(3, "zone", "z"), (3, "app", "a"), (4, "zone", "z"), (5, "app", "b"), (6, "app", "a")]
    assert latest_per_entity(entries) == [(4, "zone", "z"), (5, "app", "b"), (6, "app", "a")]
    assert latest_per_entity([]) == []
    # The same id under two kinds is two entities.
    assert latest_per_entity([(1, "zone", "x"), (2, "fallback_origin", "x")]) == [
        (1, "zone", "x"),
        (2, "fallback_origin", "x"),
    ]


def test_only_live_edges_set_the_limit() -> None:
    assert settle_limit([], NOW, 30) is None
    assert settle_limit([node("a", 7, 31)], NOW, 30) is None  # stale: nothing to wait for
    assert settle_limit([node("a", 7, 1), node("b", 5, 29.9), node("c", 1, 60)], NOW, 30) == 5


def test_a_binding_is_settled_at_or_below_the_limit() -> None:
    assert is_settled(9, None) and is_settled(None, 3)  # no live edge; a binding older than the feed
    assert is_settled(5, 5) and is_settled(4, 5)
    assert not is_settled(6, 5)


def test_node_statuses_say_the_lag_and_staleness() -> None:
    statuses = node_statuses([node("a", 7, 1), node("b", 12, 40)], 10, NOW, 30)
    assert [(s.node.name, s.lag, s.stale) for s in statuses] == [("a", 3, False), ("b", 0, True)]


@pytest.mark.parametrize("name", ["a", "edge-1", "EDGE_1.example.net", "1", "a" * 64])
def test_node_names_that_are_accepted(name: str) -> None:
    assert parse_node_name(name) == name


@pytest.mark.parametrize("name", ["", "-a", "a-", ".a", "a" * 65, "a b", "ëdge", "a/b", "a\x00", "a:1"])
def test_node_names_that_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="edge name") as e:
        parse_node_name(name)
    assert e.value.code == Code.INVALID_FIELD
