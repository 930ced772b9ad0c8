"""Figures drawn while the site builds.

Lesson pages contain Python blocks that markdown-exec runs at build time
(```` ```python exec="on" html="on" ````). Those blocks draw with matplotlib and
end with ``show(figure, alt="...")``, which prints an ``<img>`` tag with the PNG
inlined, so the figure always matches the code that made it and needs no file.
"""

import base64
import html
import io
import sys

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt

# A white card behind every plot keeps axes and labels readable in dark mode.
plt.rcParams.update(
    {
        "figure.facecolor": "white",
        "axes.facecolor": "white",
        "savefig.facecolor": "white",
        "figure.dpi": 100,
        "font.size": 10,
    }
)


def show(figure, alt, caption=None, width=None):
    """Print ``figure`` as an inline PNG ``<img>`` with alt text (and close it)."""
    if not alt or not alt.strip():
        raise ValueError("every figure needs alt text that describes what it shows")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    style = f' style="max-width:{int(width)}px"' if width else ""
    # markdown-exec captures what a block prints through the `print` it injects into the
    # block's globals; use that one, so the figure lands on the page and not on the console.
    print_ = sys._getframe(1).f_globals.get("print", print)
    image = (
        f'<img class="workshop-figure" src="data:image/png;base64,{encoded}" '
        f'alt="{html.escape(alt, quote=True)}"{style}>'
    )
    if caption:
        print_(f"<figure>{image}<figcaption>{html.escape(caption)}</figcaption></figure>")
    else:
        print_(f"<figure>{image}</figure>")
