"""Repository-wide pytest set-up: find nbval's sanitize file from any working directory.

pytest.ini passes `--nbval-sanitize-with=nbval_sanitize.cfg`, a path nbval opens relative to the
current directory; this resolves it against the repository root when run from elsewhere.
"""
import contextlib
import os
import pathlib

from nbval.plugin import IPyNbFile


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


# --- nbval with emulated AVX2 kernels, in the same session ----------------------------------------
#: The environment that holds PyTorch, oneDNN, MKL and OpenBLAS to their AVX2 kernels in a
#: notebook's kernel: the committed outputs must not depend on the processor that computed them.
AVX2_KERNELS = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                "MKL_ENABLE_INSTRUCTIONS": "AVX2", "OPENBLAS_CORETYPE": "Haswell"}


def pytest_addoption(parser):
    parser.addoption("--nbval-avx2-too", action="store_true",
                     help="collect every notebook a second time as NAME.ipynb[avx2], its kernel "
                          "started with " + " ".join(f"{k}={v}" for k, v in AVX2_KERNELS.items()))


@contextlib.contextmanager
def environment(changes: dict):
    """Set ``os.environ[k] = v`` for each item of ``changes`` (``v`` None: unset ``k``) inside the
    block, and restore every variable afterwards (tools/output_spread.py uses it too)."""
    saved = {k: os.environ.get(k) for k in changes}
    for k, v in changes.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class AVX2Notebook(IPyNbFile):
    """A notebook whose kernel starts with :data:`AVX2_KERNELS` in its environment (the pytest
    process keeps its own: only the kernel, a child process, inherits them)."""

    def setup(self):
        with environment(AVX2_KERNELS):
            super().setup()


def pytest_collect_file(file_path, parent):
    option = parent.config.option
    if option.nbval_avx2_too and option.nbval and file_path.suffix == ".ipynb":
        nodeid = file_path.relative_to(parent.config.rootpath).as_posix() + "[avx2]"
        return AVX2Notebook.from_parent(parent, path=file_path, name=file_path.name + "[avx2]",
                                        nodeid=nodeid)
