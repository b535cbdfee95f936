"""Run every notebook the way Colab runs it: the released wheel, other versions, outside the repository.

Usage: python tools/colab_check.py [--numpy SPEC] [--torch SPEC] [--python PATH] [--threads N]
                                   [--timeout S] [--keep] [PATH ...]
       (default: every notebook in book/ and notebooks/; `make colab-check` runs this)

1. Builds the wheel of this checkout with `python -m build`, from a copy of its files, in a new
   temporary folder outside the repository.
2. Creates a fresh virtual environment there (with --python's interpreter, default this one) and
   installs what Colab has before a notebook runs: NumPy one minor release older than the pin in
   requirements.txt (default `older`: `numpy==2.3.*` for a pin of 2.4.x), torch (default
   `pinned`, the pinned version; CI passes `older`), and ipykernel (a SPEC is `older`, `pinned`
   or any pip requirement). Then the wheel, with its dependencies, as the notebooks' set-up cell
   installs it; the check fails if that changed the torch or NumPy version.
3. Copies every notebook into the temporary folder (keeping its path relative to the repository,
   so nothing imports the source tree by accident) and executes each from its own folder in a
   fresh kernel of that environment, with N OpenMP/MKL/OpenBLAS threads (default 2, as Colab's
   two cores). A cell added before the notebook's own asserts that the kernel is that
   environment's Python and imports `lstm_course` from it. Any error fails the check, a failing
   `assert` included; cells tagged `raises-exception` may raise, as in nbval.
4. Prints the versions it ran with and how long each notebook took.

It takes 5 minutes on two idle cores and up to a quarter of an hour under load, so it is not
part of `make test`; CI runs it weekly and before each release (.github/workflows/colab-check.yml, release.yml). pip uses its
usual configuration, so the index that serves torch decides which build of torch comes (CI sets
the CPU index). Exit status 0 when every notebook ran.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from notebook_checks import all_notebooks  # noqa: E402

KERNEL = "colab-check"
REPORTED = ("lstm_course", "numpy", "torch", "matplotlib", "ipywidgets", "tqdm", "ipykernel")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
CHECK_CELL = '''\
# Added by tools/colab_check.py: this kernel is the fresh environment, and lstm_course comes from it.
import importlib.util, pathlib, sys
assert pathlib.Path(sys.prefix).resolve() == pathlib.Path({prefix!r}).resolve(), sys.prefix
_spec = importlib.util.find_spec("lstm_course")
assert _spec is not None and pathlib.Path(_spec.origin).resolve().is_relative_to({site!r}), _spec'''


def pins(path: pathlib.Path = ROOT / "requirements.txt") -> dict[str, str]:
    """`name: version` for every `name==version` line of a requirements file."""
    found = {}
    for line in path.read_text(encoding="utf8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)", line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def older_minor(name: str, version: str) -> str:
    """A requirement for the release one minor version before `version`: numpy 2.4.6 -> numpy==2.3.*."""
    major, minor = (int(part) for part in version.split(".")[:2])
    if minor == 0:
        raise ValueError(f"{name} {version} has no older minor release in the same major; "
                         f"pass the version to test with (--{name} SPEC)")
    return f"{name}=={major}.{minor - 1}.*"


def requirement(name: str, spec: str, pinned: dict[str, str]) -> str:
    """The pip requirement for `older`, `pinned` or a requirement given as is."""
    if spec == "older":
        return older_minor(name, pinned[name])
    if spec == "pinned":
        return f"{name}=={pinned[name]}"
    return spec


def copy_checkout(dest: pathlib.Path) -> pathlib.Path:
    """The checkout's files (tracked, and new ones git does not ignore) copied to `dest`."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    for name in files:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def build_wheel(work: pathlib.Path) -> pathlib.Path:
    """`python -m build` on a copy of the checkout; the wheel's path."""
    out = work / "dist"
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(copy_checkout(work / "source"))],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit("python -m build failed:\n" + (proc.stdout + proc.stderr)[-4000:])
    (wheel,) = out.glob("lstm_course-*.whl")
    return wheel


def run_env_python(python: pathlib.Path, code: str, *args: str) -> str:
    return subprocess.run([str(python), "-I", "-c", code, *args], capture_output=True, text=True,
                          check=True, env=kernel_env({})).stdout.strip()


def installed_versions(python: pathlib.Path) -> dict[str, str]:
    code = ("import importlib.metadata as m, json, platform, sys\n"
            "found = {'python': platform.python_version()}\n"
            "for name in sys.argv[1:]:\n"
            "    try: found[name] = m.version(name)\n"
            "    except m.PackageNotFoundError: found[name] = None\n"
            "print(json.dumps(found))")
    return json.loads(run_env_python(python, code, *REPORTED))


def kernel_env(threads: dict[str, str]) -> dict[str, str]:
    """This process's environment without anything that points Python at the repository."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(threads)
    return env


def create_environment(work: pathlib.Path, wheel: pathlib.Path, numpy: str, torch: str,
                       interpreter: str) -> pathlib.Path:
    """A fresh venv with Colab's preinstalled side (NumPy, torch, ipykernel), then the wheel."""
    venv = work / "venv"
    subprocess.run([interpreter, "-m", "venv", str(venv)], check=True, env=kernel_env({}))
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    print(f"installing {numpy}, {torch} and ipykernel into a fresh environment ...", flush=True)
    subprocess.run([*pip, numpy, torch, "ipykernel"], check=True, env=kernel_env({}))
    before = installed_versions(python)
    print(f"installing {wheel.name} and its dependencies ...", flush=True)
    subprocess.run([*pip, str(wheel)], check=True, env=kernel_env({}))
    after = installed_versions(python)
    for name in ("numpy", "torch"):
        if after[name] != before[name]:
            raise SystemExit(f"installing the wheel replaced {name} {before[name]} by {after[name]}")
    return python


