// MathJax 3, served by the site itself (see mkdocs.yml).
// Lessons: only the math that arithmatex marks (class "arithmatex") is typeset.
// Notebook pages (exercises, solutions): the $...$ math in Markdown cells, but not outputs.
// (MathJax re-applies ignoreHtmlClass to every child element, so ".*|" would also skip the
// paragraphs inside a processed notebook cell.)
const notebookPage = document.querySelector(".jupyter-wrapper") !== null;

window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: notebookPage
    ? {
        ignoreHtmlClass: "md-header|md-sidebar|md-footer|workshop-card|jp-OutputArea|jp-InputArea-editor",
        processHtmlClass: "arithmatex|jp-RenderedMarkdown",
      }
    : { ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex" },
};

document$.subscribe(() => {
  if (window.MathJax && MathJax.typesetPromise) {
    MathJax.startup.output.clearCache();
    MathJax.typesetClear();
    MathJax.texReset();
    MathJax.typesetPromise();
  }
});
