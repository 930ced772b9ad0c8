"""Rewriting the HTML that mkdocs-jupyter (nbconvert) makes of a notebook, for the course site.

Pure functions on strings, called by the site's hooks (``workshop.site.mkdocs_hooks``): no script from a
CDN, output images with alt text, outputs kept out of the search index, code cells reachable from
the keyboard, and the test for whether a page has math to typeset.
"""

from __future__ import annotations

import html
import re

# What nbconvert's templates put into every notebook page that would reach for a CDN:
# MathJax 2 and its configuration (the site loads its own MathJax 3), and require.js.
CDN_SCRIPTS = re.compile(
    r"<!-- Load mathjax -->\s*<script[^>]*>\s*</script>"
    r'|<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>'
    r'|<script type="module">(?:(?!</script>).)*?cdnjs\.cloudflare\.com.*?</script>'
    r'|<script type="text/x-mathjax-config">.*?</script>'
    r"|<!-- (?:Load mathjax|MathJax configuration|End of mathjax configuration) -->",
    re.DOTALL,
)
# Outputs (training logs, images) stay on the page but out of the search index.
OUTPUT_WRAPPER = '<div class="jp-Cell-outputWrapper">'
DIV_TAG = re.compile(r"<div\b|</div>")
INPUT_PROMPT = re.compile(r'<div class="(jp-InputPrompt|jp-OutputPrompt)')


def exclude_outputs_from_search(content: str) -> str:
    """Wrap each cell's outputs in ``<output data-search-exclude>``.

    Material's search parser matches closing tags by name only, so an excluded ``<div>`` stops
    being excluded at its first nested ``</div>``; an ``<output>`` holds no other ``<output>``.
    """
    pieces, position = [], 0
    while (start := content.find(OUTPUT_WRAPPER, position)) != -1:
        depth, end = 0, None
        for tag in DIV_TAG.finditer(content, start):
            depth += 1 if tag.group() == "<div" else -1
            if depth == 0:
                end = tag.end()
                break
        if end is None:
            break
        pieces += [
            content[position:start],
            '<output class="workshop-output" data-search-exclude>',
            content[start:end],
            "</output>",
        ]
        position = end
    return "".join(pieces) + content[position:]


NBCONVERT_ALT = 'alt="No description has been provided for this image"'
HEADING = re.compile(r"<h[1-3][^>]*>(.*?)</h[1-3]>", re.DOTALL)


def describe_output_images(content: str) -> str:
    """Give nbconvert's figures an alt text that says where they come from.

    nbconvert labels every output image "No description has been provided for this image";
    the nearest heading above a figure tells a screen-reader user what it shows.
    """
    pieces = content.split(NBCONVERT_ALT)
    described = [pieces[0]]
    for piece in pieces[1:]:
        headings = HEADING.findall("".join(described))
        section = re.sub(r"<[^>]+>|¶", "", headings[-1]).strip() if headings else "the notebook"
        described.append(f'alt="Figure drawn by the code cell above, in the section {html.escape(section)}"')
        described.append(piece)
    return "".join(described)


def clean_notebook_html(content: str) -> str:
    content = CDN_SCRIPTS.sub("", content)
    content = describe_output_images(content)
    # Code cells scroll sideways: make them reachable from the keyboard, as Material does.
    content = content.replace('<div class="highlight-ipynb', '<div tabindex="0" class="highlight-ipynb')
    content = exclude_outputs_from_search(content)
    content = INPUT_PROMPT.sub(r'<div aria-hidden="true" class="\1', content)
    return content


# Math on a page: what arithmatex marks in lessons, or $...$ / \\(...\\) in a notebook's Markdown cells.
NOTEBOOK_MARKDOWN = re.compile(r'<div class="[^"]*jp-RenderedMarkdown[^"]*"[^>]*>(.*?)</div>', re.DOTALL)
TEX_DELIMITERS = re.compile(r"\$[^$\s][^$]*\$|\\\(|\\\[")


def has_math(output: str) -> bool:
    if 'class="arithmatex"' in output:
        return True
    return any(TEX_DELIMITERS.search(cell) for cell in NOTEBOOK_MARKDOWN.findall(output))
