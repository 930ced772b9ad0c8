"""Every figure in both colour schemes of the site: light (the default) and dark (Material's slate).

The images come from ``workshop.running.figure_schemes`` (a figure drawn once as written and once
recoloured for the dark scheme); this module puts both on the page. The stylesheet shows the one
that matches the reader's scheme and switches with the toggle; without JavaScript the light one is
shown.

Used in two places:

* lesson figures (``workshop.site.figures.show``) print both ``<img>`` tags (:func:`png_pair`,
  :func:`image_pair_html`);
* notebook figures: the runner captured each figure's dark twin in the output's metadata (for the
  runs the site shows); the site build turns such outputs into the pair of images with
  :func:`theme_notebook_figures`, and strips the twins from downloads with :func:`strip_dark_twins`.
"""

from __future__ import annotations

import base64
import html

# The recolouring and the notebook's capture live with the runner (they run inside the learner's
# kernel); this module turns their images into the page's HTML.
from workshop.running.figure_schemes import DARK_BACKGROUND, DARK_INK, METADATA_KEY, dark_color, png_pair

LIGHT_CLASS, DARK_CLASS = "workshop-figure--light", "workshop-figure--dark"


def image_pair_html(light_png: bytes | str, dark_png: bytes | str, alt: str, extra_class: str = "", style="") -> str:
    """Two ``<img>`` tags, one per scheme; the stylesheet hides the one that does not match."""

    def source(png):
        encoded = png if isinstance(png, str) else base64.b64encode(png).decode("ascii")
        return f"data:image/png;base64,{encoded.strip()}"

    alt = html.escape(alt, quote=True)
    classes = f"{extra_class} " if extra_class else ""
    return (
        f'<img class="{classes}{LIGHT_CLASS}" src="{source(light_png)}" alt="{alt}"{style}>'
        f'<img class="{classes}{DARK_CLASS}" src="{source(dark_png)}" alt="{alt}"{style}>'
    )


# --- Notebook figures ---------------------------------------------------------------------


def theme_notebook_figures(notebook) -> int:
    """Turn each figure output that has a dark twin into HTML with both images (for the site's
    notebook pages; the alt text is nbconvert's, which the site then replaces). Returns how many."""
    count = 0
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            data, metadata = output.get("data") or {}, output.get("metadata") or {}
            png_metadata = metadata.get("image/png") or {}
            dark_png = png_metadata.get(METADATA_KEY)
            if "image/png" not in data or not dark_png:
                continue
            data["text/html"] = (
                '<div class="workshop-themed">'
                + image_pair_html(data["image/png"], dark_png, "No description has been provided for this image")
                + "</div>"
            )
            count += 1
    return count


def strip_dark_twins(notebook) -> None:
    """The notebook as Jupyter needs it (for downloads): without the dark images."""
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            (output.get("metadata") or {}).get("image/png", {}).pop(METADATA_KEY, None)


__all__ = [
    "DARK_BACKGROUND",
    "DARK_INK",
    "METADATA_KEY",
    "dark_color",
    "image_pair_html",
    "png_pair",
    "strip_dark_twins",
    "theme_notebook_figures",
]
