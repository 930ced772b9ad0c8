# %% [markdown]
# # Writing like Machado de Assis: a character-level recurrent network
#
# - **Goal:** `val_loss <= 1.6` nats per character on the last 19 chapters of the novel, scored by the runner
# - **Floor:** 3.09 nats (the training text's character frequencies, ignoring context)
# - **Budget:** 300 s for the whole notebook on a 2-core laptop CPU
# - **Data:** `dom-casmurro` (Machado de Assis, *Dom Casmurro*, 1899: 375,459 characters of Portuguese)
# - **Published:** validation loss 1.47 nats per character (nanoGPT, tiny Shakespeare, GPU); 1.88 on
#   a laptop CPU in about 3 minutes
#
# A language model gives a probability to every possible next character, given the text so
# far. Trained on nothing but a novel, it learns spelling, punctuation, the shape of dialogue
# and a little grammar, and sampling from it one character at a time writes new text in the
# novel's style. The course's authors once did this with Brazilian funk lyrics; here the
# text is *Dom Casmurro*, old spelling included ("chapéo", "elle").
#
# Your model must take texts as Unicode code points (`int32`, shape `(batch, length)`, one
# `ord(character)` per character, any length) and return, at every position, one logit for
# each entry of its own vocabulary: the scores of the *next* character. The vocabulary
# travels inside the model as its first layer, a `layers.IntegerLookup`; its
# `get_vocabulary()` says which output is which character (entry 0, `-1`, stands for any
# character it does not know). The runner scores the last 19 chapters (chapter CXXX to the
# end, about 10 % of the book) by the mean cross entropy, in nats per character; a character
# missing from your vocabulary costs the out-of-vocabulary probability, shared among all the
# characters of the novel that your vocabulary lacks.

# %% [markdown]
# ## The data
#
# `keras.utils.get_file` downloads the novel once and keeps it in `~/.keras/datasets`. The
# file has Windows line ends, which we make plain `"\n"`. The last 19 chapters, from chapter
# CXXX on, are the runner's held-out text: we cut them off here and never train on them
# (when your notebook is graded, the file already stops before them). Of the rest, the last
# 5 % is our validation text.

# %%
import keras
import numpy as np
from keras import layers
from matplotlib import pyplot as plt

keras.utils.set_random_seed(42)

path = keras.utils.get_file(
    "dom_casmurro.txt",
    "https://raw.githubusercontent.com/levilelis/rna_geracao_texto/"
    "d71548d5fc96ae5e5151d28988b0472cb2d2a345/dom_casmurro.txt",
)
with open(path, encoding="utf-8") as book_file:
    text = book_file.read().replace("\r\n", "\n")
# Everything from the heading of chapter CXXX on is held out.
text = text.split("\n\nCXXX\n\n")[0]

validation_start = int(0.95 * len(text))
train_text, val_text = text[:validation_start], text[validation_start:]
print(f"{len(train_text):,} training and {len(val_text):,} validation characters")
print(train_text[:400])

# %% [markdown]
# ## The vocabulary
#
# The vocabulary is the set of characters of the training text, as code points. Which
# characters are most frequent? Spaces and vowels, as in any Portuguese text:

# %%
characters, counts = np.unique(list(train_text), return_counts=True)
order = np.argsort(counts)[::-1][:40]
figure, axis = plt.subplots(figsize=(10, 3))
axis.bar(range(len(order)), counts[order] / counts.sum())
axis.set_xticks(range(len(order)), [repr(str(c))[1:-1] for c in characters[order]])
axis.set(ylabel="frequency", title=f"The 40 most frequent of {len(characters)} characters")
plt.show()

code_points = sorted(ord(character) for character in characters)
lookup = layers.IntegerLookup(vocabulary=code_points, name="vocabulary")
vocabulary_size = lookup.vocabulary_size()  # The characters plus one out-of-vocabulary entry.
print(f"vocabulary: {vocabulary_size} entries")

# %% [markdown]
# ## Training examples
#
# Every example is a window of `sequence_length` characters; its target is the same window
# shifted by one character, so the model learns to predict at every position. The targets
# are vocabulary indices (what `lookup` gives), because those are what the outputs mean.


# %%
def make_windows(text, sequence_length, stride):
    codes = np.array([ord(character) for character in text], dtype="int32")
    starts = np.arange(0, len(codes) - sequence_length - 1, stride)
    positions = starts[:, None] + np.arange(sequence_length)
    return codes[positions], np.asarray(lookup(codes[positions + 1]))


sequence_length = 100
x_train, y_train = make_windows(train_text, sequence_length, stride=sequence_length)
x_val, y_val = make_windows(val_text, sequence_length, stride=sequence_length)
print(f"train {x_train.shape}, validation {x_val.shape}")
print(repr("".join(chr(c) for c in x_train[1][:60])))

# %% [markdown]
# ## The model
#
# Build `model`, a `keras.Sequential` that takes `keras.Input(shape=(None,), dtype="int32")`
# (code points, any length), turns them into vocabulary indices with `lookup`, embeds each
# index in a small vector (`layers.Embedding`, 64 numbers), runs a recurrent layer over the
# sequence (`layers.GRU` with `return_sequences=True`, so there is an output at every
# position; 256 units fit the time budget) and ends in `layers.Dense(vocabulary_size)`:
# logits, no softmax.

