"""The statistics that judge runs, apart from whatever gathers and trains them: per-image results in, frozen
numbers out. Two configurations' groups of seeds (the two-level bootstrap), the planned looks at them (a
group-sequential design), a race of several (comparisons with the best over the same looks), and how often
each is wrong on real runs (calibration). No git, DVC, TensorFlow or processes: NumPy and SciPy only."""
