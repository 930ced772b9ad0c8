"""Try the reference model in the page: the site's in-browser demos.

A unit has a demo when its declaration says which kind (``- **Demo:** garment``, read into
``Unit.demo``); ``DEMOS`` holds the kinds (garment, road, review, window), so a renamed unit keeps
its demo. The site build takes the model the reference solution trained (kept beside its executed
notebook, ``workshop.running.cache.model_path``), exports it to ONNX (``workshop.site.onnx_export``),
checks the export against Keras on the demo's sample inputs (``onnx_export.verify``: a difference
above ``onnx_export.TOLERANCE`` stops the build with one line) and writes, under ``demos/NN_slug/``:

* ``model.onnx``, run in the page by onnxruntime-web (served by the site from ``node_modules``,
  loaded only when the reader first asks for a prediction);
* ``demo.json``: what the page needs besides the model (class names, sample inputs, and for the
  text model its vocabulary and IDF weights: the page vectorises the review in JavaScript).

The unit's pages get a "Try the reference model" section: sample inputs with the model's answers
computed here (so the page says something without JavaScript), and, with JavaScript
(``docs/javascripts/workshop-demo.js``), controls to make an input of one's own.

A build that does not train (a fresh clone, the GitHub Pages workflow) takes the demos from the
committed artefact in ``workshop/site/demo_models/``: each unit's ``model.onnx`` and ``demo.json`` and,
in ``manifest.json``, the sha256 of both, of the solution's code (its lines that are not comments,
so an edit of the lesson text in it keeps the model) and of the unit's data checksums. The build
uses a unit's files only when all of these match; otherwise the page has no demo and the build log
says why. ``make demo-models`` remakes the artefact from the models the reference solutions
trained (training those not in the cache, under ``.cache/train.lock``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workshop import atomic
from workshop.course.course import Course
from workshop.course.units import Unit, all_units
from workshop.running import cache
from workshop.site.onnx_export import ExportError, export, run_onnx, verify

log = logging.getLogger("mkdocs.plugins.workshop")
# The WebAssembly build only (no WebGL/WebGPU): the smallest runtime that runs these models.
RUNTIME_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
RUNTIME_URI = "javascripts/onnxruntime/"
SCRIPT_URI = "javascripts/workshop-demo.js"
# The committed artefact is the package's own data (it travels with workshop/site/), not the checkout's.
ARTEFACT_DIR = Path(__file__).resolve().parent / "demo_models"
MANIFEST = ARTEFACT_DIR / "manifest.json"
ARTEFACT_NAME = "workshop/site/demo_models"  # how messages name it


def runtime_dir(course: Course) -> Path:
    """onnxruntime-web as ``npm ci`` (``make setup``) installs it in the checkout."""
    return course.root / "node_modules" / "onnxruntime-web" / "dist"


def export_cache(course: Course) -> Path:
    return course.cache_dir / "demos"


FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


class DemoError(Exception):
    """A unit declares a demo kind that does not exist."""


@dataclass(frozen=True)
class Demo:
    kind: str  # which controls the page script builds: garment, window, road or review
    prompt: str  # what the reader can do, in one paragraph
    page_data: Callable  # (keras model) -> (dict for demo.json, the layer the ONNX graph starts after)
    # (demo.json's data) -> (the sample inputs for Keras, the same for the ONNX model, or None if equal)
    sample_inputs: Callable


def garment_samples() -> tuple[np.ndarray, np.ndarray]:
    """The first image of each class in the official Fashion-MNIST test set (28 x 28, uint8)."""
    from workshop.tasks import read_idx

    images = read_idx("fashion-mnist", "t10k-images-idx3-ubyte.gz")
    labels = read_idx("fashion-mnist", "t10k-labels-idx1-ubyte.gz")
    picks = [int(np.flatnonzero(labels == label)[0]) for label in range(10)]
    return images[picks], labels[picks]


def garment_data(model):
    images, labels = garment_samples()
    samples = [{"label": FASHION_CLASSES[int(y)], "pixels": x.ravel().tolist()} for x, y in zip(images, labels)]
    return {"labels": FASHION_CLASSES, "size": 28, "samples": samples}, None


def window_data(model):
    data, _ = garment_data(model)
    size = int(model.inputs[0].shape[1])
    # Three windows to start from: one garment, two, and four.
    data.update(size=size, grid=size // 28, windows=[[9, -1, -1, -1], [0, 1, -1, -1], [5, 3, 8, 2]])
    return data, None


def road_data(model):
    from workshop.course.units import task_reference
    from workshop.tasks.generated import load_generator

    frames, angles = load_generator(task_reference("self-driving"))(12, 2027)
    height, width = frames.shape[1:3]
    return {
        "height": int(height),
        "width": int(width),
        "frames": [
            {"pixels": base64.b64encode(frame.tobytes()).decode("ascii"), "angle": round(float(angle), 2)}
            for frame, angle in zip(frames, angles)
        ],
    }, None


def review_data(model):
    import keras

    vectorize = next(layer for layer in model.layers if isinstance(layer, keras.layers.TextVectorization))
    settings = vectorize.get_config()
    supported = {"standardize": "lower_and_strip_punctuation", "split": "whitespace", "output_mode": "tf_idf"}
    for key, value in supported.items():
        if settings.get(key) != value:
            raise ExportError(f"the review demo vectorises with {key}={value!r}; this model has {settings.get(key)!r}")
    vocabulary = vectorize.get_vocabulary()  # entry 0 is the out-of-vocabulary token
    # The weight Keras gives out-of-vocabulary tokens (it has no public accessor): a review of one
    # unknown word has exactly that weight at index 0.
    unknown = np.asarray(vectorize(np.array(["qqqqqqqqqq"])))[0]
    weights = [float(unknown[0]), *(float(w) for w in settings["idf_weights"])]
    if len(weights) != len(vocabulary):
        raise ExportError(f"{len(vocabulary)} vocabulary entries but {len(weights)} IDF weights")
    examples = [
        "A wonderful film: the acting is superb and the story moved me to tears.",
        "Two hours of my life I will never get back. The plot makes no sense.",
        "Not bad at all, I expected much worse.",
    ]
    return {
        "vocabulary": vocabulary,
        "idf": [round(w, 7) for w in weights],
        "ngrams": int(settings.get("ngrams") or 1),
        "examples": examples,
    }, vectorize


def garment_inputs(data: dict):
    return np.stack([np.asarray(s["pixels"], np.float32).reshape(28, 28) for s in data["samples"]]), None


def window_inputs(data: dict):
    return np.stack([window_pixels(data, places) for places in data["windows"]]).astype(np.float32), None


def road_inputs(data: dict):
    return np.stack([road_frame(data, frame) for frame in data["frames"]]).astype(np.float32), None


def review_inputs(data: dict):
    # Keras reads the texts, the ONNX model the page's TF-IDF vectors of them: the check covers the
    # page's vectorisation too.
    return np.array(data["examples"]), np.stack([tf_idf(data, text) for text in data["examples"]])


# The demos, by kind: a unit's declaration names its kind (``- **Demo:** garment``).
DEMOS = {
    demo.kind: demo
    for demo in (
        Demo(
            "garment",
            "Draw a garment with the mouse (or a finger), light on dark as in Fashion-MNIST, or start from "
            "one of the test images and change it: the network's ten probabilities follow every stroke.",
            garment_data,
            garment_inputs,
        ),
        Demo(
            "road",
            "Pick a road frame the generator drew (the site made these with a seed of its own), mirror it "
            "or shift the road sideways, and compare the angle the network steers with the true one.",
            road_data,
            road_inputs,
        ),
        Demo(
            "review",
            "Write a review (English, like the training reviews) and see the probability that it is positive. "
            "The page turns the words into TF-IDF weights with the model's own vocabulary.",
            review_data,
            review_inputs,
        ),
        Demo(
            "window",
            "Dress a shop window: choose a garment (or nothing) for each of its four places and see which "
            "classes the network finds, each with its own probability (in bold above 0.5).",
            window_data,
            window_inputs,
        ),
    )
}


def demo_for(unit: Unit) -> Demo | None:
    """The demo the unit's declaration names (None when it names none)."""
    if unit.demo is None:
        return None
    if unit.demo not in DEMOS:
        raise DemoError(
            f"{unit.name}: its declaration names the demo {unit.demo!r}; the demos are {', '.join(sorted(DEMOS))}"
        )
    return DEMOS[unit.demo]


