"""Running a notebook and scoring it: the one runner of ``workshop check``, the grader, the tests and the site.

``runner`` starts two child processes per run, ``execute`` (the notebook in a kernel, saving
``model``) and ``evaluate`` (the saved model against the task's held-out data), and talks to them
only through the typed JSON records of ``protocol``. ``cache`` keeps executed solutions by key;
``results`` is ``results.json``.
"""
