"""What git and DVC hold, read and never changed: revisions, the experiments table and its runs, each run's
predictions, the groups of seeds, and whether the workspace is up to date."""
