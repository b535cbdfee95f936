"""Repository-wide pytest set-up: find nbval's sanitize file from any working directory.

pytest.ini passes `--nbval-sanitize-with=nbval_sanitize.cfg`, a path nbval opens relative to the
current directory; this resolves it against the repository root when run from elsewhere.
"""
import pathlib


def pytest_configure(config):
    sanitize = getattr(config.option, "nbval_sanitize_with", None)
    if sanitize and not pathlib.Path(sanitize).exists():
        candidate = pathlib.Path(config.rootpath) / sanitize
        if candidate.exists():
            config.option.nbval_sanitize_with = str(candidate)
