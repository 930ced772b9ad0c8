"""Every figure in both colour schemes of the site: light (the default) and dark (Material's slate).

A matplotlib figure is drawn once as written (light) and once more with its neutral colours
swapped: white backgrounds become transparent (so the page's own background shows through),
black and grey ink becomes light grey, and saturated colours (the data) and images stay as they
are. The page carries both images; the stylesheet shows the one that matches the reader's scheme
and switches with the toggle, and without JavaScript the light one is shown.

Used in three places:

* lesson figures (``workshop.site.figures.show``) print both ``<img>`` tags;
* notebook figures: the runner's setup cell calls :func:`install_notebook_formatter`, so each
  figure's PNG output carries its dark twin in the output's metadata (Jupyter shows the light
  one; the notebook stays a normal notebook);
* the site build turns such outputs into the pair of images with :func:`theme_notebook_figures`.
"""

from __future__ import annotations

import base64
import colorsys
import html
import io
from contextlib import contextmanager

# Material's slate background, hsl(225deg 15% 14%), and a light ink that reads on it.
DARK_BACKGROUND = (0x1E / 255, 0x21 / 255, 0x29 / 255)
DARK_INK = (0xE2 / 255, 0xE4 / 255, 0xE9 / 255)
# Colours less saturated than this are "neutral" (ink, paper, grid) and get swapped.
NEUTRAL_SATURATION = 0.12
METADATA_KEY = "workshop_dark_png"
LIGHT_CLASS, DARK_CLASS = "workshop-figure--light", "workshop-figure--dark"


def dark_color(rgba):
    """The dark-scheme twin of one colour: neutral colours swap ends (white paper becomes the
    slate background, black ink becomes light ink), saturated ones are kept."""
    red, green, blue, alpha = (float(c) for c in rgba)
    lightness, saturation = colorsys.rgb_to_hls(red, green, blue)[1:]
    if saturation * min(lightness, 1 - lightness) * 2 > NEUTRAL_SATURATION:
        return (red, green, blue, alpha)
    darkness = 1 - lightness
    return (*(bg + darkness * (ink - bg) for bg, ink in zip(DARK_BACKGROUND, DARK_INK, strict=True)), alpha)


@contextmanager
def dark(figure):
    """Recolour ``figure`` for the dark scheme inside the block, then put every colour back."""
    from matplotlib import collections, colors, image, lines, patches, text

    undo = []

    def swap(getter, setter):
        """One colour (text, line, patch)."""
        old = getter()
        try:
            rgba = colors.to_rgba(old)
        except (TypeError, ValueError):
            return
        setter(dark_color(rgba))
        undo.append((setter, old))

    def swap_each(getter, setter):
        """An array of colours (a collection: scatter points, bars of a histogram)."""
        old = getter()
        try:
            rgba = colors.to_rgba_array(old)
        except (TypeError, ValueError):
            return
        if len(rgba):
            setter([dark_color(row) for row in rgba])
            undo.append((setter, old))

    backgrounds = {id(figure.patch), *(id(axes.patch) for axes in figure.get_axes())}
    for artist in figure.findobj():
        if isinstance(artist, image.AxesImage):
            continue  # data, drawn in the colours it means
        if id(artist) in backgrounds:
            undo.append((artist.set_facecolor, artist.get_facecolor()))
            artist.set_facecolor("none")  # the page's background shows through
            continue
        if isinstance(artist, text.Text):
            swap(artist.get_color, artist.set_color)
            box = artist.get_bbox_patch()
            if box is not None:
                swap(box.get_facecolor, box.set_facecolor)
                swap(box.get_edgecolor, box.set_edgecolor)
        elif isinstance(artist, lines.Line2D):
            swap(artist.get_color, artist.set_color)
            swap(artist.get_markerfacecolor, artist.set_markerfacecolor)
            swap(artist.get_markeredgecolor, artist.set_markeredgecolor)
        elif isinstance(artist, patches.Patch):
            swap(artist.get_facecolor, artist.set_facecolor)
            swap(artist.get_edgecolor, artist.set_edgecolor)
        elif isinstance(artist, collections.Collection):
            if artist.get_array() is None:  # colours mapped from data stay as they are
                swap_each(artist.get_facecolor, artist.set_facecolor)
            swap_each(artist.get_edgecolor, artist.set_edgecolor)
    try:
        yield figure
    finally:
        for setter, old in reversed(undo):
            setter(old)


def png_pair(figure, **savefig) -> tuple[bytes, bytes]:
    """The figure as PNG bytes for the light scheme and for the dark one (transparent background)."""
    light, dark_buffer = io.BytesIO(), io.BytesIO()
    figure.savefig(light, format="png", **savefig)
    with dark(figure):
        figure.savefig(dark_buffer, format="png", **{**savefig, "facecolor": "none", "transparent": False})
    return light.getvalue(), dark_buffer.getvalue()


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


def notebook_png(figure):
    """IPython's PNG formatter for a matplotlib figure: the light PNG as output, the dark one in
    the output's metadata. Same options as matplotlib-inline (tight bounding box, figure dpi)."""
    from IPython.core.pylabtools import print_figure

    light = print_figure(figure, fmt="png", bbox_inches="tight", base64=True)
    try:
        with dark(figure):
            dark_png = print_figure(figure, fmt="png", bbox_inches="tight", base64=True, facecolor="none")
    except Exception:  # noqa: BLE001 (an unusual artist must not cost the learner their figure)
        return light
    return light, {METADATA_KEY: dark_png}


def install_notebook_formatter(shell) -> None:
    """Make every matplotlib figure the kernel displays carry its dark twin.

    matplotlib-inline installs its own PNG formatter when its backend is loaded, so it is loaded
    here (before the notebook's first cell) and the two-scheme formatter put in its place;
    a ``post_execute`` callback puts it back after every cell, should anything reinstall the other.
    """
    try:
        import matplotlib.pyplot
        from matplotlib.figure import Figure

        # Loads the backend now (matplotlib-inline configures itself when loaded), not at the
        # notebook's first figure.
        matplotlib.pyplot.switch_backend(matplotlib.get_backend())
    except ImportError:
        return

    def reinstall():
        shell.display_formatter.formatters["image/png"].for_type(Figure, notebook_png)

    reinstall()
    shell.events.register("post_execute", reinstall)


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
