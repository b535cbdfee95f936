"""The labs as an nbgrader course: student versions, and autograding with nbgrader's own gradebook.

The committed labs (notebooks/lab*.ipynb) are nbgrader *source* notebooks: solutions between
nbgrader's solution markers, hidden tests in graded cells, nbgrader metadata on every graded or
solution cell. This script only arranges files and calls nbgrader's Python API (one process for all labs: nbgrader
takes seconds to import); nbgrader does the work.

Usage::

    python tools/nbgrader_course.py release [--course student] [LAB ...]
        a course directory (nbgrader_config.py, source/LAB/LAB.ipynb, gradebook.db) and the
        student versions from `nbgrader generate_assignment`, in COURSE/release/LAB/LAB.ipynb
        (every lab when none is named). `make student` runs this.
    python tools/nbgrader_course.py autograde [--course student] LAB
        `nbgrader autograde LAB` on COURSE/submitted/*/LAB/LAB.ipynb, then every student's
        score per graded cell, read from the gradebook.

An instructor running a class uses nbgrader's own commands in the course directory
(`nbgrader release_assignment`, `collect`, `autograde`, `generate_feedback`); see the
instructor guide. nbgrader is a requirement of the development environment (requirements.txt),
not of the lstm_course package.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
LABS_DIR = ROOT / "notebooks"
COURSE_ID = "lstm-course"

CONFIG = '''\
# nbgrader configuration of the course "LSTMs from the Ground Up" (written by tools/nbgrader_course.py).
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.db_assignments = {assignments!r}
c.CourseDirectory.db_students = {students!r}
# The lab notebooks take up to a minute each; a slow machine may take several.
c.ExecutePreprocessor.timeout = 600
c.Execute.timeout = 600
# Student versions keep nbgrader's default stubs ("# YOUR CODE HERE" / raise NotImplementedError()).
'''


def lab_names(labs_dir: pathlib.Path = LABS_DIR) -> list[str]:
    """The stems of every lab notebook in ``labs_dir``, in order."""
    names = sorted(p.stem for p in labs_dir.glob("lab*.ipynb"))
    if not names:
        raise ValueError(f"no lab notebook (lab*.ipynb) in {labs_dir}")
    return names


def _environment() -> None:
    """nbgrader's database migrations run the ``alembic`` of this interpreter; the kernels it starts
    import this checkout's lstm_course with one BLAS thread, wherever the course directory lies."""
    os.environ["PATH"] = str(pathlib.Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def api(course):
    """nbgrader's Python API (``NbGraderAPI``) on the course directory, configured by its nbgrader_config.py."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import PyFileConfigLoader

    _environment()
    course = pathlib.Path(course).resolve()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return NbGraderAPI(config=config)


def _run(result: dict, what: str) -> None:
    if not result.get("success"):
        raise RuntimeError(f"nbgrader {what} failed:\n{result.get('error') or ''}\n{result.get('log') or ''}")


def setup_course(course, labs=None, students=(), labs_dir: pathlib.Path = LABS_DIR) -> list[str]:
    """Write ``course``/nbgrader_config.py and copy the labs into ``course``/source/LAB/LAB.ipynb.

    Args:
        course: the course directory (created if missing).
        labs: lab names (``"lab3_lstm_numpy"``); None for every lab in ``labs_dir``.
        students: student ids to register in the gradebook.

    Returns:
        the lab names set up.
    """
    course = pathlib.Path(course)
    available = lab_names(labs_dir)
    labs = available if not labs else list(labs)
    unknown = [lab for lab in labs if lab not in available]
    if unknown:
        raise ValueError(f"no lab named {unknown[0]!r}; the labs are {', '.join(available)}")
    if course.resolve() in (labs_dir.resolve(), ROOT.resolve()):
        raise ValueError(f"the course directory {course} would overwrite the labs; choose another (e.g. student/)")
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(CONFIG.format(
        root=str(course.resolve()), course_id=COURSE_ID, assignments=[{"name": lab} for lab in labs],
        students=[{"id": s} for s in students]), encoding="utf8")
    for lab in labs:
        folder = course / "source" / lab
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(labs_dir / f"{lab}.ipynb", folder / f"{lab}.ipynb")
    return labs


def release(course, labs=None, labs_dir: pathlib.Path = LABS_DIR) -> list[pathlib.Path]:
    """Set up the course and generate the student versions; returns their paths (release/LAB/LAB.ipynb)."""
    course = pathlib.Path(course)
    labs = setup_course(course, labs, labs_dir=labs_dir)
    grader = api(course)
    for lab in labs:
        _run(grader.generate_assignment(lab, force=True), f"generate_assignment {lab}")
    return [course / "release" / lab / f"{lab}.ipynb" for lab in labs]


def submit(course, lab: str, student: str, notebook) -> pathlib.Path:
    """Place ``notebook`` where ``nbgrader collect`` puts a submission: submitted/STUDENT/LAB/LAB.ipynb."""
    target = pathlib.Path(course) / "submitted" / student / lab / f"{lab}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(notebook, target)
    return target


def autograde(course, lab: str) -> dict:
    """``nbgrader autograde LAB`` on every submission in submitted/, then :func:`scores`."""
    course = pathlib.Path(course)
    grader = api(course)
    students = sorted(p.parent.parent.name for p in course.glob(f"submitted/*/{lab}/{lab}.ipynb"))
    if not students:
        raise ValueError(f"no submission of {lab} in {course / 'submitted'}")
    for student in students:
        _run(grader.autograde(lab, student, force=True, create=True), f"autograde {lab} for {student}")
    return scores(course, lab)


def scores(course, lab: str) -> dict:
    """Every student's result on ``lab`` from the gradebook.

    Returns:
        ``{student: {"score", "max_score", "auto": {grade_id: (score, max)}, "manual": {grade_id: max}}}``:
        the automatic score, and the written answers (graded by hand in formgrader) with their points.
    """
    from nbgrader.api import Gradebook

    course = pathlib.Path(course)
    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for submission in gb.assignment_submissions(lab):
            notebook = submission.notebooks[0]
            auto, manual = {}, {}
            for grade in notebook.grades:
                cell = grade.cell
                if grade.auto_score is not None or cell.cell_type == "code":
                    auto[cell.name] = (float(grade.auto_score or 0.0), float(cell.max_score))
                else:
                    manual[cell.name] = float(cell.max_score)
            out[submission.student_id] = {"score": sum(s for s, _ in auto.values()),
                                          "max_score": float(notebook.max_score), "auto": auto, "manual": manual}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/nbgrader_course.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("release", help="the course directory and the student versions of the labs")
    r.add_argument("labs", nargs="*", help="lab names (default: every lab)")
    a = sub.add_parser("autograde", help="autograde the submissions of one lab and print the scores")
    a.add_argument("lab")
    for p in (r, a):
        p.add_argument("--course", type=pathlib.Path, default=ROOT / "student", help="the course directory")
    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            for path in release(args.course, args.labs or None):
                print(f"wrote {path}")
            return 0
        result = autograde(args.course, args.lab)
    except (ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for student, r in sorted(result.items()):
        print(f"{student:<20} {r['score']:g}/{r['max_score']:g}"
              + (f"   (+ {len(r['manual'])} written answer(s) to grade in formgrader)" if r["manual"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
