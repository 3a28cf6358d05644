"""Greedy and the Method of Equal Shares, checked against published worked examples."""

from __future__ import annotations

from bot.budgets.counting import Project, equal_shares, greedy


def approvals(*groups: tuple[int, str]) -> list[dict[str, int]]:
    return [dict.fromkeys(projects, 1) for count, projects in groups for _ in range(count)]


def test_equal_shares_matches_lackner_skowron_example_11() -> None:
    """Lackner & Skowron, *Multi-Winner Voting with Approval Preferences* (Springer,
    2023), Example 11 (the instance of their Example 1): 12 voters, committee size 4,
    so each voter holds 1/3 and every candidate costs 1. Their worked solution (and
    the expected output of their library, martinlackner/abcvoting,
    tests/expected_output/test_abcbook_example11_py) adds only `a`, each of its 8
    supporters paying 1/8 ("Phase 1"); nothing else is affordable, so the rest is
    left to a completion phase, which Parley does not add."""
    candidates = [Project(c, 1) for c in "abcdefg"]
    ballots = approvals((3, "ab"), (3, "ac"), (2, "ad"), (1, "bcf"), (1, "e"), (1, "f"),
                        (1, "g"))
    assert equal_shares(candidates, ballots, total=4) == ["a"]
    # greedy by votes takes a (8), then b and c (4 each), then d (2, tied with f: the
    # list order decides)
    assert greedy(candidates, ballots, total=4) == ["a", "b", "c", "d"]


def test_equal_shares_is_proportional_where_greedy_is_not() -> None:
    """The red/blue example of equalshares.net and Peters & Skowron: 51 voters want
    only red projects, 49 only blue, and the money buys ten. Greedy gives the majority
    all ten; Equal Shares buys 5 red and 4 blue (the tenth is not affordable from the
    shares left: 49 × (10/100 − 4/49) < 1)."""
    red = [Project(f"r{i}", 1) for i in range(10)]
    blue = [Project(f"b{i}", 1) for i in range(10)]
    ballots = approvals((51, tuple(p.id for p in red)), (49, tuple(p.id for p in blue)))
    assert greedy(red + blue, ballots, total=10) == [p.id for p in red]
    chosen = equal_shares(red + blue, ballots, total=10)
    assert sorted(chosen) == sorted([f"r{i}" for i in range(5)] + [f"b{i}" for i in range(4)])


def test_equal_shares_with_costs_and_points() -> None:
    """Worked by hand. Costs: 10 voters hold 100 each. The pool (600) needs all 6 of
    its supporters' 100s (ρ = 100); the park (300) costs its 4 supporters 75 each
    (ρ = 75), so it comes first; the library (500) is beyond its 4 supporters (400).
    Greedy instead takes the pool first (6 votes) and then the park."""
    projects = [Project("pool", 600), Project("library", 500), Project("park", 300)]
    ballots = approvals((6, ("pool",)), (4, ("library", "park")))
    assert equal_shares(projects, ballots, total=1000) == ["park", "pool"]
    assert greedy(projects, ballots, total=1000) == ["pool", "park"]
    assert equal_shares(projects, [], total=1000) == []
    # Points (utilities), 300 each: the park costs ρ = 300/19 per point (B pays 9ρ,
    # C 10ρ); afterwards A (300) and B (300 - 9·300/19 ≈ 158) hold less than the 600
    # the pool costs, so only the park is bought.
    points = [{"pool": 10}, {"pool": 1, "park": 9}, {"park": 10}]
    assert equal_shares(projects, points, total=900) == ["park"]
