# %% [markdown]
# # A self-driving car: steering from a camera frame
#
# - **Goal:** `test_accuracy >= 0.98` on 5,000 new frames the runner generates with a seed you never see
# - **Budget:** 180 s of training on a 2-core laptop CPU
# - **Data:** `self-driving` (generated: 45x80 colour frames from a car's camera, 3 steering commands)
#
# The course's authors drove a small Raspberry Pi car around a track and recorded, for
# every camera frame, the key they pressed: forward, left or right. A network trained on
# those frames then drove the car by itself. Their recordings are not available, so this
# unit draws its own: road scenes in perspective, with curves, lane markings, shadows,
# changing light, clutter and sensor noise, each labelled with the command that keeps the
# car on the road. You will see why a linear model is not enough here and a small
# convolutional network is.
#
# Your model must take the raw frames (`uint8`, shape 45x80x3) and output three
# probabilities (forward, left, right): put any preprocessing inside the model.

# %% [markdown]
# ## The data
#
# The generator below is plain NumPy. Read it: it is the whole "world" the car lives in.
# The road's centre line is a curve $u(d) = a + b\,(1-d) + c\,(1-d)^2$, where $d$ goes from
# 0 at the horizon to 1 at the bottom of the frame, $a$ is where the car sits in its lane,
# $b$ its heading and $c$ the bend. The command depends on where the road is at a
# *look-ahead* row: left of the car means steer left, right means steer right, close to
# straight ahead means forward. Everything else (colours, light, shadows, blobs, noise) is
# there to make that hard to read off individual pixels.
#
# The runner scores your model on frames from this same generator, drawn with a seed you
# never see, so do not change these cells.

# %% tags=["generator"]
import numpy as np

HEIGHT, WIDTH = 45, 80
COMMANDS = ["forward", "left", "right"]
LOOKAHEAD_DEPTH = 0.45  # the row the driver looks at: 0 is the horizon, 1 the bottom of the frame


def road_geometry(labels, rng):
    """Lane offset a, heading b and bend c of each frame's road, chosen to match its command."""
    count = len(labels)
    # Where the road's centre crosses the look-ahead row, in units of half the frame width.
    # A small gap between the classes gives every frame one right answer.
    target = np.select(
        [labels == 0, labels == 1, labels == 2],
        [rng.uniform(-0.2, 0.2, count), -rng.uniform(0.3, 0.9, count), rng.uniform(0.3, 0.9, count)],
    )
    offset = rng.uniform(-0.35, 0.35, count)
    heading = rng.uniform(-0.5, 0.5, count)
    ahead = 1 - LOOKAHEAD_DEPTH
    bend = (target - offset - heading * ahead) / ahead**2
    return offset, heading, bend


