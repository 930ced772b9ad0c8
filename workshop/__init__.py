"""Keras Workshop: the course's runner, grader, data tool and site build."""

import sys

__version__ = "0.1.0"

# Every process of the course that reads a notebook imports nbformat, and so jsonschema, whose
# checker of the "iri" format imports rfc3987_syntax: that import compiles some 35 Lark parsers,
# about 0.9 CPU-s, in every such process (python-jsonschema issue 1428). No schema the course
# validates (nbformat's) uses that format, and jsonschema leaves the checker out when the module
# cannot be imported, which an entry of None in sys.modules makes so. Set before anything imports
# jsonschema (a package is imported before its modules), unless something already imported it.
sys.modules.setdefault("rfc3987_syntax", None)
