"""The course site: MkDocs hooks, generated pages, lesson figures and the in-page demos.

``mkdocs_hooks`` is the thin entry MkDocs calls (one ``SiteBuild`` per build holds the ``Course``
and what the pages share); ``pages`` writes the generated content; ``notebook_html`` changes
nbconvert's and Material's HTML through a parser and fails the build when an expected element is
missing; ``figures`` and ``figure_themes`` render lesson figures in both colour schemes; ``demos``
and ``onnx_export`` turn reference models into ONNX models the page runs, each checked against
Keras (``demo_models/`` holds the committed ones).
"""