def render(labels, rng):
    """Draw one frame per label; every array has axes (frame, row, column, colour)."""
    count = len(labels)
    offset, heading, bend = (value[:, None, None] for value in road_geometry(labels, rng))
    rows = np.arange(HEIGHT, dtype=np.float32)[None, :, None]
    columns = np.linspace(-1, 1, WIDTH, dtype=np.float32)[None, None, :]
    horizon = rng.uniform(0.25, 0.4, (count, 1, 1)) * HEIGHT
    depth = np.clip((rows - horizon) / (HEIGHT - horizon), 0, 1)
    ground = rows > horizon
    far = 1 - depth
    centre = offset + heading * far + bend * far**2
    half_width = rng.uniform(0.55, 0.8, (count, 1, 1)) * (0.04 + 0.96 * depth)
    across = (columns - centre) / np.maximum(half_width, 1e-3)  # -1 and +1 at the road's edges

    # Sky: blue to grey, lighter towards the horizon.
    haze = rng.uniform(0, 1, (count, 1, 1, 1))
    sky = (1 - haze) * np.array([90.0, 150, 230]) + haze * rng.uniform(150, 230, (count, 1, 1, 1))
    image = sky * (0.8 + 0.3 * rows[..., None] / HEIGHT)
    # Ground: grass, sand, soil or concrete, with a grainy texture.
    palette = np.array([[70.0, 120, 50], [190, 170, 120], [110, 80, 55], [150, 150, 145], [40, 90, 40]])
    ground_colour = palette[rng.integers(0, len(palette), count)][:, None, None, :]
    ground_colour = ground_colour * rng.uniform(0.7, 1.2, (count, 1, 1, 3))
    grain = rng.normal(0, 1, (count, HEIGHT, WIDTH, 1)).astype(np.float32) * rng.uniform(5, 25, (count, 1, 1, 1))
    image = np.where(ground[..., None], ground_colour + grain, image)
    # Road: asphalt, with half the grain.
    asphalt = rng.uniform(50, 120, (count, 1, 1, 1)) + rng.uniform(-10, 10, (count, 1, 1, 3))
    road = ground & (np.abs(across) < 1)
    image = np.where(road[..., None], asphalt + 0.5 * grain, image)
    # Lane markings: solid edge lines and a dashed centre line, white or yellow.
    line_width = 0.09
    edges = ground & (np.abs(np.abs(across) - 0.92) < line_width)
    dash_pattern = (
        np.sin(rng.uniform(8, 14, (count, 1, 1)) / np.maximum(depth, 0.05) + rng.uniform(0, 6.3, (count, 1, 1))) > 0
    )
    has_centre_line = rng.random((count, 1, 1)) < 0.8
    dashes = ground & (np.abs(across) < 0.8 * line_width) & dash_pattern & has_centre_line
    paint = np.where(rng.random((count, 1, 1, 1)) < 0.7, [235.0, 235, 235], [230.0, 200, 60])
    image = np.where((edges | dashes)[..., None], paint, image)
    # Distractors: up to three blobs (cones, puddles, leaves) anywhere below the horizon.
    for _ in range(3):
        present = rng.random((count, 1, 1)) < 0.5
        blob_row = horizon + rng.uniform(0.1, 1, (count, 1, 1)) * (HEIGHT - horizon)
        blob_column = rng.uniform(-1, 1, (count, 1, 1))
        size = rng.uniform(0.5, 3, (count, 1, 1)) * (0.3 + (blob_row - horizon) / HEIGHT)
        inside = ((rows - blob_row) / size) ** 2 + ((columns - blob_column) * WIDTH / (3.2 * size)) ** 2 < 1
        image = np.where((present & inside)[..., None], rng.uniform(0, 255, (count, 1, 1, 3)), image)
    # Shadows: up to two dark slanted bands, cast by trees or posts.
    for _ in range(2):
        present = rng.random((count, 1, 1)) < 0.5
        slope = rng.uniform(-1.5, 1.5, (count, 1, 1))
        position = rng.uniform(-1, 1, (count, 1, 1))
        band_width = rng.uniform(0.05, 0.3, (count, 1, 1))
        band = present & ground & (np.abs(columns - position - slope * (rows / HEIGHT - 0.5)) < band_width)
        image = np.where(band[..., None], image * rng.uniform(0.4, 0.75, (count, 1, 1, 1)), image)
    # Light: overall brightness, a colour cast and light coming from one side.
    brightness = rng.uniform(0.5, 1.3, (count, 1, 1, 1)) * rng.uniform(0.85, 1.15, (count, 1, 1, 3))
    side_light = 1 + rng.uniform(-0.3, 0.3, (count, 1, 1, 1)) * columns[..., None]
    image = image * brightness * side_light
    # Sensor noise.
    image = image + rng.normal(0, 1, image.shape).astype(np.float32) * rng.uniform(2, 12, (count, 1, 1, 1))
    return np.clip(image, 0, 255).astype(np.uint8)


def make_dataset(num_frames, seed):
    """`num_frames` frames (uint8, N x 45 x 80 x 3) and their commands (0 forward, 1 left, 2 right)."""
    rng = np.random.default_rng(seed)
    # About half the frames say "forward", as in the authors' recordings (52.7 %).
    labels = rng.choice(len(COMMANDS), size=num_frames, p=[0.5, 0.25, 0.25])
    # Frames are drawn 1,000 at a time to keep memory small.
    images = np.concatenate([render(labels[start : start + 1000], rng) for start in range(0, num_frames, 1000)])
    return images, labels


# %% [markdown]
# Twenty thousand frames to train on and four thousand to validate with, drawn with two
# different seeds. Drawing them takes about twenty seconds.

# %%
import keras
from keras import layers
from matplotlib import pyplot as plt

keras.utils.set_random_seed(42)

x_train, y_train = make_dataset(20_000, seed=1)
x_val, y_val = make_dataset(4_000, seed=2)
print(f"train {x_train.shape}, validation {x_val.shape}")
print("share of each command in training:", np.round(np.bincount(y_train) / len(y_train), 3))

# %%
# The frames are only 45x80 pixels, so a low resolution shows them all and keeps the notebook small.
figure, axes = plt.subplots(3, 5, figsize=(8, 3.2), dpi=50)
for command, row in enumerate(axes):
    for image, axis in zip(x_train[y_train == command], row):
        axis.imshow(image, interpolation="nearest")
        axis.axis("off")
    row[0].set_title(COMMANDS[command], loc="left", fontsize=9)
