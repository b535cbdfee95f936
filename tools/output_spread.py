"""Measure which committed outputs move with the CPU's kernels or the thread count, and by how much.

Usage: python tools/output_spread.py [--profiles native,avx2,sse2] [--json FILE] [PATH ...]
       (default: every notebook in book/ and notebooks/, the profiles in PROFILES)

Each notebook is executed once per kernel profile, in memory (the file is not changed), with its
own folder as the working directory, exactly as nbval runs it. A profile is a set of environment
variables that selects other kernels in the libraries that compute the numbers: PyTorch's ATen
(`ATEN_CPU_CAPABILITY`), oneDNN, MKL, and NumPy's OpenBLAS, plus the thread count. The profiles
emulate other processors on this one, so a notebook's printed digits can be checked against
kernels that its author's machine never ran.

For every code cell whose text outputs (after nbval's sanitize patterns; cells tagged
`nbval-ignore-output` included, so their spread is measured too) differ between the committed
notebook and any profile, the tool prints the committed text and each profile's, and, when the
texts differ only in their numbers, the largest relative difference between corresponding numbers.
That spread is what a printed precision must absorb (book/contributing.md, "Reproducible
outputs"), and what an asserted claim's tolerance is derived from.

Exit status: 0 when nothing moved in cells that nbval compares, 1 otherwise.
"""
from __future__ import annotations

import argparse
import configparser
import json
import pathlib
import re
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))
from conftest import AVX2_KERNELS, environment  # noqa: E402
from notebook_checks import all_notebooks  # noqa: E402

