"""The datasets: the manifest (``datasets.toml``), verified local files, and fetching them.

``manifest`` says which files each dataset has and where their verified copies are (the read API
tasks and lessons use); ``fetching`` is ``workshop fetch``: a mirror, a download, checksums,
unpacking.
"""
