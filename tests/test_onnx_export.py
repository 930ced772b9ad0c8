"""The Keras-to-ONNX converter behind the site's in-page demos, against Keras itself.

Each model has the layers of a unit's reference model (random weights, random batch statistics),
and onnxruntime must compute what Keras computes on the same inputs."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
onnxruntime = pytest.importorskip("onnxruntime")
from keras import layers

from workshop.site.onnx_export import SUPPORTED_LAYERS, TOLERANCE, ExportError, export, verify


def run_onnx(serialized: bytes, inputs: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(serialized, providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": inputs.astype(np.float32)})[0]


def randomise_batch_statistics(model, rng):
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape),
                    rng.normal(0, 0.2, beta.shape),
                    rng.normal(0, 0.5, mean.shape),
                    rng.uniform(0.5, 2, variance.shape),
                ]
            )


def garment_cnn():  # unit 06
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            layers.Rescaling(1 / 255),
            layers.Reshape((28, 28, 1)),
            layers.RandomFlip("horizontal"),
            layers.Conv2D(8, 3, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 3, use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.2),
            layers.Dense(32, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )


def road_cnn():  # unit 07: colour frames, odd sizes that "same" pooling must get right
    return keras.Sequential(
        [
            keras.Input(shape=(45, 80, 3)),
            layers.Rescaling(1 / 255),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(8, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(16, activation="relu"),
            layers.Dense(1),
        ]
    )


def captcha_reader():  # unit 08: functional, several softmaxes over the last axis
    inputs = keras.Input(shape=(20, 40))
    features = layers.Reshape((20, 40, 1))(inputs)
    features = layers.Rescaling(1 / 255)(features)
    features = layers.Conv2D(4, 3, padding="same", use_bias=False)(features)
    features = layers.BatchNormalization()(features)
    features = layers.ReLU()(features)
    features = layers.MaxPooling2D((2, 2))(features)
    features = layers.Flatten()(features)
    scores = layers.Reshape((4, 10))(layers.Dense(40)(features))
    return keras.Model(inputs, layers.Softmax()(scores))


def window_cnn():  # unit 11: strided convolutions, sigmoid head
    return keras.Sequential(
        [
            keras.Input(shape=(56, 56)),
            layers.Rescaling(1 / 255),
            layers.Reshape((56, 56, 1)),
            layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10, activation="sigmoid"),
        ]
    )


@pytest.mark.parametrize("build", [garment_cnn, road_cnn, captcha_reader, window_cnn])
def test_onnx_computes_what_keras_computes(build):
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    model = build()
    randomise_batch_statistics(model, rng)
    inputs = rng.uniform(0, 255, (5, *model.inputs[0].shape[1:])).astype(np.float32)
    expected = np.asarray(model(inputs, training=False))
    actual = run_onnx(export(model), inputs)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, atol=1e-4, rtol=1e-4)


def test_a_text_model_is_exported_after_its_vectorisation():
    """Unit 10: the page vectorises the review in JavaScript, ONNX takes the TF-IDF vector."""
    keras.utils.set_random_seed(0)
    vectorize = layers.TextVectorization(
        output_mode="tf_idf", ngrams=2, vocabulary=["good", "bad", "not"], idf_weights=[1.0, 2.0, 0.5]
    )
    classifier = keras.Sequential(
        [keras.Input(shape=(4,)), layers.Dense(3, activation="relu"), layers.Dense(1, activation="sigmoid")]
    )
    inputs = keras.Input(shape=(), dtype="string")
    model = keras.Model(inputs, classifier(vectorize(inputs)))
    vectors = np.asarray(vectorize(np.array(["not good", "bad bad film"])))
    actual = run_onnx(export(model, start_after=vectorize), vectors)
    np.testing.assert_allclose(actual, np.asarray(model(np.array(["not good", "bad bad film"]))), atol=1e-5)


def test_a_layer_without_translation_is_refused_by_name():
    model = keras.Sequential([keras.Input(shape=(8, 3)), layers.LSTM(4, name="memory"), layers.Dense(1)])
    with pytest.raises(ExportError, match="memory"):
        export(model)


def test_a_softmax_over_another_axis_is_exported_over_that_axis():
    """Scores of shape (4 characters, 10 classes), normalised over the characters."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input(shape=(8,)), layers.Dense(40), layers.Reshape((4, 10)), layers.Softmax(axis=1)]
    )
    inputs = np.random.default_rng(0).normal(0, 3, (5, 8)).astype(np.float32)
    expected = np.asarray(model(inputs, training=False))
    np.testing.assert_allclose(expected.sum(axis=1), 1, atol=1e-5)  # the subject: a non-last axis
    np.testing.assert_allclose(run_onnx(export(model), inputs), expected, atol=1e-5)


def test_a_softmax_over_several_axes_is_refused_by_name():
    model = keras.Sequential([keras.Input(shape=(4, 10)), layers.Softmax(axis=(1, 2), name="both")])
    with pytest.raises(ExportError, match=r"layer both \(Softmax\): a softmax over several axes"):
        export(model)


def test_a_per_channel_rescaling_is_refused_clearly():
    model = keras.Sequential(
        [keras.Input(shape=(4, 4, 3)), layers.Rescaling([1 / 255, 2 / 255, 3 / 255], name="per_channel")]
    )
    with pytest.raises(ExportError, match="per_channel.*one scale and one offset"):
        export(model)


def test_a_random_crop_to_the_input_size_is_nothing_and_a_smaller_one_is_refused():
    same = keras.Sequential([keras.Input(shape=(6, 8, 1)), layers.RandomCrop(6, 8), layers.Flatten()])
    inputs = np.arange(2 * 48, dtype=np.float32).reshape(2, 6, 8, 1)
    np.testing.assert_array_equal(run_onnx(export(same), inputs), inputs.reshape(2, -1))
    smaller = keras.Sequential([keras.Input(shape=(6, 8, 1)), layers.RandomCrop(4, 4, name="crop"), layers.Flatten()])
    with pytest.raises(ExportError, match=r"crop.*a crop to 4x4 of a 6x8 image is not supported"):
        export(smaller)


def test_every_supported_layer_name_is_a_keras_layer():
    assert isinstance(SUPPORTED_LAYERS, frozenset)
    for name in SUPPORTED_LAYERS:
        assert issubclass(getattr(layers, name), layers.Layer), name
    assert "LSTM" not in SUPPORTED_LAYERS


def test_verify_passes_a_faithful_export_and_stops_a_wrong_one():
    keras.utils.set_random_seed(0)
    model = road_cnn()
    inputs = np.random.default_rng(1).uniform(0, 255, (3, 45, 80, 3)).astype(np.float32)
    serialized = export(model)
    assert verify(model, serialized, inputs) <= TOLERANCE
    # The same graph with one weight changed: what a wrong layout or axis would look like to the page.
    kernel = model.layers[-1].get_weights()
    model.layers[-1].set_weights([kernel[0] + 0.5, kernel[1]])
    with pytest.raises(ExportError, match=r"differs from Keras by .* on its sample inputs \(tolerance 0.001\)"):
        verify(model, serialized, inputs)
