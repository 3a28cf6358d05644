"""Opinion groups on a seeded 200-person vote matrix with two planted groups and a
planted consensus statement (and noise: passes, a few who break ranks)."""

from __future__ import annotations

import numpy as np

from bot.deliberation.groups import analyse, groups_of


def planted(seed: int = 14) -> tuple[np.ndarray, list[int]]:
    """120 people in group A, 80 in group B, 12 statements:
    0-4 A agrees / B disagrees, 5-9 the reverse, 10 everyone agrees (the planted
    consensus), 11 a coin toss. Each vote is flipped with 10% chance and left unseen
    (0) with 20% chance."""
    rng = np.random.default_rng(seed)
    truth = [0] * 120 + [1] * 80
    votes = np.zeros((200, 12))
    for person, group in enumerate(truth):
        sign = 1 if group == 0 else -1
        ideal = [sign] * 5 + [-sign] * 5 + [1, rng.choice([-1, 1])]
        for s, vote in enumerate(ideal):
            if rng.random() < 0.1:
                vote = -vote
            votes[person, s] = 0 if rng.random() < 0.2 else vote
    return votes, truth


def test_finds_both_planted_groups_and_the_consensus_statement() -> None:
    votes, truth = planted()
    found = analyse(votes)
    assert sorted(set(found.labels)) == [0, 1]
    agreement = sum(a == t for a, t in zip(found.labels, truth, strict=True)) / len(truth)
    assert agreement >= 0.95  # the largest found group is the larger planted one
    assert [s.consensus for s in found.statements] == [False] * 10 + [True, False]
    assert [s.divisive for s in found.statements] == [True] * 10 + [False, False]
    planted_agree = found.statements[10]
    assert planted_agree.agree > 3 * planted_agree.disagree
    assert all(s.agree + s.disagree + s.passed == 200 for s in found.statements)


def test_no_structure_means_one_group() -> None:
    same = np.ones((30, 6))
    assert groups_of(same) == [0] * 30
    assert groups_of(np.zeros((3, 4))) == [0, 0, 0]
    found = analyse(same)
    assert all(s.consensus and not s.divisive for s in found.statements)


def test_three_planted_groups_are_told_apart() -> None:
    rng = np.random.default_rng(3)
    blocks = [np.tile(pattern, (40, 1)) for pattern in
              ([1, 1, -1, -1, 0, 1], [-1, -1, 1, 1, 0, 1], [1, -1, 1, -1, 1, 1])]
    votes = np.vstack(blocks) * np.where(rng.random((120, 6)) < 0.05, -1, 1)
    labels = groups_of(votes)
    assert len(set(labels)) == 3
    assert all(len(set(labels[i * 40:(i + 1) * 40])) == 1 for i in range(3))
