"""Each figure a notebook draws, captured in both colour schemes of the site: light and dark.

Runs inside the learner's kernel (``workshop.running.kernel`` installs it for the runs whose
notebook the site shows), so it lives with the runner and imports nothing of the site; the site
(``workshop.site.figure_themes``) uses the same recolouring for its lesson figures and turns the
captured pairs into HTML.

A matplotlib figure is drawn once as written (light) and once more with its neutral colours
swapped: white backgrounds become transparent (so the page's own background shows through),
black and grey ink becomes light grey, and saturated colours (the data) and images stay as they
are. In a notebook, each figure's PNG output carries its dark twin in the output's metadata under
``METADATA_KEY`` (Jupyter shows the light one; the notebook stays a normal notebook).
"""

from __future__ import annotations

import colorsys
import io
from contextlib import contextmanager

# Material's slate background, hsl(225deg 15% 14%), and a light ink that reads on it.
DARK_BACKGROUND = (0x1E / 255, 0x21 / 255, 0x29 / 255)
DARK_INK = (0xE2 / 255, 0xE4 / 255, 0xE9 / 255)
# Colours less saturated than this are "neutral" (ink, paper, grid) and get swapped.
NEUTRAL_SATURATION = 0.12
METADATA_KEY = "workshop_dark_png"


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
