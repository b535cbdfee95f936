"""`--nbval-avx2-too` (conftest.py): every notebook collected twice, the copy's kernel held to AVX2.

A notebook whose one cell prints the four variables in its kernel, with committed output
"avx2 AVX2 AVX2 Haswell", must pass in its [avx2] copy and fail in its native one (whose kernel has
none of them): so the copy's kernel really runs with the variables, and the pytest process that
starts it does not keep them. (That PyTorch, oneDNN, MKL and OpenBLAS obey them is their
documented behaviour; importing torch here would only add seconds.)
"""
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

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
    report = tmp_path / "report.xml"
    # The outcome of each copy is read from a JUnit report, not from the terminal summary, whose
    # format depends on the terminal width and on whether pytest believes it runs in CI.
    proc = subprocess.run([sys.executable, "-m", "pytest", str(path), "--nbval-avx2-too", "-p", "no:xdist",
                           "-q", "--rootdir", str(tmp_path), "-c", str(ROOT / "pytest.ini"),
                           "--confcutdir", str(ROOT), "-p", "conftest", "--junitxml", str(report)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert report.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[case.get("classname") + "::" + case.get("name")] = "failed" if failed else "passed"
    native = [k for k in outcomes if "capability.ipynb" in k and "[avx2]" not in k]
    avx2 = [k for k in outcomes if "capability.ipynb[avx2]" in k]
    assert len(native) == 1 and len(avx2) == 1, (outcomes, proc.stdout[-3000:])
    assert outcomes[avx2[0]] == "passed", proc.stdout[-3000:]
    assert outcomes[native[0]] == "failed", proc.stdout[-3000:]
