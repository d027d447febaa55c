"""The pipeline's stages as functions from the parameters to their output files: what `stages/` runs one
stage per process under `dvc repro`, and `group` runs for several seeds in one process."""
