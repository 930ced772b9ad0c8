"""The datasets: the manifest (``datasets.toml``), verified local files, and fetching them.

``manifest`` is the read side: which files each dataset has, the record of which copies on this
machine were verified, and where they are (``file_path``, ``dataset_dir``: the API tasks and
lessons use). ``fetching`` is ``workshop fetch``: a mirror, a download, checksums, unpacking; it
uses only ``manifest``'s public names.
"""
