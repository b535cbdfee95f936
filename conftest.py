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


#: Seconds nbval waits for each output message of a cell that has finished. nbval hard-codes 5 s,
#: which a long training cell with a progress bar (hundreds of widget updates still queued) can
#: exceed on a busy 2-core machine: the char LM's training cell failed that way once in
#: `make test`'s second pass although its outputs were right.
NBVAL_OUTPUT_TIMEOUT = 60


def pytest_collection_modifyitems(items):
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's notebook cells
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT
