"""The runner's scorer: a clean process that loads a saved model and scores it.

Run as ``python -m workshop.running.evaluate TASK MODEL_PATH RESULT_PATH [GOAL [REFERENCE]]``; writes a ``Score``
record (``workshop.running.protocol``) to RESULT_PATH. With GOAL (``"test_accuracy >= 0.84"``) and a score
that misses it, the Score also holds a diagnosis of preprocessing done outside the model. The model is
loaded with ``safe_mode=True`` (a ``Lambda`` layer or any other code in the file
is refused) and without its compiled state, then scored by ``workshop.tasks``. REFERENCE: the unit's
reference solution, whose generator cells make a generated task's held-out data.
"""

from __future__ import annotations

import os
import sys

# The preprocessing steps learners do outside the model, tried alone and then together; for each,
# what it does and the layer that does it inside the model.
STEPS = {
    "scale": ("dividing the pixel values by 255", "`layers.Rescaling(1 / 255)`"),
    "flatten": ("flattening each input into one vector", "`layers.Flatten()`"),
    "channel": ("adding a channel axis", "`layers.Reshape({channel})`"),
}
TRIALS = (("scale",), ("flatten",), ("channel",), ("scale", "flatten"), ("scale", "channel"))


def diagnose(task, model, goal) -> str:
    """When the raw score misses ``goal`` (a ``workshop.course.units.Goal``): score the held-out inputs
    again with each common outside step applied; if one would meet the goal, say which step to
    move inside the model and with which layer. The grade stays the raw score."""
    from workshop.tasks import OUTSIDE_STEPS, RAW_SHAPES, ModelShapeError

    for steps in TRIALS:
        shapes: list = []
        tokens = (OUTSIDE_STEPS.set(steps), RAW_SHAPES.set(shapes))
        try:
            value = task.evaluate(model).get(goal.metric)
        except ModelShapeError:
            if not shapes:  # the task reads no arrays through fit_to_input: nothing to try
                return ""
            continue
        except Exception:  # noqa: BLE001, S112 - a diagnosis that fails says nothing; the score stands
            continue
        finally:
            OUTSIDE_STEPS.reset(tokens[0])
            RAW_SHAPES.reset(tokens[1])
        if not shapes:  # this task does not feed arrays through fit_to_input: nothing to try
            return ""
        if not goal.is_met(value):
            continue
        raw, dtype = shapes[0]
        done = " and ".join(STEPS[step][0] for step in steps)
        layers = " and ".join(STEPS[step][1].format(channel=(*raw, 1)) for step in steps)
        return (
            f"\nDiagnosis: after {done}, the held-out inputs would give your model {goal.metric} = {value:.4f}, "
            f"meeting the goal {goal.text}. Your notebook does that outside the model, but the runner feeds "
            f"the raw inputs, as loaded ({dtype}, shape {raw}). Put it inside the model: {layers} right after "
            f"`keras.Input({raw})`, and train on the raw inputs. (Your grade is the raw score above.)"
        )
    return ""


def main(
    task_name: str, model_path: str, result_path: str, goal_text: str | None = None, reference: str | None = None
) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from workshop.running.protocol import Score, write
    from workshop.tasks import ModelShapeError, get_task

    try:
        model = keras.saving.load_model(model_path, safe_mode=True, compile=False)
    except Exception as error:  # noqa: BLE001 - any refusal to load is the submission's problem, reported plainly
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "safe_mode" in str(error) or "lambda" in str(error).lower():
            reason = (
                "the saved model contains code that would run when it is loaded (for example a Lambda "
                "layer), which the runner refuses (safe_mode=True). Use built-in Keras layers instead."
            )
        result = Score("error", message=f"The model could not be loaded: {reason}")
    else:
        goal = parse_goal(goal_text)
        task = get_task(task_name, reference=reference or None)
        try:
            result = Score("ok", metrics=task.evaluate(model))
            if goal is not None and not goal.is_met(result.metrics.get(goal.metric)):
                result.diagnosis = diagnose(task, model, goal)
        except ModelShapeError as error:
            result = Score("error", message=str(error))
            if goal is not None:
                result.message += diagnose(task, model, goal)
        except Exception as error:  # noqa: BLE001 - a crash while scoring is reported, not raised
            result = Score("error", message=f"Scoring the model failed: {type(error).__name__}: {error}")
    write(result_path, result)
    return 0


def parse_goal(text: str | None):
    """``"test_accuracy >= 0.84"`` as a Goal, or None."""
    if not text:
        return None
    from workshop.course.units import Goal

    metric, op, value = text.split()
    return Goal(metric, op, float(value))


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))
