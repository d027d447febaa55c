"""What trains: the custom `Dense` and `LayerNormalization` layers, the MLP built from them, and the parity
measurement that holds the layers to Keras's own (the `parity` stage)."""