# %%
# YOUR CODE HERE
raise NotImplementedError("Complete this cell: see the instructions above it.")
model.summary()

# %% [markdown]
# ## Training
#
# Compile with `keras.losses.SparseCategoricalCrossentropy(from_logits=True)` (its value is
# the runner's metric, in nats per character) and the Adam optimiser, then train with
# `model.fit` and `validation_data=(x_val, y_val)`, and keep what it returns in `history`.
#
# Two settings help recurrent networks. Gradient clipping: `Adam(..., clipnorm=1.0)` rescales
# each weight's gradient whose norm is above 1.0 down to norm 1.0 before the step (Keras clips
# each variable's gradient separately), so the rare huge gradient that backpropagation
# through 100 time steps can produce does not throw the weights far off. And a learning rate
# that decays along a cosine from 0.004 to 5 % of it over the whole run:
# `keras.optimizers.schedules.CosineDecay(0.004, decay_steps=decay_steps, alpha=0.05)`. The
# cell sets `num_epochs` (14), `batch_size` (64 windows) and `decay_steps`, the number of
# minibatch steps in those epochs; train with them.

# %%
num_epochs = 14
batch_size = 64
decay_steps = num_epochs * int(np.ceil(len(x_train) / batch_size))  # every step of the run
# YOUR CODE HERE
raise NotImplementedError("Complete this cell: see the instructions above it.")

# %% [markdown]
# ## Learning curves
#
# A cross entropy of $\ln 94 \approx 4.5$ nats is a uniform guess over the vocabulary; the
# unigram frequencies above give about 3.1. Where the validation curve leaves the training
# curve, the network starts to memorise the novel.

# %%
epochs = np.arange(1, len(history.history["loss"]) + 1)
figure, axis = plt.subplots(figsize=(6, 3.5))
axis.plot(epochs, history.history["loss"], label="training")
axis.plot(epochs, history.history["val_loss"], label="validation")
axis.set(xlabel="epoch", ylabel="cross entropy (nats per character)", title="Loss")
axis.grid(alpha=0.3)
axis.legend()
plt.show()

# %% [markdown]
# ## Writing
#
# To write, give the model a beginning, turn its logits for the next character into
# probabilities with a softmax, draw a character, append it and repeat. Dividing the logits
# by a *temperature* before the softmax trades safety for variety: a low temperature almost
# always picks the most probable character (and repeats itself), a high one picks rarer
# characters (and invents words).
#
# The loop asks for 300 predictions, one character each, so how it calls the model matters:
# `model.predict_on_batch` runs the graph Keras compiles for prediction, while calling
# `model(...)` directly runs the GRU's steps one operation at a time from Python (eager mode),
# many times slower on a CPU.


# %%
def generate(model, beginning, temperatures, length=300, context=sequence_length):
    """One text per temperature, written together as one batch."""
    vocabulary = np.array(model.get_layer("vocabulary").get_vocabulary())
    rng = np.random.default_rng(42)
    codes = np.array([[ord(c) for c in beginning]] * len(temperatures), dtype="int32")
    temperatures = np.array(temperatures)[:, None]
    for _ in range(length):
        logits = model.predict_on_batch(codes[:, -context:])[:, -1, :]
        logits[:, vocabulary == -1] = -np.inf  # Never write the out-of-vocabulary entry.
        scaled = logits / temperatures
        probabilities = np.exp(scaled - scaled.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        choices = [rng.choice(len(vocabulary), p=p) for p in probabilities]
        codes = np.concatenate([codes, vocabulary[choices][:, None].astype("int32")], axis=1)
    return ["".join(chr(c) for c in row) for row in codes]


temperatures = [0.2, 0.5, 0.8, 1.2]
for temperature, sample in zip(temperatures, generate(model, "Capitú ", temperatures)):
    print(f"--- temperature {temperature} ---\n{sample}\n")

# %% [markdown]
# ## Check yourself
#
# This computes your validation loss as the runner computes its score: each window of 200
# characters gives its first 100 as context only, and the next 100 are scored, in nats per
# character. (A character your vocabulary lacks costs here the out-of-vocabulary
# probability; the runner also shares that among the characters missing from your
# vocabulary.) The held-out chapters are one stretch of the book, so the figure depends on
# which chapters they are as much as on chance, and the two figures differ a little. The
# official score is the runner's, on chapters CXXX to CXLVIII.

# %%
goal = 1.6  # val_loss <= 1.6
window, context = 200, 100
val_codes = np.array([ord(character) for character in val_text], dtype="int32")
starts = np.arange(0, len(val_codes) - window, window - context)
inputs = val_codes[starts[:, None] + np.arange(window)]
targets = np.asarray(lookup(val_codes[starts[:, None] + np.arange(context + 1, window + 1)]))
logits = model.predict(inputs, verbose=0)[:, context:, :].astype("float64")
logits -= logits.max(axis=-1, keepdims=True)
log_probabilities = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
val_loss = float(-np.take_along_axis(log_probabilities, targets[..., None], axis=-1).mean())
verdict = "meets" if val_loss <= goal else "misses"
print(f"Validation loss {val_loss:.3f} nats per character {verdict} the goal of {goal}.")
print("The official score is the loss the runner measures on the held-out chapters.")
