"""The runner's code inside the learner's kernel: the cell before their first, the cell after their last.

``workshop.running.execute`` puts two one-line cells around the learner's notebook that import this
module and call it, so this code is linted and tested like any other while it runs in the kernel
(which imports ``workshop`` as its parent process does: from the checkout, read-only in the grading
sandbox, or from the installed package).

* :func:`setup` records what each ``fit`` returns (the feedback plots the learning curve) and, for
  the runs whose notebook the site shows, captures each figure in both colour schemes
  (``workshop.running.figure_schemes``). It changes nothing the learner's code sees.
* :func:`save_model` saves the Keras model left in the name ``model`` and writes what it found as a
  ``ModelReport`` through ``workshop.running.protocol``, the typed writer of every record.
"""

from __future__ import annotations

import functools

from workshop.running import protocol


def setup(shell, *, themed_figures: bool = False) -> list[dict]:
    """Install the runner's hooks in the kernel; returns the list each ``fit``'s history is added to."""
    import keras

    if themed_figures:
        from workshop.running.figure_schemes import install_notebook_formatter

        try:
            install_notebook_formatter(shell)
        except Exception:  # noqa: BLE001, S110 - figures then have their light image only
            pass
    histories: list[dict] = []
    original_fit = keras.Model.fit

    @functools.wraps(original_fit)
    def fit(self, *args, **kwargs):
        history = original_fit(self, *args, **kwargs)
        try:
            histories.append({key: [float(value) for value in values] for key, values in history.history.items()})
        except Exception:  # noqa: BLE001, S110 - a history we cannot read costs the curve, not the run
            pass
        return history

    keras.Model.fit = fit
    return histories


def save_model(namespace: dict, model_path: str, report_path: str, histories: list[dict]) -> protocol.ModelReport:
    """Save ``namespace["model"]`` to ``model_path`` and write the ``ModelReport`` to ``report_path``.

    The scorer loads the file with ``safe_mode=True``: whether that will work, and why not, is found
    out here, in the learner's own run, so that ``workshop check`` says it too.
    """
    import keras

    report = protocol.ModelReport(histories=list(histories))
    candidate = namespace.get("model")
    if candidate is None:
        report.problem = "no_model"
    elif not isinstance(candidate, keras.Model):
        report.problem = "not_a_model"
        report.type = f"{type(candidate).__module__}.{type(candidate).__qualname__}"
    else:
        candidate.save(model_path)
        report.saved = True
        try:
            keras.saving.load_model(model_path, safe_mode=True, compile=False)
        except Exception as error:  # noqa: BLE001 - any refusal is reported, with its first line
            report.problem = "unloadable"
            report.load_error = (str(error).strip().splitlines() or [type(error).__name__])[0][:500]
            report.foreign_functions = foreign_functions(candidate)
    protocol.write(report_path, report)
    return report


def foreign_functions(model) -> list[dict]:
    """Layer settings holding a function from outside Keras (``tf.nn.softmax``, a NumPy function...):
    Keras saves them by module and name, and refuses to import them back. One
    ``{layer, setting, function, keras_name}`` each; ``keras_name`` is the Keras function of that
    name, if there is one (the fix to suggest)."""
    import keras

    found, layers = [], list(getattr(model, "layers", []))
    while layers:
        layer = layers.pop(0)
        layers.extend(getattr(layer, "layers", []) or [])
        for setting, value in vars(layer).items():
            module = getattr(value, "__module__", None) or ""
            if (
                callable(value)
                and not isinstance(value, type | keras.layers.Layer)
                and module
                and not module.startswith("keras")
            ):
                name = getattr(value, "__name__", type(value).__name__)
                keras_name = name.removesuffix("_v2")
                found.append(
                    {
                        "layer": layer.name,
                        "setting": setting,
                        "function": f"{module}.{name}",
                        "keras_name": keras_name if hasattr(keras.activations, keras_name) else None,
                    }
                )
    return found
