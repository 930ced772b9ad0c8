"""Rewriting the HTML that mkdocs-jupyter (nbconvert) makes of a notebook, and the site's pages, for the course site.

Called by the site's hooks (``workshop.site.mkdocs_hooks``). Every change goes through an HTML
parser (BeautifulSoup), never through string replacement: no script from a CDN, output images with
alt text, outputs kept out of the search index, code cells reachable from the keyboard, and the
test for whether a page has math to typeset.

Where a change needs an element that the page must have (the ``<body>``, the notebook's title,
Material's search dialog), ``required`` raises ``MarkupError`` naming what was expected: a Material
or nbconvert upgrade that changes its markup stops the build, instead of silently losing the change.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, Tag

PARSER = "html.parser"  # Python's own: no lxml needed, and it keeps the markup it does not understand


class MarkupError(Exception):
    """A page lacks an element the site's build changes (its markup is not what the build expects)."""


def parse(content: str) -> BeautifulSoup:
    return BeautifulSoup(content, PARSER)


def required(soup: BeautifulSoup | Tag, selector: str, what: str, where: str = "the page") -> Tag:
    """The first element matching the CSS ``selector``, or a ``MarkupError`` that names it."""
    found = soup.select_one(selector)
    if found is None:
        raise MarkupError(
            f"{where} has no {what} (CSS selector {selector!r}): the markup of Material or nbconvert changed; "
            "update workshop/site/notebook_html.py or workshop/site/mkdocs_hooks.py to the new markup"
        )
    return found


# What nbconvert's templates put into every notebook page that would reach for a CDN:
# MathJax 2 and its configuration (the site loads its own MathJax 3), and mermaid from cdnjs.
CDN_COMMENTS = {"Load mathjax", "MathJax configuration", "End of mathjax configuration"}
CDN = re.compile(r"^https?://")


def remove_cdn_scripts(soup: BeautifulSoup) -> None:
    for script in soup.find_all("script"):
        source = script.get("src") or ""
        body = script.string or ""
        if (
            CDN.match(source)
            or script.get("type") == "text/x-mathjax-config"
            or (script.get("type") == "module" and "cdnjs.cloudflare.com" in body)
        ):
            script.decompose()
    for comment in soup.find_all(string=lambda text: isinstance(text, Comment) and text.strip() in CDN_COMMENTS):
        comment.extract()


def _exclude_outputs(soup: BeautifulSoup) -> None:
    # Material's search parser matches closing tags by name only, so an excluded ``<div>`` stops
    # being excluded at its first nested ``</div>``; an ``<output>`` holds no other ``<output>``.
    for wrapper in soup.select("div.jp-Cell-outputWrapper"):
        output = soup.new_tag("output", attrs={"class": "workshop-output", "data-search-exclude": ""})
        wrapper.wrap(output)


def exclude_outputs_from_search(content: str) -> str:
    """Wrap each cell's outputs (``div.jp-Cell-outputWrapper``) in ``<output data-search-exclude>``."""
    soup = parse(content)
    _exclude_outputs(soup)
    return str(soup)


NBCONVERT_ALT = 'alt="No description has been provided for this image"'
NBCONVERT_ALT_TEXT = "No description has been provided for this image"
HEADINGS = ("h1", "h2", "h3")


def _describe_images(soup: BeautifulSoup) -> None:
    # nbconvert labels every output image "No description has been provided for this image";
    # the nearest heading above a figure tells a screen-reader user what it shows.
    for image in soup.find_all("img", alt=NBCONVERT_ALT_TEXT):
        heading = image.find_previous(HEADINGS)
        section = heading.get_text().replace("¶", "").strip() if heading else "the notebook"
        image["alt"] = f"Figure drawn by the code cell above, in the section {section}"


def describe_output_images(content: str) -> str:
    """Give nbconvert's figures an alt text that says where they come from (the heading above)."""
    soup = parse(content)
    _describe_images(soup)
    return str(soup)


def clean_notebook_html(content: str) -> str:
    soup = parse(content)
    remove_cdn_scripts(soup)
    _describe_images(soup)
    # Code cells scroll sideways: make them reachable from the keyboard, as Material does.
    for block in soup.select("div.highlight-ipynb"):
        block["tabindex"] = "0"
    _exclude_outputs(soup)
    # The prompts ("In [3]:") are decoration; a screen reader skips them.
    for prompt in soup.select("div.jp-InputPrompt, div.jp-OutputPrompt"):
        prompt["aria-hidden"] = "true"
    return str(soup)


def insert_after_title(content: str, fragment: str, where: str) -> str:
    """``fragment`` (HTML) right after the page's ``<h1>``; a ``MarkupError`` when it has none."""
    soup = parse(content)
    required(soup, "h1", "title (<h1>)", where).insert_after(parse(fragment))
    return str(soup)


# Math on a page: what arithmatex marks in lessons, or $...$ / \\(...\\) in a notebook's Markdown cells.
TEX_DELIMITERS = re.compile(r"\$[^$\s][^$]*\$|\\\(|\\\[")


def has_math(soup: BeautifulSoup) -> bool:
    if soup.select_one(".arithmatex") is not None:
        return True
    return any(TEX_DELIMITERS.search(cell.get_text()) for cell in soup.select(".jp-RenderedMarkdown"))
