"""Running a notebook and scoring it: the one runner of ``workshop check``, the grader, the tests and the site.

``runner`` starts two child processes per run, ``execute`` (the notebook in a kernel, saving
``model``) and ``evaluate`` (the saved model against the task's held-out data), and talks to them
only through the typed JSON records of ``protocol``. Inside the learner's kernel, the runner's own
cells call ``kernel`` (record each ``fit``, save ``model``, write its report) and, for the runs the
site shows, ``figure_schemes`` (each figure captured in both colour schemes). ``cache`` keeps
executed solutions by key; ``results`` is ``results.json``. Nothing here imports the site.
"""