#: Kernel profiles. `avx2` is the one of the `[avx2]` notebook copies in `make test`; `native` is
#: the other. `sse2` and `native2` are for measuring only: the oldest kernels every x86-64 CPU has
#: (a very different order of floating-point operations), and two threads, as Colab gives.
PROFILES: dict[str, dict[str, str]] = {
    "native": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
    "avx2": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
             **AVX2_KERNELS},
    "native2": {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"},
    "sse2": {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2",
             "ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
             "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "OPENBLAS_CORETYPE": "Nehalem"},
}
#: The variables a profile may set; all of them are cleared before a profile's own are applied.
PROFILE_VARIABLES = sorted({k for p in PROFILES.values() for k in p})
#: Output data that nbval compares (it skips images, widget views and metadata).
SKIPPED = {"image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json"}
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def sanitizer(path: pathlib.Path = ROOT / "nbval_sanitize.cfg"):
    """The sanitize patterns of nbval_sanitize.cfg, as one function on text."""
    parser = configparser.ConfigParser()
    parser.read(path, encoding="utf8")
    pairs = [(re.compile(parser.get(s, "regex")), parser.get(s, "replace")) for s in parser.sections()]

    def sanitize(text: str) -> str:
        for regex, replace in pairs:
            text = regex.sub(replace, text)
        return text

    return sanitize


def cell_texts(cell, sanitize) -> list[str]:
    """The sanitized texts nbval would compare for one code cell, in output order."""
    texts, stream = [], None
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":  # consecutive chunks of one stream are one text
            if stream == output.get("name"):
                texts[-1] += sanitize(output.get("text", ""))
            else:
                texts.append(f"[{output.get('name')}] " + sanitize(output.get("text", "")))
            stream = output.get("name")
            continue
        stream = None
        if output.get("output_type") in ("display_data", "execute_result"):
            for key, value in sorted(output.get("data", {}).items()):
                if key not in SKIPPED:
                    value = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
                    texts.append(f"[{key}] " + sanitize(value))
        elif output.get("output_type") == "error":
            texts.append(f"[error] {output.get('ename')}: {output.get('evalue')}")
    return texts


def numeric_spread(a: str, b: str) -> float | None:
    """Largest relative difference between corresponding numbers of two texts that differ only in
    their numbers; None when the words differ too (a changed decision, not a rounding)."""
    if NUMBER.sub("#", a) != NUMBER.sub("#", b):
        return None
    worst = 0.0
    for x, y in zip(NUMBER.findall(a), NUMBER.findall(b)):
        fx, fy = float(x), float(y)
        if fx != fy:
            worst = max(worst, abs(fx - fy) / max(abs(fx), abs(fy), 1e-300))
    return worst


def _spread(reference: list[str], others: list[list[str]]) -> float | None:
    """The largest numeric spread between `reference` and any of `others` (None: words differ)."""
    spreads = []
    for texts in others:
        if len(texts) != len(reference):
            return None
        spreads += [numeric_spread(a, b) for a, b in zip(reference, texts) if a != b]
    return None if None in spreads else max(spreads, default=0.0)


def profile_environment(name: str):
    """Set one profile's variables (and clear the others') for kernels started inside."""
    return environment({**{k: None for k in PROFILE_VARIABLES}, **PROFILES[name]})


def execute_copy(path: pathlib.Path, profile: str, timeout: int = 900):
    """Execute the notebook at `path` in memory under `profile`; return (notebook, seconds)."""
    nb = nbformat.read(path, as_version=4)
    with profile_environment(profile):
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb, time.perf_counter() - start


def compare(path: pathlib.Path, profiles: list[str]) -> dict:
    """Execute `path` under each profile and report the cells whose texts differ anywhere."""
    sanitize = sanitizer()
    committed = nbformat.read(path, as_version=4)
    runs, seconds = {}, {}
    for profile in profiles:
        runs[profile], seconds[profile] = execute_copy(path, profile)
    moved = []
    for index, cell in enumerate(committed.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        texts = {"committed": cell_texts(cell, sanitize)}
        texts.update({p: cell_texts(runs[p].cells[index], sanitize) for p in profiles})
        if all(t == texts["committed"] for t in texts.values()):
            continue
        tags = cell.metadata.get("tags", [])
        moved.append({
            "cell": index,
            "compared": "nbval-ignore-output" not in tags and "nbval-skip" not in tags,
            # against the committed outputs, and among this machine's profiles alone
            "spread": _spread(texts["committed"], [texts[p] for p in profiles]),
            "spread_profiles": _spread(texts[profiles[0]], [texts[p] for p in profiles[1:]]),
            "texts": texts,
        })
    return {"notebook": str(path.relative_to(ROOT)), "seconds": seconds, "moved": moved}


def _short(texts: list[str], limit: int = 400) -> str:
    text = " | ".join(t.strip() for t in texts)
    return text if len(text) <= limit else text[: limit // 2] + " ... " + text[-limit // 2:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=pathlib.Path)
    parser.add_argument("--profiles", default=",".join(PROFILES),
                        help=f"comma-separated, from {', '.join(PROFILES)} (default: all)")
    parser.add_argument("--json", type=pathlib.Path, help="also write the full report here")
    args = parser.parse_args(argv)
    profiles = [p for p in args.profiles.split(",") if p]
    unknown = [p for p in profiles if p not in PROFILES]
    if unknown:
        parser.error(f"unknown profile(s) {unknown}; expected names from {list(PROFILES)}")
    paths = [p.resolve() for p in args.paths] or all_notebooks()
    reports, failing = [], 0
    for path in paths:
        report = compare(path, profiles)
        reports.append(report)
        times = ", ".join(f"{p} {s:.0f} s" for p, s in report["seconds"].items())
        print(f"{report['notebook']} ({times})", flush=True)
        for cell in report["moved"]:
            what = ", ".join(
                f"{label} " + ("words differ" if cell[key] is None else f"spread {cell[key]:.1e}")
                for label, key in (("vs committed", "spread"), ("among profiles", "spread_profiles")))
            flag = "COMPARED" if cell["compared"] else "ignored "
            failing += cell["compared"]
            print(f"  {flag} cell {cell['cell']}: {what}")
            for source, texts in cell["texts"].items():
                print(f"      {source:>9}: {_short(texts)}")
        if args.json:  # after every notebook, so a long run can be read while it goes on
            args.json.write_text(json.dumps(reports, indent=1), encoding="utf8")
    print(f"\n{failing} compared cell(s) moved across profiles {profiles}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
