"""Imported first by :mod:`workbench.jobs`: its processes read and write notebooks without
loading jsonschema's IRI format checkers.

nbformat (and so papermill and nbconvert) imports jsonschema, which imports the optional
``rfc3987_syntax`` when it is installed (jupyter_events brings it) to register "iri"
format checks, and that module builds an Earley grammar at import: 1 to 5 s in every
process that touches a notebook (the CLI's ``run``, each run's execute process, the
warm pool). nbformat's schemas use no formats and it passes no format checker, so the
job processes tell Python the module is absent (a ``None`` entry in ``sys.modules``
makes ``import rfc3987_syntax`` raise ImportError, which jsonschema expects). A process
that already loaded it keeps it.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
