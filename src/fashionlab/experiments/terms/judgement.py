"""The settings a verdict is read with, passed as one value, and the command line that reproduces it."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from fashionlab.statistics.sequential import ALPHA, MAX_SEEDS
from fashionlab.statistics.significance import ROPE

RESAMPLES = 10_000
Say = Callable[[str], None]  # where a command's progress lines go


@dataclass(frozen=True)
class Judgement:
    """What decides a verdict besides the runs: the ROPE, the bootstrap (its resamples and seed), the error rate
    over all looks, and the most shared seeds before the answer is undecided."""

    rope: float = ROPE
    resamples: int = RESAMPLES
    seed: int = 0
    alpha: float = ALPHA
    max_seeds: int = MAX_SEEDS

    def options(self) -> list[str]:
        """The options that give these settings: --max-seeds always (it bounds the command's cost), the others
        where they are not the defaults."""
        words = ["--max-seeds", str(self.max_seeds)]
        defaults = Judgement()
        for flag, value, default in (
            ("--alpha", self.alpha, defaults.alpha),
            ("--rope", self.rope, defaults.rope),
            ("--resamples", self.resamples, defaults.resamples),
            ("--seed", self.seed, defaults.seed),
        ):
            words += [] if value == default else [flag, str(value)]
        return words


def reproduce(command: str, arguments: list[str], judgement: Judgement) -> str:
    """The command line that makes the same looks and prints the same verdict, quoted for a POSIX shell."""
    return shlex.join(["fashionlab", command, *arguments, *judgement.options()])
