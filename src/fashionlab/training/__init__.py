"""How the model trains (the `train` stage): the step mechanics, the epoch loop, resuming from checkpoints,
distribution over devices and workers, and the live display."""
