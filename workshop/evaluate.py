"""The runner's scorer: a clean process that loads a saved model and scores it.

Run as ``python -m workshop.evaluate TASK MODEL_PATH RESULT_PATH``; writes a ``Score`` record
(``workshop.protocol``) to RESULT_PATH. The model is
loaded with ``safe_mode=True`` (a ``Lambda`` layer or any other code in the file
is refused) and without its compiled state, then scored by ``workshop.tasks``.
"""

from __future__ import annotations

import os
import sys


def main(task_name: str, model_path: str, result_path: str) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from workshop.protocol import Score, write
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
        try:
            result = Score("ok", metrics=get_task(task_name).evaluate(model))
        except ModelShapeError as error:
            result = Score("error", message=str(error))
        except Exception as error:  # noqa: BLE001 - a crash while scoring is reported, not raised
            result = Score("error", message=f"Scoring the model failed: {type(error).__name__}: {error}")
    write(result_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
