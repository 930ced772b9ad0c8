"""Keras models to ONNX, for the course site's in-page demos (run there by onnxruntime-web).

The course's models are chains of standard layers, and this converter covers exactly those
(``SUPPORTED_LAYERS``): ``Rescaling``, ``Reshape``, ``Flatten``, ``Dense``, ``Conv2D``,
``BatchNormalization``, ``MaxPooling2D``, ``GlobalAveragePooling2D``, ``Activation``/``ReLU``/
``Softmax`` and the layers that do nothing at inference (``Dropout``, the random augmentations,
``RandomCrop`` to the input's own size). Anything else, and any setting of these layers it does not
translate (a per-channel ``Rescaling``, a ``Softmax`` over several axes), is refused with one
``ExportError`` naming the layer, never converted approximately.

``verify`` runs the exported model with onnxruntime beside Keras on the same inputs: the site's
build calls it on each demo's sample inputs before a page uses the model, and stops on a mismatch. (tf2onnx, the usual route, pins a protobuf
older than the one TensorFlow 2.21 needs, so it cannot be installed beside it.)

Keras keeps images as NHWC, ONNX convolutions want NCHW: the graph transposes into NCHW before a
convolution or pooling and back before anything that depends on the order of the features
(``Flatten``, ``Dense``), so the exported model computes what Keras computes, to float rounding.
"""

from __future__ import annotations

import numpy as np

OPSET = 17
IR_VERSION = 8  # read by every onnxruntime(-web) of the last three years
# Layers that compute nothing at inference (``RandomCrop`` is not one of them: see ``export``).
INFERENCE_IDENTITY = frozenset(
    {
        "Dropout",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "GaussianNoise",
        "GaussianDropout",
        "AlphaDropout",
        "RandomFlip",
        "RandomRotation",
        "RandomTranslation",
        "RandomZoom",
        "RandomContrast",
        "RandomBrightness",
        "InputLayer",
    }
)
# The Keras layer class names ``export`` translates (some settings of them are still refused, with
# the reason). ``TextVectorization`` only as the layer the ONNX graph starts after (``start_after``):
# the page vectorises in JavaScript. ``RandomCrop`` only when it crops to the input's own size.
# ``workshop units --check`` reads this to tell whether a unit's demo can be exported.
SUPPORTED_LAYERS = frozenset(
    INFERENCE_IDENTITY
    | {
        "Rescaling",
        "Reshape",
        "Flatten",
        "Dense",
        "Conv2D",
        "BatchNormalization",
        "MaxPooling2D",
        "GlobalAveragePooling2D",
        "Activation",
        "ReLU",
        "Softmax",
        "RandomCrop",
        "TextVectorization",
    }
)
# The largest difference ``verify`` accepts between Keras' and onnxruntime's outputs (probabilities,
# or a steering angle in degrees that the page shows with one decimal): float32 rounding stays
# well under it, a wrong layout, axis or weight does not.
TOLERANCE = 1e-3
ACTIVATIONS = {"linear": None, "relu": "Relu", "sigmoid": "Sigmoid", "softmax": "Softmax", "tanh": "Tanh"}


class ExportError(Exception):
    """The model has a layer (or a layer setting) this converter does not translate."""


def chain_of_layers(model) -> list:
    """The model's layers in order, nested Sequential models opened up. Only chains (each layer
    feeding the next) are accepted: that is what every model of the course is."""
    import keras

    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.Sequential):
            layers += chain_of_layers(layer)
        elif isinstance(layer, keras.Model):
            raise ExportError(f"{layer.name}: nested functional models are not supported")
        else:
            layers.append(layer)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ExportError(f"{model.name}: only models with one input and one output are supported")
    return layers


class _Graph:
    def __init__(self):
        self.nodes, self.initializers, self.count = [], [], 0
        self.layout = "keras"  # or "nchw" while between convolutions

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def constant(self, value, hint: str) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attributes) -> str:
        from onnx import helper

        output = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [output], **attributes))
        return output


def _to(graph: _Graph, tensor: str, layout: str, rank: int) -> str:
    """``tensor`` in ``layout`` (images only: rank 4)."""
    if graph.layout == layout or rank != 4:
        return tensor
    graph.layout = layout
    return graph.op("Transpose", [tensor], perm=[0, 3, 1, 2] if layout == "nchw" else [0, 2, 3, 1])


