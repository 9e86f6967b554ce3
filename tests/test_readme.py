"""The README's examples are executed, so that the README cannot go stale.

Every ```console block is a session: lines starting with ``$ simsvc`` are commands
(a trailing backslash continues one), the lines after a command are what it prints.
Every ```python block is run as a script. A block is compared *structurally*, never
character by character: each printed table (a header, a rule of dashes, rows) must
have the same columns and the same row names, every ``mean ±half-width`` cell must
agree with the README's within the two confidence intervals (doubled, so that one
cell among many does not fail by chance), and decisions must not flip: a difference
marked ``*`` keeps its sign, a target status ``met`` never becomes ``not met`` and vice
versa, and with the README's own replications the decision lines are the same.

Markers, an HTML comment on the line before a block (other sections may add blocks;
by default they run):

* ``<!-- readme-test: reps=N -->`` runs every simulation command of the block with
  N replications (CI time); CIs are then wider, and still compared.
* ``<!-- readme-test: slow -->`` runs the block only with the slow tests.
* ``<!-- readme-test: skip REASON -->`` does not run it (say why: a file the README
  does not show, a results folder of a run made elsewhere).

Commands run in a temporary folder holding links to the repository's scenarios and
experiments, with ``--out`` and ``--no-report`` added, so nothing is written into
the repository and no plots are drawn.
"""
from __future__ import annotations

import math
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SIMULATING = {"run", "compare", "sweep", "experiment"}
MARKER = re.compile(r"<!--\s*readme-test:\s*(.*?)\s*-->")
CELL = re.compile(r"^([+-]?[\d,]*\.?\d+)(?: ±([\d,]*\.?\d+))?( \*)?$")


@dataclass
class Block:
    kind: str            # console | python
    line: int            # 1-based line of the opening fence
    text: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"README.md:{self.line}:{self.kind}"


def readme_blocks(text: str) -> list[Block]:
    """Every ```console and ```python block with the options of the marker just before it."""
    blocks, lines = [], text.splitlines()
    k = 0
    while k < len(lines):
        m = re.fullmatch(r"```(console|python)\s*", lines[k])
        if not m:
            k += 1
            continue
        j = k + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        options: dict[str, str] = {}
        prev = k - 1
        while prev >= 0 and not lines[prev].strip():
            prev -= 1
        marker = MARKER.fullmatch(lines[prev].strip()) if prev >= 0 else None
        if marker and marker.group(1).startswith("skip"):
            options["skip"] = marker.group(1)[4:].strip()
        elif marker:
            for word in marker.group(1).split():
                key, _, value = word.partition("=")
                options[key] = value
        blocks.append(Block(m.group(1), k + 1, "\n".join(lines[k + 1:j]), options))
        k = j + 1
    return blocks


def console_session(text: str) -> list[tuple[str, list[str]]]:
    """(command, printed lines) pairs of a console block."""
    session: list[tuple[str, list[str]]] = []
    lines = text.splitlines()
    k = 0
    while k < len(lines):
        if lines[k].startswith("$ "):
            command = lines[k][2:]
            while command.rstrip().endswith("\\") and k + 1 < len(lines):
                k += 1
                command = command.rstrip()[:-1].rstrip() + " " + lines[k].strip()
            session.append((command.split("  #", 1)[0].strip(), []))
        elif session:
            session[-1][1].append(lines[k])
        k += 1
    return session


def tables(lines: list[str]) -> list[list[list[str]]]:
    """Plain tables in printed output: header, a rule of dashes, rows (cells split on 2+ spaces)."""
    out, k = [], 0
    while k + 1 < len(lines):
        if lines[k].strip() and re.fullmatch(r"[- ]+", lines[k + 1].strip() or "x") and "--" in lines[k + 1]:
            rows = [re.split(r"\s{2,}", lines[k].strip())]
            k += 2
            while k < len(lines) and lines[k].strip():
                rows.append(re.split(r"\s{2,}", lines[k].strip()))
                k += 1
            out.append(rows)
        else:
            k += 1
    return out


def number(text: str) -> tuple[float, float, bool] | None:
    """``mean ±half *`` → (mean, half, significant); None when the cell is not a number."""
    m = CELL.match(text.strip())
    if not m:
        return None
    half = float(m.group(2).replace(",", "")) if m.group(2) else math.nan
    return float(m.group(1).replace(",", "")), half, bool(m.group(3))


def decisions(lines: list[str]) -> list[str]:
    return [x.strip() for x in lines if x.strip().startswith(("cheapest point", "no point meets"))
            or re.match(r"\d+ points meet", x.strip())]


STATUS_FLIPS = {("met", "not met"), ("not met", "met")}