def demo_units(units: list[Unit]) -> list[Unit]:
    return [unit for unit in units if demo_for(unit) is not None]


# --- Building the files -------------------------------------------------------------------------


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def export_unit(unit: Unit, course: Course, model_path: Path | None = None) -> tuple[bytes, dict] | None:
    """``(model.onnx, demo.json)`` for a unit with a demo whose reference model is in the cache
    (exported once per model file and exporter, then read from ``.cache/demos``), else None.

    The export is checked against Keras on the demo's sample inputs before it is kept: an
    ``ExportError`` (one line, naming the unit) when they differ by more than the tolerance."""
    demo = demo_for(unit)
    model_path = model_path or cache.model_path(unit, course)
    if demo is None or not model_path.exists():
        return None
    key = export_cache(course) / f"{unit.name}-{file_digest(model_path)}-{source_digest()}"
    onnx_path, data_path = key.with_suffix(".onnx"), key.with_suffix(".json")
    if onnx_path.exists() and data_path.exists():
        return onnx_path.read_bytes(), json.loads(data_path.read_text(encoding="utf-8"))
    import keras

    model = keras.saving.load_model(model_path, safe_mode=True, compile=False)
    try:
        data, start_after = demo.page_data(model)
        serialized = export(model, start_after=start_after)
        difference = verify(model, serialized, *demo.sample_inputs(data))
    except ExportError as error:
        raise ExportError(f"{unit.name}: {error}") from None
    log.info("%s: the ONNX export matches Keras on the demo's inputs (largest difference %.2g)", unit.name, difference)
    data = {
        "unit": unit.name,
        "kind": demo.kind,
        **data,
        "examples_predicted": predicted_examples(demo, data, serialized),
    }
    atomic.write_bytes(onnx_path, serialized)
    atomic.write_text(data_path, json.dumps(data))
    return serialized, data


