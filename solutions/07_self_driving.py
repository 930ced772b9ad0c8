# %% [markdown]
# # A self-driving car: the steering angle from a camera frame
#
# - **Goal:** `test_mae <= 2.0` (degrees) on 5,000 new frames the runner generates with a seed you never see
# - **Floor:** 12.76 degrees (always steering the training frames' mean angle)
# - **Budget:** 180 s for the whole notebook on a 2-core laptop CPU
# - **Data:** `self-driving` (generated: 45x80 colour frames from a car's camera, each with its steering angle)
# - **Demo:** `road` (the unit's page runs the trained model in the browser)
# - **Published:** no published error for a generated road; the course authors' car was steered
#   by 3 classes of key presses (a classification, not an angle), and DeepTesla regresses the
#   wheel angle in the browser
#
# The course's authors drove a small Raspberry Pi car around a track and recorded, for every
# camera frame, the key they pressed (forward, left or right); a network trained on those
# frames then drove the car by itself. MIT's DeepTesla went one step further with recordings
# from a Tesla: it predicts the *angle* of the steering wheel from the camera frame. That is
# regression, the task of unit 01, with an image instead of a spec sheet as the input.
#
# Neither recording can be downloaded here, so this unit draws its own frames: roads in
# perspective, with curves, lane markings, shadows, changing light, clutter and sensor noise,
# each labelled with the steering angle in degrees that points the car at the road ahead.
# You will train three models on the same frames, a linear model, an MLP and a small
# convolutional network, and see which family can read a road.
#
# Your model must take the raw frames (`uint8`, shape 45x80x3) and output one number per
# frame, the angle in degrees (negative: left): put any preprocessing inside the model.

# %% [markdown]
# ## The data
#
# The generator below is plain NumPy. Read it: it is the whole "world" the car lives in.
# The road's centre line is a curve $u(d) = a + b\,(1-d) + c\,(1-d)^2$, where $d$ goes from
# 0 at the horizon to 1 at the bottom of the frame, $u$ is measured in half frame widths from
# the middle, $a$ is where the car sits in its lane, $b$ its heading and $c$ the bend. The
# angle depends only on where the road's centre crosses a *look-ahead* row,
# $u^\ast = u(0.45)$: the car steers by $\arctan u^\ast$, towards the point a driver looks at.
# Many roads (different $a$, $b$, $c$) pass through the same point and get the same angle;
# everything else (colours, light, shadows, blobs, noise) is there to make that point hard to
# read off individual pixels.
#
# The runner scores your model on frames from this same generator, drawn with a seed you
# never see, so do not change these cells.

# %% tags=["generator"]
import numpy as np

HEIGHT, WIDTH = 45, 80
LOOKAHEAD_DEPTH = 0.45  # the row the driver looks at: 0 is the horizon, 1 the bottom of the frame


def steering_angle(target):
    """Degrees to turn (negative: left) so that the car heads for the road's centre on the
    look-ahead row, `target` half frame widths to the side of the car."""
    return np.degrees(np.arctan(target))


def road_geometry(target, rng):
    """Lane offset a, heading b and bend c of roads whose centre line crosses the look-ahead row
    at `target`; many different roads lead to the same point."""
    count = len(target)
    offset = rng.uniform(-0.35, 0.35, count)
    heading = rng.uniform(-0.5, 0.5, count)
    ahead = 1 - LOOKAHEAD_DEPTH
    bend = (target - offset - heading * ahead) / ahead**2
    return offset, heading, bend


def render(target, rng):
    """Draw one frame per road; every array has axes (frame, row, column, colour)."""
    count = len(target)
    offset, heading, bend = (value[:, None, None] for value in road_geometry(target, rng))
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
    """`num_frames` frames (uint8, N x 45 x 80 x 3) and their steering angles in degrees (float32, N)."""
    rng = np.random.default_rng(seed)
    # Mostly gentle steering, sometimes sharp, as on a real track: where the road's centre
    # crosses the look-ahead row, in half frame widths (at most 0.9, about 42 degrees).
    target = np.clip(rng.normal(0, 0.3, num_frames), -0.9, 0.9)
    # Frames are drawn 1,000 at a time to keep memory small.
    images = np.concatenate([render(target[start : start + 1000], rng) for start in range(0, num_frames, 1000)])
    return images, steering_angle(target).astype(np.float32)


# %% [markdown]
# Twenty thousand frames to train on and four thousand to validate with, drawn with two
# different seeds.