def _activation(graph: _Graph, tensor: str, activation, where: str, rank: int) -> str:
    name = getattr(activation, "__name__", str(activation))
    if name not in ACTIVATIONS:
        raise ExportError(f"{where}: activation {name!r} is not supported")
    op_type = ACTIVATIONS[name]
    if op_type is None:
        return tensor
    if op_type == "Softmax":
        tensor = _to(graph, tensor, "keras", rank)
        return graph.op("Softmax", [tensor], axis=-1)
    return graph.op(op_type, [tensor])


def _padding(layer) -> str:
    if layer.padding not in ("same", "valid"):
        raise ExportError(f"{layer.name}: padding {layer.padding!r} is not supported")
    return "SAME_UPPER" if layer.padding == "same" else "VALID"  # Keras' "same" pads the end more


def export(model, input_shape: tuple[int, ...] | None = None, start_after=None) -> bytes:
    """The ONNX model (serialized) computing ``model`` on float32 inputs of ``input_shape``
    (the model's own by default). ``start_after``: a layer whose output is the ONNX input
    (for example a ``TextVectorization`` that the page does in JavaScript)."""
    from onnx import TensorProto, checker, helper

    layers = chain_of_layers(model)
    if start_after is not None:
        layers = layers[layers.index(start_after) + 1 :]
        input_shape = tuple(start_after.compute_output_shape((None,))[1:]) if input_shape is None else input_shape
    if input_shape is None:
        input_shape = tuple(model.inputs[0].shape[1:])
    graph = _Graph()
    tensor, rank = "input", 1 + len(input_shape)
    for layer in layers:
        kind = type(layer).__name__
        where = f"layer {layer.name} ({kind})"
        if kind in INFERENCE_IDENTITY:
            continue
        if kind == "RandomCrop":
            # At inference Keras' documentation says "center-crop and resize", while Keras 3.15
            # passes the image through unchanged: only a crop to the input's own size means the same
            # in both, so that is the only one translated (as nothing).
            size = (layer.height, layer.width)
            if tuple(image_size(layer)) != size:
                raise ExportError(
                    f"{where}: a crop to {size[0]}x{size[1]} of a {'x'.join(map(str, image_size(layer)))} image is "
                    "not supported (Keras versions disagree on what it does at inference); crop in the data pipeline"
                )
            continue
        if kind == "TextVectorization":
            raise ExportError(f"{where}: text is vectorised by the page; export the layers after it (start_after)")
        if kind == "Rescaling":
            scale, offset = (np.asarray(value, np.float32) for value in (layer.scale, layer.offset))
            if scale.size != 1 or offset.size != 1:
                raise ExportError(f"{where}: only one scale and one offset for all channels are supported")
            tensor = graph.op("Mul", [tensor, graph.constant(scale.reshape(()), "scale")])
            tensor = graph.op("Add", [tensor, graph.constant(offset.reshape(()), "offset")])
        elif kind == "Reshape":
            tensor = _to(graph, tensor, "keras", rank)
            target = [0, *layer.target_shape]
            tensor = graph.op("Reshape", [tensor, graph.constant(np.array(target, np.int64), "shape")])
            rank = len(target)
        elif kind == "Flatten":
            tensor = _to(graph, tensor, "keras", rank)
            tensor, rank = graph.op("Flatten", [tensor], axis=1), 2
        elif kind == "Dense":
            if rank != 2:
                raise ExportError(f"{where}: only Dense on flat inputs is supported")
            kernel, *bias = (np.asarray(w, np.float32) for w in layer.get_weights())
            tensor = graph.op("MatMul", [tensor, graph.constant(kernel, "kernel")])
            if bias:
                tensor = graph.op("Add", [tensor, graph.constant(bias[0], "bias")])
            tensor = _activation(graph, tensor, layer.activation, where, rank)
        elif kind == "Conv2D":
            if layer.data_format != "channels_last" or layer.groups != 1:
                raise ExportError(f"{where}: only channels_last, ungrouped convolutions are supported")
            kernel, *bias = (np.asarray(w, np.float32) for w in layer.get_weights())
            tensor = _to(graph, tensor, "nchw", rank)
            inputs = [tensor, graph.constant(kernel.transpose(3, 2, 0, 1), "kernel")]  # HWIO -> OIHW
            if bias:
                inputs.append(graph.constant(bias[0], "bias"))
            tensor = graph.op(
                "Conv",
                inputs,
                kernel_shape=list(layer.kernel_size),
                strides=list(layer.strides),
                dilations=list(layer.dilation_rate),
                auto_pad=_padding(layer),
            )
            tensor = _activation(graph, tensor, layer.activation, where, rank)
        elif kind == "BatchNormalization":
            if layer.axis not in (-1, rank - 1, [rank - 1], [-1]):
                raise ExportError(f"{where}: only normalisation over the last axis is supported")
            weights = {w.path.rsplit("/", 1)[-1]: np.asarray(w, np.float32) for w in layer.weights}
            channels = weights["moving_mean"].shape[0]
            tensor = _to(graph, tensor, "nchw", rank)
            tensor = graph.op(
                "BatchNormalization",
                [
                    tensor,
                    graph.constant(weights.get("gamma", np.ones(channels, np.float32)), "gamma"),
                    graph.constant(weights.get("beta", np.zeros(channels, np.float32)), "beta"),
                    graph.constant(weights["moving_mean"], "mean"),
                    graph.constant(weights["moving_variance"], "variance"),
                ],
                epsilon=float(layer.epsilon),
            )
        elif kind == "MaxPooling2D":
            tensor = _to(graph, tensor, "nchw", rank)
            tensor = graph.op(
                "MaxPool",
                [tensor],
                kernel_shape=list(layer.pool_size),
                strides=list(layer.strides),
                auto_pad=_padding(layer),
            )
        elif kind == "GlobalAveragePooling2D":
            tensor = _to(graph, tensor, "nchw", rank)
            tensor = graph.op("GlobalAveragePool", [tensor])
            graph.layout = "keras"
            tensor, rank = graph.op("Flatten", [tensor], axis=1), 2
        elif kind == "Activation":
            tensor = _activation(graph, tensor, layer.activation, where, rank)
        elif kind == "ReLU":
            if layer.max_value is not None or layer.negative_slope or layer.threshold:
                raise ExportError(f"{where}: only the plain ReLU is supported")
            tensor = graph.op("Relu", [tensor])
        elif kind == "Softmax":
            axis = layer.axis
            if isinstance(axis, (list, tuple)):
                if len(axis) != 1:
                    raise ExportError(f"{where}: a softmax over several axes {tuple(axis)} is not supported")
                (axis,) = axis
            if not -rank < axis < rank or axis == 0 or axis == -rank:
                raise ExportError(f"{where}: softmax axis {axis} is not a feature axis of a rank-{rank} tensor")
            tensor = _to(graph, tensor, "keras", rank)  # Keras' axis numbers count in Keras' layout
            tensor = graph.op("Softmax", [tensor], axis=int(axis))
        else:
            raise ExportError(f"{where} has no ONNX translation here")
    tensor = _to(graph, tensor, "keras", rank)
    graph.nodes.append(helper.make_node("Identity", [tensor], ["output"]))
    onnx_graph = helper.make_graph(
        graph.nodes,
        model.name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", *input_shape])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", *model.outputs[0].shape[1:]])],
        graph.initializers,
    )
    onnx_model = helper.make_model(
        onnx_graph, producer_name="keras-workshop", opset_imports=[helper.make_opsetid("", OPSET)]
    )
    onnx_model.ir_version = IR_VERSION
    checker.check_model(onnx_model)
    return onnx_model.SerializeToString()