def compare_output(expected: list[str], actual: list[str], reduced: bool) -> None:
    want, got = tables(expected), tables(actual)
    assert len(got) == len(want), f"{len(want)} tables in the README, {len(got)} printed:\n" + "\n".join(actual)
    for w, g in zip(want, got):
        assert g[0] == w[0], f"columns differ:\n  README  {w[0]}\n  printed {g[0]}"
        assert [r[0] for r in g] == [r[0] for r in w], "rows differ:\n" + "\n".join(actual)
        for w_row, g_row in zip(w[1:], g[1:]):
            assert len(g_row) == len(w_row), (w_row, g_row)
            for col, (wc, gc) in enumerate(zip(w_row, g_row)):
                name = f"{w_row[0]} / {w[0][col]}"
                wn, gn = number(wc), number(gc)
                if wn is None or gn is None:
                    base_w, base_g = wc.split(" (")[0], gc.split(" (")[0]
                    if (base_w, base_g) in STATUS_FLIPS:
                        raise AssertionError(f"{name}: README says {wc!r}, printed {gc!r}")
                    if not reduced:   # the README's own replications: the same words
                        assert gc == wc, f"{name}: README says {wc!r}, printed {gc!r}"
                    continue
                (wm, wh, ws), (gm, gh, gs) = wn, gn
                tol = 2 * ((0 if math.isnan(wh) else wh) + (0 if math.isnan(gh) else gh))
                if math.isnan(wh) and math.isnan(gh):
                    tol = 0.1 * abs(wm) + 1  # a count without a CI: close (fewer replications), not equal
                assert abs(gm - wm) <= tol + 1e-9 * abs(wm), f"{name}: README {wc}, printed {gc}"
                if ws:   # a significant difference keeps its sign
                    assert math.copysign(1, gm) == math.copysign(1, wm), f"{name}: README {wc}, printed {gc}"
                    if not reduced:
                        assert gs, f"{name}: README marks {wc} significant, printed {gc}"
    if not reduced:
        assert decisions(actual) == decisions(expected)


def _with_reps(args: list[str], reps: str | None) -> list[str]:
    if reps is None or args[0] not in SIMULATING:
        return args
    out, k = [], 0
    while k < len(args):
        if args[k] in ("-n", "--reps"):
            k += 2
            continue
        out.append(args[k])
        k += 1
    return out + ["--reps", reps]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder with the repository's scenarios and experiments, nothing else."""
    for name in ("scenarios", "experiments", "docs"):
        if (ROOT / name).exists():
            os.symlink(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


def _params():
    for b in BLOCKS:
        marks = []
        if "skip" in b.options:
            marks.append(pytest.mark.skip(reason=f"README marker: skip {b.options['skip']}".strip()))
        if "slow" in b.options:
            marks.append(pytest.mark.slow)
        yield pytest.param(b, id=b.id, marks=marks)


@pytest.mark.parametrize("block", list(_params()))
def test_readme_block(block: Block, workdir: Path):
    if block.kind == "python":
        code = block.text
        if "reps" in block.options:
            code = re.sub(r"replications=\d+", f"replications={block.options['reps']}", code)
        exec(compile(code, block.id, "exec"), {"__name__": "__readme__"})
        return
    from simsvc.cli import main

    session = console_session(block.text)
    assert session, f"{block.id}: no command"
    for k, (command, expected) in enumerate(session):
        words = shlex.split(command)
        assert words[0] == "simsvc", f"{block.id}: only simsvc commands can run: {command}"
        args = _with_reps(words[1:], block.options.get("reps"))
        if args[0] in SIMULATING:
            # compare/sweep/experiment resume from their folder (a second command of the block
            # reuses the first's replications, as in the README); each run needs a new folder.
            folder = workdir / (f"out{k}" if args[0] == "run" else "out")
            args += ["--out", str(folder), "--no-report"]
        result = CliRunner().invoke(main, args)
        expected_rc = 2 if any(x.startswith("error:") for x in expected) else 0
        assert result.exit_code == expected_rc, f"{command}\n{result.output}"
        compare_output(expected, result.stdout.splitlines(), reduced="reps" in block.options)


def test_parser_reads_markers_sessions_and_tables():
    text = ("<!-- readme-test: reps=3 -->\n```console\n$ simsvc run a.yaml \\\n    -n 10  # note\n"
            "name  x\n----  -----\na     1 ±2\n```\n\n<!-- readme-test: skip no file -->\n```python\nx\n```\n")
    blocks = readme_blocks(text)
    assert [(b.kind, b.options) for b in blocks] == [("console", {"reps": "3"}), ("python", {"skip": "no file"})]
    ((command, out),) = console_session(blocks[0].text)
    assert command == "simsvc run a.yaml -n 10"
    assert tables(out) == [[["name", "x"], ["a", "1 ±2"]]]
    assert _with_reps(["run", "a.yaml", "-n", "10"], "3") == ["run", "a.yaml", "--reps", "3"]
    with pytest.raises(AssertionError):   # a flipped target status fails
        compare_output(["n  t", "--  --", "a  met"], ["n  t", "--  --", "a  not met"], reduced=True)
    with pytest.raises(AssertionError):   # a mean far outside both CIs fails
        compare_output(["n  m", "--  --", "a  10 ±1"], ["n  m", "--  --", "a  20 ±1"], reduced=True)
    compare_output(["n  m", "--  --", "a  10 ±1"], ["n  m", "--  --", "a  12 ±1.5"], reduced=True)