figure.suptitle("Training frames, one row per command")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## A baseline: logistic regression
#
# Always start with the simplest model that could work. Build `baseline`: a
# `keras.Sequential` that takes a 45x80x3 frame, rescales it to [0, 1], flattens it and
# ends in `layers.Dense(3, activation="softmax")`. Compile it with Adam (learning rate
# 1e-3), the sparse categorical cross entropy and the accuracy metric, and train it for
# 10 epochs with batches of 128, validating on `(x_val, y_val)`.

# %%
# YOUR CODE HERE
raise NotImplementedError("Complete this cell: see the instructions above it.")
baseline_accuracy = float(np.mean(baseline.predict(x_val, verbose=0).argmax(axis=1) == y_val))
print(f"logistic regression, validation accuracy: {baseline_accuracy:.4f}")

# %% [markdown]
# ## A convolutional network
#
# A weighted sum of pixels cannot say "the road bends left", because the same bend can be
# dark or bright, green-edged or grey-edged, with a shadow across it or not. Convolutions
# detect local patterns (an edge line, a dash) wherever they are, and stacking them builds
# up the shape of the road.
#
# Build `model`: rescaling, then three blocks of `Conv2D` (16, 32 and 64 filters, 3x3,
# `padding="same"`, ReLU) each followed by `MaxPooling2D`, then `Flatten`, a `Dense(64)`
# with ReLU, `Dropout(0.3)` and the softmax layer over three commands. Keep `Flatten`
# rather than global pooling: *where* the road is in the frame is the whole point. Train
# it with Adam for 8 epochs (batches of 64) and keep the `history`.

# %%
# YOUR CODE HERE
raise NotImplementedError("Complete this cell: see the instructions above it.")
model.summary()

# %% [markdown]
# ## How the two compare

# %%
val_predictions = model.predict(x_val, verbose=0).argmax(axis=1)
cnn_accuracy = float(np.mean(val_predictions == y_val))
print(f"validation accuracy: logistic regression {baseline_accuracy:.4f}, CNN {cnn_accuracy:.4f}")
print(f"the CNN is {100 * (cnn_accuracy - baseline_accuracy):.1f} points better")

figure, (curve_axis, matrix_axis) = plt.subplots(1, 2, figsize=(10, 3.6))
epochs = np.arange(1, len(history.history["accuracy"]) + 1)
curve_axis.plot(epochs, history.history["accuracy"], label="CNN, training")
curve_axis.plot(epochs, history.history["val_accuracy"], label="CNN, validation")
curve_axis.axhline(baseline_accuracy, color="grey", linestyle="--", label="logistic regression, validation")
curve_axis.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
curve_axis.grid(alpha=0.3)
curve_axis.legend(fontsize=8)
confusion = np.zeros((3, 3), dtype=int)
np.add.at(confusion, (y_val, val_predictions), 1)
matrix_axis.imshow(confusion, cmap="Blues")
for (true, predicted), number in np.ndenumerate(confusion):
    matrix_axis.text(predicted, true, number, ha="center", va="center", color="black")
matrix_axis.set_xticks(range(3), COMMANDS)
matrix_axis.set_yticks(range(3), COMMANDS)
matrix_axis.set(xlabel="predicted", ylabel="true", title="CNN confusion matrix (validation)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Where the CNN goes wrong
#
# Look at the mistakes before you trust a model on the road. Most sit close to the border
# between two commands, or hide the road under a shadow or a blob.

# %%
wrong = np.flatnonzero(val_predictions != y_val)
print(f"{len(wrong)} of {len(y_val)} validation frames misclassified")
figure, axes = plt.subplots(2, 5, figsize=(8, 2.8), dpi=50)
for index, axis in zip(wrong, axes.flat):
    axis.imshow(x_val[index], interpolation="nearest")
    axis.set_title(f"{COMMANDS[val_predictions[index]]}\n(true: {COMMANDS[y_val[index]]})", fontsize=8, color="tab:red")
for axis in axes.flat:
    axis.axis("off")
figure.suptitle("Misclassified validation frames: predicted (true)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Check yourself
#
# This computes your validation accuracy the way the runner computes test accuracy (the
# most probable command against the true one) and compares it with the goal. The official
# score is the runner's, on frames drawn with a seed you never see.

# %%
goal = 0.98  # test_accuracy >= 0.98
val_accuracy = float(np.mean(model.predict(x_val, verbose=0).argmax(axis=1) == y_val))
verdict = "meets" if val_accuracy >= goal else "is below"
print(f"Validation accuracy {val_accuracy:.4f} {verdict} the goal of {goal}.")
print("The official score is the test accuracy the runner measures on held-out frames.")