def write_kernelspec(jupyter_path: pathlib.Path, python: pathlib.Path, threads: dict[str, str]) -> None:
    """A kernel `colab-check` that starts `python`'s ipykernel with the thread settings."""
    folder = jupyter_path / "kernels" / KERNEL
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "colab-check", "language": "python", "env": threads}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))


def prepare_copy(source: pathlib.Path, dest: pathlib.Path, prefix: pathlib.Path, site: pathlib.Path):
    """Copy one notebook to `dest`, with the environment check as its first cell."""
    nb = nbformat.read(source, as_version=4)
    check = nbformat.v4.new_code_cell(CHECK_CELL.format(prefix=str(prefix.resolve()), site=str(site.resolve())))
    if nb.nbformat_minor < 5:  # cell ids exist from nbformat 4.5 on
        del check["id"]
    nb.cells.insert(0, check)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)
    return dest


def execute(path: pathlib.Path, kernel: str, timeout: int) -> float:
    """Execute a notebook in place from its own folder; the wall time. Raises on any error.

    The kernel process's own messages (not the cells' output) go to `<notebook>.kernel.log`.
    """
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    with open(path.with_suffix(".kernel.log"), "w") as log:
        NotebookClient(nb, timeout=timeout, kernel_name=kernel, record_timing=False,
                       resources={"metadata": {"path": str(path.parent)}}).execute(stderr=log)
    elapsed = time.perf_counter() - start
    nbformat.write(nb, path)
    return elapsed


def run_notebooks(paths, dest: pathlib.Path, kernel: str, timeout: int, prefix: pathlib.Path,
                  site: pathlib.Path) -> dict:
    """Copy each notebook into `dest`, execute the copy; `{relative path: seconds, or the error}`.

    `prefix` is the `sys.prefix` the kernel must have, `site` the folder `lstm_course` must come from.
    """
    results = {}
    for path in paths:
        name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
        copy = prepare_copy(path, dest / name, prefix, site)
        print(f"  {name} ...", end="", flush=True)
        try:
            results[name] = execute(copy, kernel, timeout)
            print(f" {results[name]:.1f} s", flush=True)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            results[name] = error
            if isinstance(error, DeadKernelError):  # the kernel's own log says why it died
                results[name] = f"{error}\nthe kernel's log ends:\n{copy.with_suffix('.kernel.log').read_text()[-2000:]}"
            print(" FAILED", flush=True)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=pathlib.Path)
    parser.add_argument("--numpy", default="older", help="NumPy: older (default), pinned, or a requirement")
    parser.add_argument("--torch", default="pinned", help="torch: pinned (default), older, or a requirement")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the fresh environment")
    parser.add_argument("--threads", type=int, default=2, help="OpenMP/MKL/OpenBLAS threads (default 2)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell (default 900)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print it")
    args = parser.parse_args(argv)
    pinned = pins()
    numpy, torch = requirement("numpy", args.numpy, pinned), requirement("torch", args.torch, pinned)
    paths = [p.resolve() for p in args.paths] or all_notebooks()
    threads = {name: str(args.threads) for name in THREAD_VARIABLES}
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV"):
        os.environ.pop(name, None)  # the kernels inherit this environment: nothing may point at the repo

    work = pathlib.Path(tempfile.mkdtemp(prefix="lstm-course-colab-check-")).resolve()
    if work.is_relative_to(ROOT):
        raise SystemExit(f"the temporary folder {work} is inside the repository; set TMPDIR elsewhere")
    start = time.perf_counter()
    try:
        wheel = build_wheel(work)
        python = create_environment(work, wheel, numpy, torch, args.python)
        os.environ["JUPYTER_PATH"] = str(work / "jupyter")
        write_kernelspec(work / "jupyter", python, threads)
        versions = installed_versions(python)
        print(f"\ncolab-check: {wheel.name}, installed in a fresh environment outside the repository")
        for name, version in versions.items():
            pin = pinned.get(name.lower())
            print(f"  {name:<12} {version or 'missing':<14}" + (f" (requirements.txt pins {pin})" if pin else ""))
        print(f"  threads      {args.threads} ({', '.join(THREAD_VARIABLES)})\n")
        print(f"executing {len(paths)} notebook(s), each from a copy outside the repository:", flush=True)
        prefix = pathlib.Path(run_env_python(python, "import sys; print(sys.prefix)"))
        site = pathlib.Path(run_env_python(python, "import sysconfig; print(sysconfig.get_path('purelib'))"))
        results = run_notebooks(paths, work / "notebooks", KERNEL, args.timeout, prefix, site)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    failed = {name: error for name, error in results.items() if not isinstance(error, float)}
    times = {name: seconds for name, seconds in results.items() if isinstance(seconds, float)}
    print("\nwall time per notebook:")
    for name, seconds in sorted(times.items(), key=lambda item: -item[1]):
        print(f"  {seconds:7.1f} s  {name}")
    print(f"  {sum(times.values()):7.1f} s  in all notebooks; {time.perf_counter() - start:.0f} s in all")
    for name, error in failed.items():
        print(f"\nFAILED {name}:\n{error}")
    if failed:
        print(f"\ncolab-check failed: {len(failed)} of {len(results)} notebook(s)")
        return 1
    print(f"\ncolab-check passed: {len(results)} notebook(s), numpy {versions['numpy']}, torch {versions['torch']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
