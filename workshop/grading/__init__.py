"""Grading a class: submissions in, a gradebook, feedback pages and LMS files out.

``grade`` walks the submissions and runs each through ``workshop.running`` inside the OS
confinement of ``sandbox`` (proved at start by ``sandbox_probe``); ``gradebook`` owns the rows,
``feedback`` the learner's page, ``credit`` and ``floors`` the points, ``canvas``, ``exports`` and
``course_grades`` the round trip to the learning platform, ``similarity`` the similarity report.
"""