def image_size(layer) -> tuple[int, ...]:
    """The (height, width) of the images a layer receives in its model."""
    try:
        shape = layer.input.shape
    except (AttributeError, ValueError):
        raise ExportError(f"layer {layer.name}: its input shape is unknown (is it part of a built model?)") from None
    return tuple(shape[1:3])


def run_onnx(serialized: bytes, inputs: np.ndarray) -> np.ndarray:
    """The exported model's output on ``inputs``, computed by onnxruntime (what the page runs)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(serialized, providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": np.asarray(inputs, np.float32)})[0]


def verify(model, serialized: bytes, keras_inputs, onnx_inputs=None, tolerance: float = TOLERANCE) -> float:
    """The largest difference between Keras' outputs on ``keras_inputs`` and the exported model's on
    ``onnx_inputs`` (the same inputs by default; for a text model, the page's vectors of the same
    texts), and an ``ExportError`` when it exceeds ``tolerance``."""
    expected = np.asarray(model(keras_inputs, training=False), np.float32)
    actual = run_onnx(serialized, keras_inputs if onnx_inputs is None else onnx_inputs)
    if actual.shape != expected.shape:
        raise ExportError(
            f"{model.name}: the ONNX export gives outputs of shape {actual.shape}, Keras {expected.shape}"
        )
    difference = float(np.max(np.abs(actual - expected))) if expected.size else 0.0
    if not difference <= tolerance:  # also catches NaN
        raise ExportError(
            f"{model.name}: the ONNX export differs from Keras by {difference:.3g} on its sample inputs "
            f"(tolerance {tolerance:g}); the page would show answers the model does not give"
        )
    return difference
