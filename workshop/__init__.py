"""Keras Workshop: the course's runner, grader, data tool and site build."""

__version__ = "0.1.0"
