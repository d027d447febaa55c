"""What the held-out test set says of a trained model (the `evaluate` stage): the scores and the pictures of
its mistakes."""
