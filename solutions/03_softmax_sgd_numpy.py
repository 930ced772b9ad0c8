# %% [markdown]
# # Softmax regression from scratch in NumPy
#
# - **Goal:** `test_accuracy >= 0.835` on the 10,000 held-out test images, scored by the runner
# - **Floor:** 0.10 (always predicting the most frequent training class)
# - **Budget:** 90 s for the whole notebook on a 2-core laptop CPU
# - **Data:** `fashion-mnist` (60,000 training and 10,000 test images, 28x28 grey, 10 classes)
# - **Published:** test accuracy about 0.84: logistic regression (Xiao, Rasul and Vollgraf, 2017)
#
# Unit 02 let Keras compute the cross entropy and its gradient. Here you write them yourself
# in NumPy: the softmax, the loss, the gradient of the loss with respect to the weights, and
# the minibatch stochastic gradient descent loop that uses it. Two checks keep you honest:
# your loss must agree with Keras' and your gradient with a numerical one. Nothing here is
# magic; after this unit, `model.fit` is a loop you could have written.
#
# The trained weights end up in a Keras model named `model` (Rescaling, Flatten, one softmax
# Dense layer), which takes the raw `uint8` images, so the runner can score it.

# %% [markdown]
# ## The data
#
# The same split as in unit 02, then one row of 784 numbers in [0, 1] per image.

# %%
import keras
import numpy as np
from keras import layers
from matplotlib import pyplot as plt

keras.utils.set_random_seed(42)
rng = np.random.default_rng(42)

(x_train_full, y_train_full), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
x_train, y_train = x_train_full[:-10_000], y_train_full[:-10_000]
x_val, y_val = x_train_full[-10_000:], y_train_full[-10_000:]

features_train = x_train.reshape(len(x_train), -1).astype("float32") / 255
features_val = x_val.reshape(len(x_val), -1).astype("float32") / 255
num_features, num_classes = features_train.shape[1], 10
print(f"train {features_train.shape}, validation {features_val.shape}")

# %% [markdown]
# ## Softmax
#
# Write `softmax(logits)` for a batch of logits of shape (examples, classes): exponentiate
# and divide each row by its sum. Subtract each row's maximum first; the result is the same,
# and `np.exp` can no longer overflow.


# %%
def softmax(logits):
    ### BEGIN SOLUTION
    shifted = logits - logits.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=1, keepdims=True)
    ### END SOLUTION


probabilities = softmax(np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]]))
print(probabilities.round(4))
assert np.allclose(probabilities.sum(axis=1), 1.0)

# %% [markdown]
# ## The cost and its gradient
#
# With weights `weights` (784 x 10) and biases `biases` (10,), the model's probabilities are
# `softmax(features @ weights + biases)`. Write `cross_entropy(weights, biases, features,
# labels)`: the mean over the examples of $-\log p_{i, y_i}$, the probability the model gives
# to each example's true class. Then write `gradients(weights, biases, features, labels)`,
# which returns the loss's gradient with respect to the weights and the biases. With $P$ the
# matrix of probabilities and $Y$ the one-hot labels, both of shape (examples, 10):
#
# $$\frac{\partial L}{\partial W} = \frac{1}{N} X^\top (P - Y), \qquad
# \frac{\partial L}{\partial b} = \frac{1}{N} \sum_i (P - Y)_i .$$


# %%
def cross_entropy(weights, biases, features, labels):
    ### BEGIN SOLUTION
    probabilities = softmax(features @ weights + biases)
    true_class_probabilities = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(true_class_probabilities)))
    ### END SOLUTION


def gradients(weights, biases, features, labels):
    ### BEGIN SOLUTION
    errors = softmax(features @ weights + biases)
    errors[np.arange(len(labels)), labels] -= 1.0
    errors /= len(labels)
    return features.T @ errors, errors.sum(axis=0)
    ### END SOLUTION


# With all weights zero every class gets probability 1/10, so the loss is log 10.
zero_weights, zero_biases = np.zeros((num_features, num_classes)), np.zeros(num_classes)
print(
    f"loss with zero weights: {cross_entropy(zero_weights, zero_biases, features_train, y_train):.4f}, "
    f"log 10 = {np.log(10):.4f}"
)
zero_weight_gradient, zero_bias_gradient = gradients(zero_weights, zero_biases, features_train[:100], y_train[:100])
print(f"gradient shapes: {zero_weight_gradient.shape} and {zero_bias_gradient.shape}")

# %% [markdown]
# ## Two checks
#
# First, your loss against Keras' `SparseCategoricalCrossentropy` on the same random weights
# and the same 500 images. Second, your gradient against a numerical one: nudge a single
# weight up and down by $\varepsilon$ and measure how the loss changes,
# $\frac{L(w + \varepsilon) - L(w - \varepsilon)}{2 \varepsilon}$ (central differences). In
# float64 the two agree to many digits when the gradient is right.

# %%
check_weights = rng.normal(0, 0.05, (num_features, num_classes))
check_biases = rng.normal(0, 0.05, num_classes)
check_features = features_train[:500].astype("float64")
check_labels = y_train[:500]

our_loss = cross_entropy(check_weights, check_biases, check_features, check_labels)
keras_loss = float(
    keras.losses.SparseCategoricalCrossentropy()(
        check_labels, softmax(check_features @ check_weights + check_biases).astype("float32")
    )
)
print(f"our loss {our_loss:.7f}, Keras {keras_loss:.7f}")
assert abs(our_loss - keras_loss) < 1e-5, "the loss does not match Keras' cross entropy"

