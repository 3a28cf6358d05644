"""Opinion groups, consensus and division in a vote matrix (people × statements).

Votes are agree = 1, disagree = -1, pass or unseen = 0, as in Pol.is. People who vote
alike are found by PCA (two components, through numpy's SVD) and k-means on those
coordinates, with k from 2 to 4 chosen by the silhouette score; one group when nobody
differs. Then, per statement and group, the share who agree and disagree:

- **consensus**: most people in *every* group agree (at least ``CONSENSUS`` of those in
  each group who voted on it), or every group mostly disagrees — common ground;
- **divisive**: the groups' agreement differs by at least ``DIVIDE`` — where they part.

Deterministic: k-means starts from fixed, spread-out points (k-means++ with a seeded
generator), so the same matrix always gives the same groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

CONSENSUS = 0.6
DIVIDE = 0.5
MIN_VOTERS = 4
"""Fewer people than this are one group: there is nothing to tell apart yet."""
Matrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class StatementResult:
    agree: int
    disagree: int
    passed: int
    consensus: bool
    divisive: bool


@dataclass(frozen=True)
class Analysis:
    labels: list[int]
    """The group of each person (row), 0-based, largest group first."""
    statements: list[StatementResult]


def project(votes: Matrix) -> Matrix:
    """Each person's place on the two main axes of disagreement."""
    centred = votes - votes.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    return np.asarray(centred @ axes[:2].T, dtype=np.float64)


def _kmeans(points: Matrix, k: int, seed: int = 7, rounds: int = 50) -> npt.NDArray[np.int64]:
    rng = np.random.default_rng(seed)
    centres = [points[rng.integers(len(points))]]
    while len(centres) < k:  # k-means++: each next start far from those chosen
        far = np.min([((points - c) ** 2).sum(axis=1) for c in centres], axis=0)
        if far.sum() == 0:
            break
        centres.append(points[rng.choice(len(points), p=far / far.sum())])
    middle = np.array(centres)
    labels = np.zeros(len(points), dtype=np.int64)
    for _ in range(rounds):
        distance = ((points[:, None, :] - middle[None, :, :]) ** 2).sum(axis=2)
        new = distance.argmin(axis=1)
        if _ and np.array_equal(new, labels):
            break
        labels = new
        middle = np.array([points[labels == g].mean(axis=0) if (labels == g).any()
                           else middle[g] for g in range(len(middle))])
    return labels


def _silhouette(points: Matrix, labels: npt.NDArray[np.int64]) -> float:
    groups = np.unique(labels)
    if len(groups) < 2:
        return -1.0
    distance = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))
    scores = []
    for i in range(len(points)):
        own = labels == labels[i]
        if own.sum() <= 1:
            scores.append(0.0)
            continue
        a = distance[i, own].sum() / (own.sum() - 1)
        b = min(distance[i, labels == g].mean() for g in groups if g != labels[i])
        scores.append((b - a) / max(a, b) if max(a, b) > 0 else 0.0)
    return float(np.mean(scores))


def groups_of(votes: Matrix) -> list[int]:
    """Opinion group of each person, largest group numbered 0."""
    if len(votes) < MIN_VOTERS or not votes.any():
        return [0] * len(votes)
    points = project(votes)
    best: tuple[float, npt.NDArray[np.int64]] | None = None
    for k in range(2, min(4, len(votes) - 1) + 1):
        labels = _kmeans(points, k)
        score = _silhouette(points, labels)
        if best is None or score > best[0] + 1e-9:
            best = (score, labels)
    if best is None or best[0] < 0.25:  # no real structure: one group
        return [0] * len(votes)
    sizes = np.bincount(best[1])
    order = {int(g): rank for rank, g in enumerate(np.argsort(-sizes, kind="stable"))}
    return [order[int(g)] for g in best[1]]


def analyse(votes: Matrix) -> Analysis:
    """Groups, then each statement's counts, consensus and division."""
    labels = groups_of(votes)
    group_ids = sorted(set(labels))
    label_array = np.array(labels)
    results = []
    for column in votes.T:
        agree_share, disagree_share = [], []
        for g in group_ids:
            mine = column[label_array == g]
            voted = mine[mine != 0]
            if len(voted):
                agree_share.append(float((voted > 0).mean()))
                disagree_share.append(float((voted < 0).mean()))
        consensus = bool(agree_share) and (min(agree_share) >= CONSENSUS
                                           or min(disagree_share) >= CONSENSUS)
        divisive = len(agree_share) > 1 and max(agree_share) - min(agree_share) >= DIVIDE
        results.append(StatementResult(int((column > 0).sum()), int((column < 0).sum()),
                                       int((column == 0).sum()), consensus, divisive))
    return Analysis(labels, results)
