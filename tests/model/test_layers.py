"""fashionlab.model.layers: the custom Dense and LayerNormalization against Keras's, their config and saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from fashionlab.model.layers import Dense, LayerNormalization, std_placement_bound


def _with_weights(layer, features, alpha, beta):
    layer.build((None, features))
    layer.set_weights([np.asarray(alpha, np.float32), np.asarray(beta, np.float32)])
    return layer


def test_known_answer_from_keras_own_test():
    layer = _with_weights(LayerNormalization(0.001, "variance"), 5, np.ones(5), np.ones(5))
    out = layer(np.arange(5, dtype=np.float32)[None])
    np.testing.assert_allclose(out[0], [-0.41386, 0.29307, 1.0, 1.70693, 2.41386], atol=1e-5)


def test_std_placement_is_the_specified_formula():
    x = np.array([[0.0, 1.0, 2.0, 3.0, 4.0]], np.float32)
    layer = _with_weights(LayerNormalization(0.001), 5, [2.0] * 5, [0.5] * 5)
    expected = 2.0 * (x - 2.0) / (np.sqrt(2.0) + 0.001) + 0.5
    np.testing.assert_allclose(layer(x), expected, rtol=1e-6)


def test_weights_are_float32_ones_and_zeros_of_feature_shape():
    layer = LayerNormalization()
    layer.build((None, 3, 7))
    assert [w.name for w in layer.trainable_weights] == ["alpha", "beta"]
    assert layer.alpha.shape == (7,) and layer.alpha.dtype == "float32"
    np.testing.assert_array_equal(layer.alpha.numpy(), np.ones(7))
    np.testing.assert_array_equal(layer.beta.numpy(), np.zeros(7))


def _input_and_weight_gradients(layer, x, upstream):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * upstream)
    return y, tape.gradient(loss, [x, *layer.trainable_weights])


@pytest.mark.parametrize("jit_compile", [False, True], ids=["eager", "xla"])
@pytest.mark.parametrize("placement", ["std", "variance"])
def test_constant_rows_give_finite_outputs_and_gradients(placement, jit_compile):
    layer = _with_weights(LayerNormalization(1e-3, placement), 4, [1.5, 1, 1, 1], [0.1, 0.2, 0.3, 0.4])
    x = tf.constant([[3.0, 3.0, 3.0, 3.0], [0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
    upstream = tf.constant([[1.0, -2.0, 3.0, 0.5]])
    step = tf.function(_input_and_weight_gradients, jit_compile=True) if jit_compile else _input_and_weight_gradients
    y, grads = step(layer, x, upstream)
    np.testing.assert_allclose(y[:2].numpy(), [[0.1, 0.2, 0.3, 0.4]] * 2, atol=1e-7)
    for grad in grads:
        assert np.all(np.isfinite(grad.numpy()))


def test_naive_sqrt_gives_nan_gradients_on_constant_rows_under_xla():
    """Why σ is guarded: √ has an infinite derivative at 0, and XLA turns 0 · ∞ into NaN."""

    @tf.function(jit_compile=True)
    def naive_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            mean, variance = tf.nn.moments(x, axes=-1, keepdims=True)
            loss = tf.reduce_sum((x - mean) / (tf.sqrt(variance) + 1e-3) * tf.constant([[1.0, 2.0, 3.0]]))
        return tape.gradient(loss, x)

    assert np.isnan(naive_gradient(tf.constant([[3.0, 3.0, 3.0]])).numpy()).all()


def test_std_placement_stays_within_the_derived_bound_of_keras():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(256, 64)) * rng.uniform(1e-3, 10, size=(256, 1))).astype(np.float32)
    alpha, beta = rng.uniform(-2, 2, 64), rng.normal(size=64)
    ours = _with_weights(LayerNormalization(1e-3, "std"), 64, alpha, beta)(x).numpy()
    keras_layer = keras.layers.LayerNormalization(epsilon=1e-3)
    keras_layer.build((None, 64))
    keras_layer.set_weights([alpha.astype(np.float32), beta.astype(np.float32)])
    theirs = keras_layer(x).numpy()
    bound = std_placement_bound(x.astype(np.float64).var(axis=-1, keepdims=True), 64, 1e-3, np.abs(alpha).max())
    gap = np.abs(ours - theirs)
    assert np.all(gap <= bound + 1e-5)
    assert gap.max() > 1e-3  # the placements really differ; the bound is not vacuous
    assert np.all(bound < np.abs(alpha).max() * np.sqrt(63))


def test_get_config_is_the_constructor_arguments_and_round_trips():
    layer = LayerNormalization(epsilon=0.01, epsilon_placement="variance", name="n")
    config = layer.get_config()
    assert config["epsilon"] == 0.01 and config["epsilon_placement"] == "variance"
    clone = LayerNormalization.from_config(config)
    assert clone.get_config() == config
    dense = Dense(7, activation="relu", name="d")
    assert Dense.from_config(dense.get_config()).get_config() == dense.get_config()
    assert dense.get_config()["activation"] == "relu"


def test_unknown_placement_is_rejected():
    with pytest.raises(ValueError, match="epsilon_placement"):
        LayerNormalization(epsilon_placement="mean")


def test_compute_output_shape():
    assert LayerNormalization().compute_output_shape((None, 3, 5)) == (None, 3, 5)
    assert Dense(4).compute_output_shape((None, 3, 5)) == (None, 3, 4)


def test_saved_model_reloads_in_safe_mode_without_custom_objects(tmp_path):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((6,))
    x = Dense(5, activation="relu", name="d")(inputs)
    outputs = LayerNormalization(epsilon=0.01, name="n")(x)
    model = keras.Model(inputs, outputs)
    model.get_layer("n").set_weights([np.linspace(0.5, 1.5, 5, dtype=np.float32), np.arange(5, dtype=np.float32)])
    x = np.random.default_rng(0).normal(size=(8, 6)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert isinstance(reloaded.get_layer("n"), LayerNormalization)
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_dense_matches_keras_dense_with_the_same_weights():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 12)).astype(np.float32)
    kernel, bias = rng.normal(size=(12, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    ours, theirs = Dense(4, activation="tanh"), keras.layers.Dense(4, activation="tanh")
    for layer in (ours, theirs):
        layer.build(x.shape)
        layer.set_weights([kernel, bias])
    np.testing.assert_allclose(ours(x), theirs(x), atol=1e-6)


def test_dense_activation_is_a_function_not_a_tuple():
    """The notebook's `tf,keras.activations.get(...)` made a tuple; ours must be callable."""
    layer = Dense(3, activation="relu")
    assert callable(layer.activation)
    assert layer.activation is keras.activations.relu
    assert Dense(3).activation is keras.activations.linear


