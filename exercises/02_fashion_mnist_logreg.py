# %% [markdown]
# # Fashion-MNIST with logistic regression
#
# - **Goal:** `test_accuracy >= 0.84` on the 10,000 held-out test images, scored by the runner
# - **Floor:** 0.10 (always predicting the most frequent training class)
# - **Budget:** 60 s for the whole notebook on a 2-core laptop CPU
# - **Data:** `fashion-mnist` (60,000 training and 10,000 test images, 28x28 grey, 10 classes)
# - **Published:** test accuracy 0.842: logistic regression in the Fashion-MNIST benchmark (Xiao,
#   Rasul and Vollgraf, 2017)
#
# This is the machine-learning recipe at its smallest: a task (Fashion-MNIST), a family of
# models (logistic regression: one softmax layer on the raw pixels), a cost (cross entropy)
# and an optimiser (minibatch stochastic gradient descent). Every later unit changes one of
# these four ingredients, so it pays to see each of them clearly here.
#
# Your model must take the raw images (`uint8` pixel values from 0 to 255, shape 28x28):
# put any preprocessing inside the model, as the solution does with a `Rescaling` layer.

# %% [markdown]
# ## The data
#
# `keras.datasets.fashion_mnist.load_data()` returns the official split. We carve a
# validation set out of the 60,000 training images and leave the test images alone until
# the very end.

# %%
import keras
import numpy as np
from keras import layers
from matplotlib import pyplot as plt

keras.utils.set_random_seed(42)

(x_train_full, y_train_full), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# The last 10,000 training images become the validation set.
x_train, y_train = x_train_full[:-10_000], y_train_full[:-10_000]
x_val, y_val = x_train_full[-10_000:], y_train_full[-10_000:]
print(f"train {x_train.shape}, validation {x_val.shape}, test {x_test.shape}")

# %% [markdown]
# A look at a few training images and their labels:

# %%
figure, axes = plt.subplots(3, 8, figsize=(10, 4.2))
for image, label, axis in zip(x_train, y_train, axes.flat):
    axis.imshow(image, cmap="gray_r")
    axis.set_title(class_names[label], fontsize=8)
    axis.axis("off")
figure.suptitle("Training images and their labels")
plt.show()

# %% [markdown]
# ## The model family: logistic regression
#
# Build `model`, a `keras.Sequential` that takes a 28x28 image (`keras.Input(shape=(28, 28))`),
# scales the pixels to [0, 1] with `layers.Rescaling(1 / 255)`, flattens them into 784 numbers
# and ends in one
# `layers.Dense(10, activation="softmax")`. That single layer *is* multinomial logistic
# regression: 7,850 parameters, one weight per pixel and class plus one bias per class.

# %%
# YOUR CODE HERE
raise NotImplementedError("Complete this cell: see the instructions above it.")
model.summary()

# %% [markdown]
# ## Cost and optimiser
#
# Compile the model with the cross-entropy cost for integer labels
# (`"sparse_categorical_crossentropy"`), the optimiser `keras.optimizers.SGD` and the
# `"accuracy"` metric. Then train it with `model.fit` on the training split, passing the
# validation split as `validation_data`, and keep what `fit` returns in `history`.
# Momentum 0.9 and a learning rate that starts at 0.05 and decays to zero over training
# (`keras.optimizers.schedules.CosineDecay(0.05, decay_steps=decay_steps)`) work well. The
# cell sets the length of the run for you: train for `num_epochs` (30) epochs with
# minibatches of `batch_size` (128) images; `decay_steps` is the number of minibatch steps in
# those epochs, so the rate reaches zero at the very end.

# %%
num_epochs = 30
batch_size = 128
decay_steps = num_epochs * int(np.ceil(len(x_train) / batch_size))  # every step of the run
# YOUR CODE HERE
raise NotImplementedError("Complete this cell: see the instructions above it.")

# %% [markdown]
# ## Learning curves
#
# Training and validation curves that stay close mean the model is not over-fitting; a
# validation curve that flattens tells you more epochs would not help much.

# %%
figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.5))
epochs = np.arange(1, len(history.history["loss"]) + 1)
loss_axis.plot(epochs, history.history["loss"], label="training")
loss_axis.plot(epochs, history.history["val_loss"], label="validation")
loss_axis.set(xlabel="epoch", ylabel="cross entropy", title="Loss")
accuracy_axis.plot(epochs, history.history["accuracy"], label="training")
accuracy_axis.plot(epochs, history.history["val_accuracy"], label="validation")
accuracy_axis.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
for axis in (loss_axis, accuracy_axis):
    axis.grid(alpha=0.3)
    axis.legend()
plt.show()

# %% [markdown]
# ## The test set, once
#
# Only now, with every choice made, do we look at the test images: predicted labels in
# green when right and red when wrong.

# %%
test_probabilities = model.predict(x_test, verbose=0)
test_predictions = test_probabilities.argmax(axis=1)
print(f"test accuracy: {np.mean(test_predictions == y_test):.4f}")

figure, axes = plt.subplots(3, 8, figsize=(10, 4.6))
for image, label, prediction, axis in zip(x_test, y_test, test_predictions, axes.flat):
    axis.imshow(image, cmap="gray_r")
    colour = "tab:green" if prediction == label else "tab:red"
    axis.set_title(f"{class_names[prediction]}\n(true: {class_names[label]})", fontsize=7, color=colour)
    axis.axis("off")
figure.suptitle("Test images with predicted labels")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Check yourself
#
# This compares your validation accuracy, computed exactly as the runner computes test
# accuracy (the most probable class against the true label), with the goal. The official
# score is the runner's: `workshop check` scores your `model` on held-out test data.
#
# With 10,000 validation images the figure has a standard error of about 0.004
# ($\sqrt{p(1-p)/n}$ at $p = 0.85$), and the test set can differ from it by as much again: a
# validation accuracy within a few thousandths of the goal can land on either side of it.

# %%
goal = 0.84  # test_accuracy >= 0.84
val_accuracy = float(np.mean(model.predict(x_val, verbose=0).argmax(axis=1) == y_val))
verdict = "meets" if val_accuracy >= goal else "is below"
print(f"Validation accuracy {val_accuracy:.4f} {verdict} the goal of {goal}.")
print("The official score is the test accuracy the runner measures on held-out data.")
