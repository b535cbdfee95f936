"""Sphinx extension: emit each inline ``<script>`` body only once per page.

With Sphinx 7.4, Jupyter Book 1.0.4 and sphinx-thebe 0.3.1, sphinx-thebe's inline configuration
script (``const THEBE_JS_URL = ...``) reaches every page twice: once registered with filename
``None`` and once re-registered with filename ``""``, which Sphinx's de-duplication treats as two
different assets. The second copy throws "Identifier 'THEBE_JS_URL' has already been declared"
in the browser on every page (the real-browser test caught it). This extension drops exact
repeats of an inline script (same body and attributes) when a page is rendered.
"""
from __future__ import annotations

from sphinx.application import Sphinx


def _drop_repeated_inline_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        if not getattr(script, "filename", None) and "body" in getattr(script, "attributes", {}):
            key = (script.priority, tuple(sorted(script.attributes.items())))
            if key in seen:
                continue
            seen.add(key)
        unique.append(script)
    scripts[:] = unique  # the builder restores its own list after each page


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _drop_repeated_inline_scripts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
