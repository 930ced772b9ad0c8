"""The course model: its units (one solution each), lessons, tracks and their checks.

A unit is declared once, in the first cell of ``solutions/NN_slug.py``; ``units`` parses it,
``checks`` (``workshop units --check``) and ``recipe_checks`` hold the sources to account,
``exercises`` derives the learner's stubs, ``scaffold`` starts a new unit, ``tracks`` reads the
course day (``course.yml``), ``reference`` quotes recorded runs in lessons. Nothing here trains or
runs a notebook.
"""
