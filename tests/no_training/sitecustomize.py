"""The fast tier's guard against training: `keras.Model.fit` and `train_on_batch` raise while
WORKSHOP_FORBID_TRAINING names a test.

tests/conftest.py sets that variable to the test's id for every test not marked `trains`, installs
this guard in the test process, and puts this folder first on PYTHONPATH, so that Python imports
this file at start-up in the processes the test starts with its environment (`workshop grade`,
`mkdocs build` and the lesson blocks it runs, `python -c ...`). A notebook kernel started by the
runner gets a scrubbed environment and is not covered.

Keras is not imported here: the methods are wrapped when a process imports Keras itself, so a
process that never does pays nothing, and a `trains` test in the same process trains as usual.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys

VARIABLE = "WORKSHOP_FORBID_TRAINING"
GUARDED = ("fit", "train_on_batch")


class TrainingRefused(RuntimeError):
    pass


def refusing(method):
    def guarded(self, *args, **kwargs):
        test = os.environ.get(VARIABLE)
        if test:
            raise TrainingRefused(
                f"{test} trains a Keras model ({method.__name__}) but is not marked `trains`: "
                "mark it @pytest.mark.trains (the tiers are listed in tests/conftest.py)"
            )
        return method(self, *args, **kwargs)

    guarded.__wrapped__ = method
    guarded.refuses_training = True
    return guarded


def guard(keras) -> None:
    for name in GUARDED:
        method = getattr(keras.Model, name)
        if not getattr(method, "refuses_training", False):
            setattr(keras.Model, name, refusing(method))


class GuardKerasOnImport(importlib.abc.MetaPathFinder):
    """Finds `keras` as the path finder does, and guards the module once it has executed."""

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            guard(module)

        spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    """Guard Keras in this process: now if it is loaded, else when it is imported."""
    if "keras" in sys.modules:
        guard(sys.modules["keras"])
    elif not any(isinstance(finder, GuardKerasOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, GuardKerasOnImport())


install()
