"""fashionlab: a reproducible Fashion-MNIST pipeline with custom Keras layers and a hand-written loop."""

import os

# TensorFlow's C++ start-up notices (oneDNN, CPU features) would bury the stages' own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