# %%
import time

import keras
from keras import layers
from matplotlib import pyplot as plt

keras.utils.set_random_seed(42)

x_train, y_train = make_dataset(20_000, seed=1)
x_val, y_val = make_dataset(4_000, seed=2)
print(f"train {x_train.shape}, validation {x_val.shape}")
print(
    f"angles: mean {y_train.mean():+.1f}, standard deviation {y_train.std():.1f}, range {y_train.min():.0f} to {y_train.max():.0f} degrees"
)

# %%
# The frames are only 45x80 pixels, so a low resolution shows them all and keeps the notebook small.
order = np.argsort(y_train[:15])
figure = plt.figure(figsize=(10, 3.4), dpi=60)
grid = figure.add_gridspec(3, 8)
for position, index in enumerate(order):
    axis = figure.add_subplot(grid[position // 5, position % 5])
    axis.imshow(x_train[index], interpolation="nearest")
    axis.set_title(f"{y_train[index]:+.0f}\N{DEGREE SIGN}", fontsize=9)
    axis.axis("off")
histogram = figure.add_subplot(grid[:, 5:])
histogram.hist(y_train, bins=40, color="tab:blue")
histogram.set(xlabel="steering angle (degrees, negative: left)", ylabel="frames", title="Angles in training")
figure.suptitle("Training frames, sorted from hard left to hard right")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## What "good" means
#
# Before training anything, measure the simplest guess: always drive straight (0 degrees), or
# always steer by the average angle. A model is only worth its cost if it beats these by far.

# %%
straight_mae = float(np.mean(np.abs(y_val)))
mean_mae = float(np.mean(np.abs(y_val - y_train.mean())))
print(f"always straight: validation MAE {straight_mae:.2f} degrees; always the mean angle: {mean_mae:.2f} degrees")

# %% [markdown]
# ## Three families, one recipe
#
# To compare model families fairly, train them all the same way: Adam with a learning rate
# that starts at 0.002 and decays to zero along a cosine, the mean squared error as the loss
# (as in unit 01: smooth, and large errors weigh most) and the mean absolute error in degrees
# as the number we read. The function below does that and measures the training time.


# %%
def train(model, epochs, batch_size):
    """Train `model` on the training frames with the shared recipe; return its history and seconds."""
    steps = epochs * int(np.ceil(len(x_train) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse", metrics=["mae"])
    started = time.monotonic()
    history = model.fit(
        x_train, y_train, batch_size=batch_size, epochs=epochs, validation_data=(x_val, y_val), verbose=2
    )
    return history, time.monotonic() - started


# %% [markdown]
# **A linear model.** Build `linear`: a `keras.Sequential` that takes a 45x80x3 frame
# (`keras.Input(shape=(HEIGHT, WIDTH, 3))`), rescales it to [0, 1] with
# `layers.Rescaling(1 / 255)`,
# flattens it and ends in `layers.Dense(1)`: one weighted sum of the 10,800 pixel values, the
# model of unit 01. Train it with `train(linear, epochs=3, batch_size=128)` and keep the
# history and seconds in `linear_history, linear_seconds`.

# %%
### BEGIN SOLUTION
linear = keras.Sequential(
    [
        keras.Input(shape=(HEIGHT, WIDTH, 3)),
        layers.Rescaling(1 / 255),
        layers.Flatten(),
        layers.Dense(1),
    ],
    name="linear",
)
linear_history, linear_seconds = train(linear, epochs=3, batch_size=128)
### END SOLUTION

# %% [markdown]
# **An MLP.** Build `mlp`: the same input, rescaling (`layers.Rescaling(1 / 255)`) and
# flattening, then two hidden layers,
# `layers.Dense(256, activation="relu")` and `layers.Dense(64, activation="relu")`, and
# `layers.Dense(1)`. Train it the same way: `mlp_history, mlp_seconds = train(mlp,
# epochs=3, batch_size=128)`.

# %%
### BEGIN SOLUTION
mlp = keras.Sequential(
    [
        keras.Input(shape=(HEIGHT, WIDTH, 3)),
        layers.Rescaling(1 / 255),
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dense(64, activation="relu"),
        layers.Dense(1),
    ],
    name="mlp",
)
mlp_history, mlp_seconds = train(mlp, epochs=3, batch_size=128)
### END SOLUTION

# %% [markdown]
# **A convolutional network.** A weighted sum of pixels cannot say "the road bends left",
# because the same bend can be dark or bright, green-edged or grey-edged, with a shadow across
# it or not. Convolutions detect local patterns (an edge line, a dash) wherever they are, and
# stacking them builds up the shape of the road.
#
# Build `model`: the same input and `layers.Rescaling(1 / 255)`, then three blocks of `layers.Conv2D` (16, 32 and 64 filters, 3x3,
# `padding="same"`, ReLU) each followed by `layers.MaxPooling2D()`, then `layers.Flatten()`, a
# `layers.Dense(64, activation="relu")`, `layers.Dropout(0.3)` and `layers.Dense(1)`. Keep `Flatten` rather than
# global pooling: *where* the road is in the frame is the whole point. Train it with
# `history, cnn_seconds = train(model, epochs=4, batch_size=64)`.

# %%
### BEGIN SOLUTION
model = keras.Sequential(
    [
        keras.Input(shape=(HEIGHT, WIDTH, 3)),
        layers.Rescaling(1 / 255),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(1),
    ],
    name="steering_cnn",
)
history, cnn_seconds = train(model, epochs=4, batch_size=64)
### END SOLUTION
model.summary()

# %% [markdown]
# ## Side by side
#
# The same frames, the same recipe, three families. The table is what the course records for
# this unit: the linear model and the MLP are far from the goal.

# %%
families = {"linear model": (linear, linear_seconds), "MLP": (mlp, mlp_seconds), "CNN": (model, cnn_seconds)}
val_predictions = {name: network.predict(x_val, verbose=0)[:, 0] for name, (network, _) in families.items()}
val_mae = {name: float(np.mean(np.abs(predicted - y_val))) for name, predicted in val_predictions.items()}
print(f"{'model':<14} {'parameters':>10} {'val MAE':>8} {'seconds':>8}")
for name, (network, seconds) in families.items():
    print(f"{name:<14} {network.count_params():>10,} {val_mae[name]:>8.2f} {seconds:>8.1f}")

figure, axes = plt.subplots(1, 3, figsize=(11, 3.6), sharex=True, sharey=True)
limit = float(np.abs(y_val).max())
for axis, (name, predicted) in zip(axes, val_predictions.items()):
    axis.scatter(y_val, predicted, s=3, alpha=0.3)
    axis.plot([-limit, limit], [-limit, limit], color="grey", linewidth=1)
    axis.set(title=f"{name}: MAE {val_mae[name]:.2f}\N{DEGREE SIGN}", xlabel="true angle (degrees)")
    axis.grid(alpha=0.3)
axes[0].set_ylabel("predicted angle (degrees)")
figure.suptitle("Predicted against true steering angle on the validation frames (on the line: perfect)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Where the CNN goes wrong
#
# Look at the worst frames before you trust a model on the road. Large errors usually hide
# the road under a shadow or a blob, or come from the sharpest bends, which are rare in
# training.

# %%
errors = np.abs(val_predictions["CNN"] - y_val)
worst = np.argsort(errors)[::-1][:10]
print(
    f"CNN errors: median {np.median(errors):.2f}, 95th percentile {np.percentile(errors, 95):.2f}, worst {errors.max():.1f} degrees"
)
figure, axes = plt.subplots(2, 5, figsize=(8, 2.9), dpi=60)
for index, axis in zip(worst, axes.flat):
    axis.imshow(x_val[index], interpolation="nearest")
    axis.set_title(
        f"{val_predictions['CNN'][index]:+.0f}\N{DEGREE SIGN} (true {y_val[index]:+.0f}\N{DEGREE SIGN})", fontsize=8
    )
    axis.axis("off")
figure.suptitle("The CNN's ten worst validation frames: predicted (true) angle")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Check yourself
#
# This computes your model's mean absolute error on the validation frames, the way the runner
# computes it on its own frames, and compares it with the goal. The 4,000 validation frames
# give the figure to within about 0.05 degrees; the official score is the runner's, on
# frames drawn with a seed you never see.

# %%
goal = 2.0  # test_mae <= 2.0
val_mae_model = float(np.mean(np.abs(model.predict(x_val, verbose=0)[:, 0] - y_val)))
verdict = "meets" if val_mae_model <= goal else "does not meet"
print(f"Validation MAE {val_mae_model:.2f} degrees {verdict} the goal of {goal}.")
print("The official score is the runner's, on held-out frames.")
