"""`--nbval-avx2-too` (conftest.py): every notebook collected twice, the copy's kernel held to AVX2.

A notebook whose one cell prints the four variables in its kernel, with committed output
"avx2 AVX2 AVX2 Haswell", must pass in its [avx2] copy and fail in its native one (whose kernel has
none of them): so the copy's kernel really runs with the variables, and the pytest process that
starts it does not keep them. (That PyTorch, oneDNN, MKL and OpenBLAS obey them is their
documented behaviour; importing torch here would only add seconds.)
"""
import json
import re
import subprocess
import sys

from .conftest import ROOT

CELL = ("import os\n"
        "print(*(os.environ.get(k) for k in ('ATEN_CPU_CAPABILITY', 'ONEDNN_MAX_CPU_ISA',\n"
        "                                    'MKL_ENABLE_INSTRUCTIONS', 'OPENBLAS_CORETYPE')))")


def test_the_avx2_copy_runs_its_kernel_with_the_avx2_variables(tmp_path):
    notebook = {"cells": [{"cell_type": "code", "execution_count": 1, "id": "c0", "metadata": {},
                           "source": [CELL],
                           "outputs": [{"name": "stdout", "output_type": "stream", "text": ["avx2 AVX2 AVX2 Haswell\n"]}]}],
                "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
                "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "capability.ipynb"
    path.write_text(json.dumps(notebook))
    proc = subprocess.run([sys.executable, "-m", "pytest", str(path), "--nbval-avx2-too", "-p", "no:xdist",
                           "-q", "--rootdir", str(tmp_path), "-c", str(ROOT / "pytest.ini"),
                           "--confcutdir", str(ROOT), "-p", "conftest"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    out = proc.stdout
    assert "1 failed, 1 passed" in out, out[-3000:]
    assert re.search(r"^FAILED \S*capability\.ipynb::Cell 0$", out, re.M), out[-3000:]  # the native copy