@pytest.mark.parametrize("policy, dtype", [("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")])
def test_mixed_precision_keeps_float32_weights_and_returns_input_dtype(policy, dtype):
    layer = LayerNormalization(dtype=policy)
    x = tf.cast(tf.constant(np.random.default_rng(3).normal(size=(4, 32)) * 100), dtype)
    y = layer(x)
    assert y.dtype == dtype
    assert layer.alpha.dtype == "float32" and layer.beta.dtype == "float32"
    reference = LayerNormalization()(tf.cast(x, tf.float32))
    np.testing.assert_allclose(tf.cast(y, tf.float32), reference, atol=0.05)


def test_half_input_under_float32_policy_is_returned_in_its_own_dtype():
    y = LayerNormalization()(tf.constant([[1.0, 2.0, 4.0]], tf.float16))
    assert y.dtype == tf.float16


def test_layer_trains_one_step():
    keras.utils.set_random_seed(4)
    layer = LayerNormalization()
    x = tf.constant(np.random.default_rng(4).normal(size=(8, 5)), tf.float32)
    target = tf.ones((8, 5))
    optimizer = keras.optimizers.SGD(0.1)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((layer(x) - target) ** 2)
    optimizer.apply(tape.gradient(loss, layer.trainable_weights), layer.trainable_weights)
    assert not np.allclose(layer.beta.numpy(), 0.0)
    assert float(tf.reduce_mean((layer(x) - target) ** 2)) < float(loss)
