"""fashionlab: a reproducible Fashion-MNIST pipeline with custom Keras layers and a hand-written loop."""
