"""Kim & Nelson's fully sequential procedure KN ("A fully sequential procedure for indifference-zone selection in
simulation", ACM TOMACS 11(3), 2001), with c = 1 and paired (common-seed) observations: the published baseline the
race's choice is measured against (`good_selection`). No maintained library has it with pairing
(../shared/research/selection.md), and its h² is checked against the published values in the tests.

It sees one number per seed and configuration, the test accuracy, so it knows nothing of the test set's own noise;
its guarantee is the indifference zone's: the best is selected with probability 1 − α when it leads the rest by δ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def h_squared(configurations: int, first_stage: int, alpha: float) -> float:
    """h² = 2η(n0 − 1), η = ½[(2α/(k − 1))^(−2/(n0 − 1)) − 1]."""
    eta = 0.5 * ((2 * alpha / (configurations - 1)) ** (-2 / (first_stage - 1)) - 1)
    return 2 * eta * (first_stage - 1)


@dataclass(frozen=True)
class Selection:
    selected: int
    seeds: tuple[int, ...]  # seeds each configuration ran before it was eliminated or selected
    truncated: bool  # the seeds ran out before the procedure's own last stage: the highest mean was taken


def kn(accuracy: np.ndarray, delta: float, alpha: float = 0.05, first_stage: int = 5) -> Selection:
    """KN on `accuracy` (configurations × seeds, in the order they are run): at stage r ≥ n0, configuration i is
    eliminated when its mean falls below another survivor's by more than W_il(r) = max(0, δ/(2r)·(h²S²_il/δ² − r)),
    S²_il the variance of the paired differences over the first n0 seeds; it ends with one survivor, or at stage
    max N_il + 1 (N_il = ⌊h²S²_il/δ²⌋) with the highest mean."""
    k, available = accuracy.shape
    h2 = h_squared(k, first_stage, alpha)
    first = accuracy[:, :first_stage]
    variances = np.var(first[:, None, :] - first[None, :, :], axis=2, ddof=1)
    last_stage = int(np.max(np.floor(h2 * variances / delta**2))) + 1
    alive, seeds = list(range(k)), [first_stage] * k
    stage = first_stage
    while True:
        means = accuracy[:, :stage].mean(axis=1)
        widths = np.maximum(0.0, delta / (2 * stage) * (h2 * variances / delta**2 - stage))
        alive = [i for i in alive if all(means[i] >= means[j] - widths[i, j] for j in alive if j != i)]
        for i in alive:
            seeds[i] = stage
        if len(alive) == 1 or stage >= last_stage or stage >= available:
            best = max(alive, key=lambda i: (means[i], -i))
            return Selection(best, tuple(seeds), len(alive) > 1 and stage < last_stage)
        stage += 1
