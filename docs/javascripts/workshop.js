// Scrollable boxes (wide tables, long notebook outputs) can be scrolled from the keyboard.
document$.subscribe(() => {
  const boxes = document.querySelectorAll(".md-typeset__scrollwrap, .jupyter-wrapper pre");
  for (const box of boxes) {
    if (box.scrollWidth > box.clientWidth || box.scrollHeight > box.clientHeight) {
      box.tabIndex = 0;
    }
  }
});
