"""The room on workshop day: serving a site build, the data mirror or the wheelhouse, and building the wheelhouse."""
