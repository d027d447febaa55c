"""What the `fashionlab` command does with finished runs, without TensorFlow: it reads their predictions,
groups seeds into replicates, adds seeds, and compares two revisions or configurations with the statistics
behind the verdict."""