def source_digest() -> str:
    """This module and the converter: a change to either makes the exports again."""
    here = Path(__file__).resolve().parent
    return hashlib.sha256((here / "demos.py").read_bytes() + (here / "onnx_export.py").read_bytes()).hexdigest()[:8]


# --- The committed artefact: demos for builds that do not train --------------------------------


def code_lines(lines) -> list[str]:
    """The lines of code: no blank line, no comment (jupytext's cell markers and Markdown are comments)."""
    return [line.rstrip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def code_digest(unit: Unit) -> str:
    return sha256_text("\n".join(code_lines(unit.solution_path.read_text(encoding="utf-8").splitlines())))


def data_digest(unit: Unit) -> str:
    return sha256_text(json.dumps(cache.data_checksums(unit), sort_keys=True))


def executed_code_digest(notebook_path: Path, length: int) -> str | None:
    """The code digest of an executed notebook's first `length` code lines (the runner adds its own after)."""
    try:
        notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    lines = [
        line
        for cell in notebook.get("cells", [])
        if cell.get("cell_type") == "code"
        for line in "".join(cell.get("source", "")).splitlines()
    ]
    code = code_lines(lines)
    return sha256_text("\n".join(code[:length])) if len(code) >= length else None


def trained_model(unit: Unit, course: Course) -> Path | None:
    """The model the unit's reference solution trained: the cache's for the current key, else the
    newest cached run whose code is this solution's code (a comment edit changes the key only)."""
    if cache.model_path(unit, course).exists():
        return cache.model_path(unit, course)
    wanted, length = code_digest(unit), len(code_lines(unit.solution_path.read_text(encoding="utf-8").splitlines()))
    folder = cache.cache_dir(course)
    runs = sorted(folder.glob(f"{unit.name}-*.keras"), key=lambda path: path.stat().st_mtime, reverse=True)
    for model in runs:
        if executed_code_digest(model.with_suffix(".ipynb"), length) == wanted:
            return model
    return None


def load_manifest() -> dict:
    try:
        return json.loads(MANIFEST.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"units": {}}


def committed_export(unit: Unit) -> tuple[tuple[bytes, dict] | None, str]:
    """The unit's demo from the committed artefact, verified, and why not when it is not usable."""
    entry = load_manifest().get("units", {}).get(unit.name)
    if entry is None:
        return None, f"{ARTEFACT_NAME}/{MANIFEST.name} has no demo model for it (`make demo-models` adds it)"
    if entry.get("code_sha256") != code_digest(unit):
        return None, (
            f"its solution's code changed since the committed demo model was trained ({entry.get('trained')}): "
            "`make demo-models` trains and exports it again"
        )
    if entry.get("data_sha256") != data_digest(unit):
        return None, "its data sets changed since the committed demo model was trained: `make demo-models`"
    folder = ARTEFACT_DIR / unit.name
    try:
        model, data = (folder / "model.onnx").read_bytes(), (folder / "demo.json").read_bytes()
    except OSError as error:
        return None, f"the committed demo model is incomplete ({error.strerror}: {error.filename})"
    if hashlib.sha256(model).hexdigest() != entry.get("onnx_sha256") or (
        hashlib.sha256(data).hexdigest() != entry.get("json_sha256")
    ):
        return None, f"the files in {ARTEFACT_NAME}/{unit.name} do not match {MANIFEST.name}'s checksums"
    if entry.get("exporter") != source_digest():
        # Still the export that was checked against Keras when it was written; a build with the
        # trained model in its cache exports again, and `python -m workshop.site.demos` commits that.
        log.info(
            "%s: the committed demo model was exported by an earlier converter (%s)", unit.name, entry.get("exporter")
        )
    return (model, json.loads(data)), "committed"


def save_artefact(course: Course, names: list[str] | None = None, train: bool = False) -> list[str]:
    """Write the demo units' exported models (checked against Keras) into the artefact; return the
    units with no trained model. Without ``train`` nothing trains: a unit whose solution's code has a
    model in the cache is exported again from it (after a change to the converter, for example)."""
    units = [unit for unit in demo_units(all_units(course)) if names is None or unit.name in names]
    manifest = load_manifest()
    missing = []
    for unit in units:
        model = trained_model(unit, course)
        if model is None and train:
            from workshop.running.runner import run_unit

            print(f"{unit.name}: training the reference solution (no cached run of this code)", flush=True)
            result = run_unit(unit.solution_path, unit, executed_path=cache.executed_path(unit, course))
            if result.status != "ok":
                raise RuntimeError(f"{unit.name}: the reference solution failed: {result.message}")
            model = cache.model_path(unit, course)
        if model is None:
            missing.append(unit.name)
            continue
        onnx_bytes, data = export_unit(unit, course, model)
        content = json.dumps(data, separators=(",", ":")).encode()
        folder = ARTEFACT_DIR / unit.name
        atomic.write_bytes(folder / "model.onnx", onnx_bytes)
        atomic.write_bytes(folder / "demo.json", content)
        trained = time.gmtime(model.stat().st_mtime)
        manifest.setdefault("units", {})[unit.name] = {
            "code_sha256": code_digest(unit),
            "data_sha256": data_digest(unit),
            "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
            "json_sha256": hashlib.sha256(content).hexdigest(),
            "keras_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
            "exporter": source_digest(),
            "packages": cache.package_versions(),
            "trained": time.strftime("%Y-%m-%d", trained),
        }
        print(f"{unit.name}: {len(onnx_bytes) / 1e6:.2f} MB model + {len(content) / 1e3:.0f} kB data -> {folder}")
    manifest["units"] = dict(sorted(manifest.get("units", {}).items()))
    atomic.write_text(MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return missing


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m workshop.site.demos",
        description="Write the committed demo models (workshop/site/demo_models/).",
    )
    parser.add_argument("units", nargs="*", help="demo units to write (default: all of them)")
    parser.add_argument("--train", action="store_true", help="train the reference solutions not in the cache")
    args = parser.parse_args(argv)
    try:
        missing = save_artefact(Course.find(), args.units or None, train=args.train)
    except (ExportError, DemoError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if missing:
        print(
            f"No trained model for {', '.join(missing)}: run `make demo-models` (it trains them), "
            "or `make site` first.",
            file=sys.stderr,
        )
        return 1
    return 0


# --- What the page shows without JavaScript --------------------------------------------------


def tf_idf(data: dict, text: str) -> np.ndarray:
    """The page's vectorisation, in Python (the JavaScript does the same steps)."""
    import re

    index = {token: i for i, token in enumerate(data["vocabulary"])}
    text = re.sub(r"[A-Z]+", lambda m: m.group().lower(), text)
    text = re.sub(r"[!\"#$%&()*+,\-./:;<=>?@\[\\\]^_`{|}~']", "", text)
    words = [w for w in re.split(r"[ \t\n\r\f\v]+", text) if w]
    tokens = list(words)
    for n in range(2, data["ngrams"] + 1):
        tokens += [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
    vector = np.zeros(len(data["vocabulary"]), np.float32)
    for token in tokens:
        vector[index.get(token, 0)] += 1
    return vector * np.asarray(data["idf"], np.float32)


def window_pixels(data: dict, places: list[int]) -> np.ndarray:
    grid, window = data["grid"], np.zeros((data["size"], data["size"]), np.uint8)
    for place, sample in enumerate(places):
        if sample >= 0:
            row, column = divmod(place, grid)
            tile = np.asarray(data["samples"][sample]["pixels"], np.uint8).reshape(28, 28)
            window[row * 28 : (row + 1) * 28, column * 28 : (column + 1) * 28] = tile
    return window


def road_frame(data: dict, frame: dict) -> np.ndarray:
    pixels = np.frombuffer(base64.b64decode(frame["pixels"]), np.uint8)
    return pixels.reshape(data["height"], data["width"], 3)


def predicted_examples(demo: Demo, data: dict, serialized: bytes) -> list[dict]:
    """The model's answers on the page's starting inputs, computed by onnxruntime here."""
    keras_inputs, onnx_inputs = demo.sample_inputs(data)
    outputs = run_onnx(serialized, keras_inputs if onnx_inputs is None else onnx_inputs)
    if demo.kind == "garment":
        return [{"predicted": data["labels"][int(np.argmax(p))], "probability": float(p.max())} for p in outputs]
    if demo.kind == "window":
        return [{"found": [data["labels"][i] for i in np.flatnonzero(p > 0.5)]} for p in outputs]
    if demo.kind == "road":
        return [{"angle": float(p[0])} for p in outputs]
    return [{"positive": float(p[0])} for p in outputs]


def png_data_uri(pixels: np.ndarray, scale: int = 2) -> str:
    from PIL import Image

    image = Image.fromarray(pixels)
    image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def static_examples(data: dict) -> str:
    """The sample inputs and the model's answers, as HTML that needs no script."""
    kind, answers = data["kind"], data["examples_predicted"]
    cells = []
    if kind == "garment":
        for sample, answer in zip(data["samples"], answers):
            image = png_data_uri(np.asarray(sample["pixels"], np.uint8).reshape(28, 28))
            cells.append(
                (image, f"a test image of a {sample['label']}", f"{answer['predicted']} ({answer['probability']:.2f})")
            )
    elif kind == "window":
        for places, answer in zip(data["windows"], answers):
            shown = ", ".join(data["samples"][i]["label"] for i in places if i >= 0)
            cells.append(
                (
                    png_data_uri(window_pixels(data, places)),
                    f"a window showing {shown}",
                    ", ".join(answer["found"]) or "nothing",
                )
            )
    elif kind == "road":
        for frame, answer in list(zip(data["frames"], answers))[:6]:
            cells.append(
                (
                    png_data_uri(road_frame(data, frame), scale=2),
                    f"a road frame, true angle {frame['angle']:+.1f} degrees",
                    f"steers {answer['angle']:+.1f}° (true {frame['angle']:+.1f}°)",
                )
            )
    else:
        rows = "".join(
            f"<tr><td>{html.escape(text)}</td><td>{answer['positive']:.2f}</td></tr>"
            for text, answer in zip(data["examples"], answers)
        )
        return f"<table><thead><tr><th>Review</th><th>P(positive)</th></tr></thead><tbody>{rows}</tbody></table>"
    figures = "".join(
        f'<figure class="workshop-demo__sample"><img src="{src}" alt="{html.escape(alt)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        for src, alt, caption in cells
    )
    return f'<div class="workshop-demo__samples">{figures}</div>'


def section_html(unit: Unit, data: dict, base: str, model_bytes: int) -> str:
    """The page's "Try the reference model" section; ``base`` leads from the page to the site root."""
    demo = demo_for(unit)
    folder = f"{base}demos/{unit.name}/"
    return (
        f'<section class="workshop-demo" data-demo="{folder}" data-runtime="{base}{RUNTIME_URI}" '
        f'data-kind="{demo.kind}">'
        '<h2 id="try-the-reference-model">Try the reference model</h2>'
        f"<p>{html.escape(demo.prompt)} The model ({model_bytes / 1e6:.1f} MB) runs in your browser with "
        "onnxruntime-web, served by this site: nothing you enter leaves the page.</p>"
        '<div class="workshop-demo__app" hidden></div>'
        '<div class="workshop-demo__static"><p>What the trained model answers on these inputs:</p>'
        f"{static_examples(data)}</div></section>"
    )


def runtime_bytes(course: Course) -> int:
    return sum((runtime_dir(course) / name).stat().st_size for name in RUNTIME_FILES)


if __name__ == "__main__":
    raise SystemExit(main())