weight_gradient, bias_gradient = gradients(check_weights, check_biases, check_features, check_labels)
epsilon = 1e-5
for row, column in [(300, 0), (400, 3), (500, 7), (650, 9)]:
    nudged_up, nudged_down = check_weights.copy(), check_weights.copy()
    nudged_up[row, column] += epsilon
    nudged_down[row, column] -= epsilon
    numerical = (
        cross_entropy(nudged_up, check_biases, check_features, check_labels)
        - cross_entropy(nudged_down, check_biases, check_features, check_labels)
    ) / (2 * epsilon)
    print(f"weight ({row}, {column}): analytic {weight_gradient[row, column]:+.8f}, numerical {numerical:+.8f}")
    assert abs(numerical - weight_gradient[row, column]) < 1e-6, "the weight gradient is wrong"
for column in [0, 5]:
    nudged_up, nudged_down = check_biases.copy(), check_biases.copy()
    nudged_up[column] += epsilon
    nudged_down[column] -= epsilon
    numerical = (
        cross_entropy(check_weights, nudged_up, check_features, check_labels)
        - cross_entropy(check_weights, nudged_down, check_features, check_labels)
    ) / (2 * epsilon)
    assert abs(numerical - bias_gradient[column]) < 1e-6, "the bias gradient is wrong"
print("The loss and the gradient pass both checks.")

# %% [markdown]
# ## Minibatch stochastic gradient descent
#
# Train `weights` and `biases` (start from zeros) with a loop over epochs; in each epoch,
# shuffle the training examples, cut them into minibatches of `batch_size`, and for each
# minibatch take one step `weights -= learning_rate * weight_gradient` (the same for the
# biases). Record the training loss and the validation loss after each epoch in the lists
# `train_losses` and `val_losses`. A learning rate of 0.1 that decays to zero along a cosine
# over training, minibatches of 128 and 30 epochs work well. Larger rates
# reach about the same accuracy but are too large for the first epochs: at 0.3 or 0.5 the
# training loss jumps back up for an epoch or two, which looks like a bug in the gradient and
# is only a step that overshoots. Small ripples at 0.1 are the noise
# of the minibatches.

# %%
### BEGIN SOLUTION
num_epochs = 30
batch_size = 128
initial_learning_rate = 0.1
steps_per_epoch = int(np.ceil(len(features_train) / batch_size))
total_steps = num_epochs * steps_per_epoch

weights = np.zeros((num_features, num_classes), dtype="float32")
biases = np.zeros(num_classes, dtype="float32")
train_losses, val_losses = [], []
step = 0
for epoch in range(num_epochs):
    order = rng.permutation(len(features_train))
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        # Cosine decay: the step size shrinks smoothly from its initial value to zero.
        learning_rate = initial_learning_rate * 0.5 * (1 + np.cos(np.pi * step / total_steps))
        weight_gradient, bias_gradient = gradients(weights, biases, features_train[batch], y_train[batch])
        weights -= learning_rate * weight_gradient
        biases -= learning_rate * bias_gradient
        step += 1
    train_losses.append(cross_entropy(weights, biases, features_train, y_train))
    val_losses.append(cross_entropy(weights, biases, features_val, y_val))
    print(f"epoch {epoch + 1:2d}: training loss {train_losses[-1]:.4f}, validation loss {val_losses[-1]:.4f}")
### END SOLUTION

# %% [markdown]
# ## What the weights learned
#
# Each class has one weight per pixel, so each class's weights can be drawn as an image:
# red pixels push towards the class, blue ones away from it. A logistic regression learns one
# template per class.

# %%
figure, loss_axis = plt.subplots(figsize=(6, 3.4))
epochs = np.arange(1, len(train_losses) + 1)
loss_axis.plot(epochs, train_losses, label="training")
loss_axis.plot(epochs, val_losses, label="validation")
loss_axis.set(xlabel="epoch", ylabel="cross entropy", title="Loss of your SGD loop")
loss_axis.grid(alpha=0.3)
loss_axis.legend()
plt.show()

limit = np.abs(weights).max()
figure, axes = plt.subplots(2, 5, figsize=(10, 4.4))
for class_index, axis in enumerate(axes.flat):
    axis.imshow(weights[:, class_index].reshape(28, 28), cmap="RdBu_r", vmin=-limit, vmax=limit)
    axis.set_title(class_names[class_index], fontsize=9)
    axis.axis("off")
figure.suptitle("One weight template per class")
plt.show()

# %% [markdown]
# ## Into a Keras model
#
# The runner scores Keras models, so we put the weights into one: the same architecture as
# unit 02, whose `Dense` layer holds exactly a (784, 10) kernel and a (10,) bias.

# %%
model = keras.Sequential(
    [
        keras.Input(shape=(28, 28)),
        layers.Rescaling(1 / 255),
        layers.Flatten(),
        layers.Dense(num_classes, activation="softmax"),
    ],
    name="numpy_softmax_regression",
)
model.layers[-1].set_weights([weights.astype("float32"), biases.astype("float32")])
numpy_predictions = softmax(features_val @ weights + biases).argmax(axis=1)
keras_predictions = model.predict(x_val, verbose=0).argmax(axis=1)
print(f"NumPy and Keras agree on {np.mean(numpy_predictions == keras_predictions):.2%} of the validation images")

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
goal = 0.835  # test_accuracy >= 0.835
val_accuracy = float(np.mean(model.predict(x_val, verbose=0).argmax(axis=1) == y_val))
verdict = "meets" if val_accuracy >= goal else "is below"
print(f"Validation accuracy {val_accuracy:.4f} {verdict} the goal of {goal}.")
print("The official score is the test accuracy the runner measures on held-out data.")
