"""Interactive explorers (ipywidgets) for the chapters, each with a static fallback figure.

Import an explorer from its own module, e.g.
``from lstm_course.widgets.gate_explorer import gate_explorer``.
"""
