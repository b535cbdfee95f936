"""Sphinx extension: add every ``book/_bib/*.bib`` file to ``bibtex_bibfiles``.

``sphinxcontrib-bibtex`` takes an explicit list of files and no glob. The course keeps its main
bibliography in ``book/references.bib`` (listed in ``_config.yml``) and lets each chapter author
add entries in a file of their own under ``book/_bib/``; this extension appends those files,
sorted, when the configuration is read, so adding a file needs no change to ``_config.yml``.
A key defined twice across the files is a duplicate-entry warning from pybtex, which the
``-W`` build turns into an error.
"""
from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

BIB_GLOB = "book/_bib/*.bib"


def _add_bibfiles(app: Sphinx, config: Config) -> None:
    listed = list(config.bibtex_bibfiles or [])
    confdir = Path(app.confdir)
    known = {(confdir / name).resolve() for name in listed}
    for path in sorted(confdir.glob(BIB_GLOB)):
        if path.resolve() not in known:
            listed.append(path.relative_to(confdir).as_posix())
    config.bibtex_bibfiles = listed


def setup(app: Sphinx) -> dict:
    # sphinxcontrib-bibtex reads the list at builder-inited, which comes after config-inited.
    app.connect("config-inited", _add_bibfiles)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
