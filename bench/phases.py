"""Run a simsvc command with a clock on each phase of its own (parent) process.

``python bench/phases.py TIMES.json simsvc-args...`` runs ``simsvc simsvc-args...`` in
this process with timers wrapped around the functions each phase of ``simsvc run``
consists of, and writes, when the process exits, what each phase cost on the critical
path (its own seconds, the phases it called subtracted) to ``TIMES.json``. Also written: the
process's start (``time.perf_counter``, which is the system-wide monotonic clock on
Linux, so the caller can compare it with its own clock) and the first imports of the
heavy libraries (numpy, pandas, ...) as phases of their own.

Nothing of simsvc is changed: the wrappers are installed on each module as it is
imported (a ``sys.meta_path`` hook), so the command imports what it imports, when it
does. The timers cost a few microseconds per call; the wrapped functions are called a
few dozen times per run, the import hook once per module (about 1,000).
"""
from __future__ import annotations

import atexit
import functools
import importlib.abc
import importlib.machinery
import json
import os
import sys
import time

T0 = time.perf_counter()
TIMES = sys.argv[1] if len(sys.argv) > 1 else "phases.json"   # where the phases are written

# module -> [(attribute path, phase name)]; a dotted path wraps a method of a class.
WRAP: dict[str, list[tuple[str, str]]] = {
    "simsvc.cli._common": [("load_or_exit", "scenario load + validate"), ("warn_capacity", "checks"),
                           ("check_work", "checks"), ("prepare_output", "checks"),
                           ("write_report_or_warn", "report from folder")],
    "simsvc.cli.run_cmd": [("progress_notice", "checks"), ("summary_table", "print results"),
                           ("worst_day_lines", "print results")],
    "simsvc.experiment.runner": [("simulate", "simulate (build + loop)"),
                                 ("summ.summarise", "summary (CIs)"), ("daily_summary", "summary (CIs)"),
                                 ("manifest", "manifest"), ("release_memory", "release memory"),
                                 ("tables.intervals_frame", "tables: intervals"),
                                 ("tables.pools_frame", "tables: pools"),
                                 ("customer_view", "tables: customer view"),
                                 ("customer_metrics", "tables: customer view"),
                                 ("issues_frame", "tables: issues"), ("contact_columns", "tables: contacts"),
                                 ("tables.contacts_frame", "tables: contacts"),
                                 # the names since the row tables (the ones above: an older checkout, --tree)
                                 ("issue_rows", "tables: issues"), ("tables.contact_rows", "tables: contacts"),
                                 ("summ.centre_rows", "replication metrics"),
                                 ("summ.replication_metrics", "replication metrics")],
    "simsvc.experiment.output": [("ResultsWriter.add", "write tables"), ("ResultsWriter.finish", "write + place folder")],
    "simsvc.plan.requirements": [("required_columns_adder", "Erlang columns (set up)")],
    "simsvc.report.live": [("LiveReport.__init__", "report fork"), ("LiveReport.finish", "report wait"),
                           ("LiveReport.start", "report data (send)"),
                           ("ReportTables.add", "report tables (wait histogram)"),
                           ("ReportTables.early", "report data (send)")],
}
# Imports are timed by library (their own seconds: a library imported by another counts as its own).
HEAVY = ("numpy", "pandas", "pyarrow", "scipy", "simpy", "pydantic", "matplotlib", "yaml", "click", "tqdm")

self_s: dict[str, float] = {}
calls: dict[str, int] = {}
_stack: list[list[float]] = []   # per open phase: [time spent in phases it called]
loop_s: list[float] = []


def _enter() -> None:
    _stack.append([0.0])


def _leave(name: str, start: float) -> None:
    now = time.perf_counter()
    spent = now - start
    inner = _stack.pop()[0]
    self_s[name] = self_s.get(name, 0.0) + spent - inner
    calls[name] = calls.get(name, 0) + 1
    if _stack:
        _stack[-1][0] += spent


def timed(name: str, fn):
    if getattr(fn, "__phase__", None):
        return fn

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _enter()
        start = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        finally:
            _leave(name, start)
        if name.startswith("simulate"):
            loop_s.append(result.wall_s)
        return result

    wrapper.__phase__ = name
    return wrapper


def _install(module) -> None:
    """Wrap the module's phase functions (those it has: another checkout may lack some).

    ``BENCH_RENDER_PROCESSES=N`` in the environment sets ``simsvc.report.render.RENDER_PROCESSES``
    (the report process, forked from this one, inherits the hook); ``BENCH_REPORT_NICENESS=N``
    sets ``simsvc.report.aside.NICENESS``."""
    if module.__name__ == "simsvc.report.render" and os.environ.get("BENCH_RENDER_PROCESSES"):
        module.RENDER_PROCESSES = int(os.environ["BENCH_RENDER_PROCESSES"])
    if module.__name__ == "simsvc.report.aside" and os.environ.get("BENCH_REPORT_NICENESS"):
        module.NICENESS = int(os.environ["BENCH_REPORT_NICENESS"])
    if module.__name__ == "simsvc.report.aside" and hasattr(module, "_serve"):
        module._serve = _report_cpu(module._serve)
    for path, name in WRAP.get(module.__name__, ()):
        owner, *rest = path.split(".")
        holder = module if not rest else getattr(module, owner, None)
        attr = rest[0] if rest else owner
        if holder is not None and callable(getattr(holder, attr, None)):
            setattr(holder, attr, timed(name, getattr(holder, attr)))


class _Loader(importlib.abc.Loader):
    def __init__(self, inner, fullname: str) -> None:
        self.inner, self.fullname = inner, fullname

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module) -> None:
        _enter()
        start = time.perf_counter()
        try:
            self.inner.exec_module(module)
        finally:
            _leave(f"import {_library(self.fullname)}", start)
        _install(module)


def _library(module: str) -> str:
    top = module.split(".")[0]
    return top if top in HEAVY or top == "simsvc" else "other modules"


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        for finder in sys.meta_path:
            if finder is self:
                continue
            spec = finder.find_spec(fullname, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader, fullname)
                return spec
        return None


def _report_cpu(serve):
    """The report process's body, followed by writing its CPU seconds (its own and its render
    processes', user + system) to ``TIMES.json.report``: it ends with ``os._exit``, so no
    ``atexit`` runs there."""
    @functools.wraps(serve)
    def wrapper(*args, **kwargs):
        import resource

        try:
            return serve(*args, **kwargs)
        finally:
            cpu = sum(getattr(resource.getrusage(who), field) for who in
                      (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for field in ("ru_utime", "ru_stime"))
            with open(TIMES + ".report", "w") as fh:
                fh.write(repr(cpu))
    return wrapper


def _write(out: str) -> None:
    end = time.perf_counter()
    loop = sum(loop_s)
    phases = dict(self_s)
    if "simulate (build + loop)" in phases:
        phases["model build"] = phases.pop("simulate (build + loop)") - loop
        phases["event loop"] = loop
    phases["rest (start-up, click, other)"] = (end - T0) - sum(phases.values())
    with open(out, "w") as fh:
        json.dump({"t0": T0, "end": end, "phases": phases, "calls": calls}, fh)


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]
    sys.meta_path.insert(0, _Finder())
    atexit.register(_write, out)
    sys.argv = ["simsvc", *args]
    from simsvc.cli import main as simsvc_main

    simsvc_main()


if __name__ == "__main__":
    main()
