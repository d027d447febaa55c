"""Paired statistics for two classifiers scored on the same test images: is B's accuracy really different?

Both revisions see the same images, so only the images on which they disagree carry evidence (Dietterich
1998, "Approximate statistical tests for comparing supervised classification learning algorithms").
"""

from __future__ import annotations

from math import comb

import numpy as np


def mcnemar_exact_p(fixed: int, broken: int) -> float:
    """Two-sided exact McNemar p-value: under "no difference" each discordant image is a fair coin flip.

    `fixed`: images B gets right and A wrong; `broken`: the reverse. p = min(1, 2 · P(X ≤ min)), X ~ Bin(n, ½),
    in exact integer arithmetic, so thousands of discordant images neither overflow nor lose precision.
    """
    if fixed < 0 or broken < 0:
        raise ValueError(f"counts must be >= 0, got {fixed} and {broken}")
    n, k = fixed + broken, min(fixed, broken)
    tail = sum(comb(n, i) for i in range(k + 1))
    return min(1.0, 2 * tail / 2**n)


def paired_bootstrap_interval(
    fixed: int, broken: int, total: int, *, resamples: int = 10_000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of accuracy(B) − accuracy(A) over images resampled with replacement.

    Each image contributes +1 (fixed), −1 (broken) or 0 to the difference, so a resample is fully described
    by how many of each it drew: a multinomial draw of three counts is the same bootstrap, exactly, without
    materialising `resamples × total` indices. Seeded, so the same inputs give the same interval.
    """
    if total <= 0 or fixed + broken > total:
        raise ValueError(f"expected 0 <= fixed + broken <= total and total > 0, got {fixed}, {broken}, {total}")
    rng = np.random.default_rng(seed)
    shares = np.array([fixed, broken, total - fixed - broken], dtype=np.float64) / total
    counts = rng.multinomial(total, shares, size=resamples)
    differences = (counts[:, 0] - counts[:, 1]) / total
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(differences, [tail, 100 - tail])
    return float(low), float(high)
