"""The run around the event loop: start-up imports, streamed results, the report's wait histogram."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simsvc.experiment.runner as runner
from simsvc.config.load import validate
from simsvc.experiment.output import write_results
from simsvc.experiment.runner import TABLES, run
from simsvc.report.data import WAIT_BIN_S, wait_histogram, wait_histogram_of_file
from simsvc.report.wait_plots import _ecdf, _quantile

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "matplotlib", "scipy", "dask", "pyarrow", "simpy")


def _imported_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return out.stdout.split()


def test_cli_help_and_check_do_not_import_heavy_libraries() -> None:
    help_ = "from click.testing import CliRunner\nfrom simsvc.cli import main\n" \
            "assert CliRunner().invoke(main, ['--help']).exit_code == 0"
    check = "from click.testing import CliRunner\nfrom simsvc.cli import main\n" \
            "r = CliRunner().invoke(main, ['check', 'scenarios/baseline.yaml'])\nassert r.exit_code == 0, r.output"
    assert _imported_after(help_) == []
    assert _imported_after(check) == []
    # nor what only `--set` or a bad scenario needs (overrides with difflib, pydantic error wording)
    lazy = ("simsvc.config.overrides", "simsvc.config.problems", "difflib")
    probe = f"{check}\nimport sys; print(' '.join(m for m in {lazy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == []


def test_a_run_draws_its_report_in_another_process_and_imports_no_matplotlib(tmp_path: Path) -> None:
    """Linux: the report is drawn by a process forked before the simulation, so the run's own
    process never imports matplotlib (nor does writing the report's data need it)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the report process needs fork")
    out = tmp_path / "out"
    run_ = ("from click.testing import CliRunner\nfrom simsvc.cli import main\n"
            f"r = CliRunner().invoke(main, ['run', 'scenarios/erlang_a_check.yaml', '--reps', '2', '--set', "
            f"'horizon=4h', '--set', 'warmup=1h', '--workers', '1', '--out', {str(out)!r}])\n"
            "assert r.exit_code == 0, r.output")
    assert "matplotlib" not in _imported_after(run_)
    assert (out / "report.html").is_file() and len(list((out / "plots").glob("*.png"))) >= 4
    assert "matplotlib" not in _imported_after("import simsvc.report, simsvc.report.live, simsvc.report.aside, "
                                               "simsvc.report.files")


def test_scenario_yaml_is_the_text_of_pyyaml_own_emitter() -> None:
    """scenario.yaml and `check` use libyaml's emitter when present: the same text as PyYAML's."""
    import yaml

    from simsvc.config.load import load_scenario, scenario_dict, scenario_yaml

    tricky = small().model_copy(update={"description": "Überlauf: 'quotes', \"more\" & a long line " * 6})
    for scenario in [tricky] + [load_scenario(p) for p in sorted((ROOT / "scenarios").glob("*.yaml"))
                            if "roster_rules" not in p.name]:
        assert scenario_yaml(scenario) == yaml.safe_dump(scenario_dict(scenario), sort_keys=False,
                                                         allow_unicode=True)


def small(horizon: str = "1d") -> object:
    return validate({
        "name": "stream", "horizon": horizon, "warmup": "2h", "seed": 5,
        "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "90s"}}},
        "demand": {"phone": {"rate": "150/h"}},
        "handling": {"phone": {"dist": "exponential", "mean": "4min"}},
        "resolution": {"phone": 0.8},
        "agents": {"team": {"skills": ["phone"], "staffing": 9}},
    })


@pytest.mark.parametrize("workers", [1, 2])
def test_streamed_run_holds_no_table_and_reads_back_what_memory_holds(tmp_path: Path, workers: int) -> None:
    scenario = small()
    in_memory = run(scenario, replications=3, seed=2)
    streamed = run(scenario, replications=3, seed=2, workers=workers, out=tmp_path / "out")
    assert streamed.path == tmp_path / "out"
    assert streamed._tables == {}  # nothing kept: every table is in the folder
    assert {p.name for p in streamed.path.iterdir()} >= {f"{t}.parquet" for t in ("contacts", "intervals",
                                                                                  "pools", "issues")}
    pd.testing.assert_frame_equal(streamed.summary, in_memory.summary)
    pd.testing.assert_frame_equal(streamed.contacts, in_memory.contacts, check_exact=True)
    assert streamed.manifest["arrivals"] == in_memory.manifest["arrivals"]
    # The folder written from memory (all replications at once) holds the same tables
    # (as Parquet reads them back) and the same CSVs, byte for byte.
    written = write_results(in_memory, tmp_path / "from-memory")
    for name in ("contacts", "intervals", "pools", "issues"):
        pd.testing.assert_frame_equal(getattr(streamed, name), pd.read_parquet(written / f"{name}.parquet"),
                                      check_exact=True)
    for name in ("summary.csv", "replications.csv"):
        assert (written / name).read_bytes() == (streamed.path / name).read_bytes()
    # A streamed result written elsewhere is a copy of its folder.
    copied = write_results(streamed, tmp_path / "copy")
    assert streamed.path == tmp_path / "out"
    for name in ("contacts", "intervals", "pools", "issues"):
        assert (copied / f"{name}.parquet").read_bytes() == (streamed.path / f"{name}.parquet").read_bytes()


def test_a_streamed_run_lets_each_replication_go_before_the_next(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory flat in replications: once a replication's tables are written, nothing in
    the run holds them while the next replication is simulated."""
    import gc
    import weakref

    before: list[weakref.ref] = []
    alive_at_start: list[bool] = []
    real = runner.run_replication

    def watched(*args, **kwargs):
        gc.collect()
        alive_at_start.append(any(ref() is not None for ref in before))
        tables = real(*args, **kwargs)
        before.append(weakref.ref(tables.contacts))
        return tables

    monkeypatch.setattr(runner, "run_replication", watched)
    run(small("3h"), replications=3, seed=2, out=tmp_path / "out")
    assert alive_at_start == [False, False, False]


def test_a_failed_streamed_run_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = runner.run_replication

    def fails_on_second(scenario, root, replication, *args):
        if replication == 1:
            raise RuntimeError("boom")
        return real(scenario, root, replication, *args)

    monkeypatch.setattr(runner, "run_replication", fails_on_second)
    with pytest.raises(RuntimeError, match="boom"):
        run(small("6h"), replications=3, seed=1, out=tmp_path / "out")
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its hidden temporary


def test_result_tables_are_named() -> None:
    with pytest.raises(KeyError):
        run(small("3h"), replications=1, seed=1).table("contact")
    assert set(TABLES) >= {"contacts", "intervals", "pools", "issues"}


def _contacts(n: int = 20_000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    wait = np.where(rng.random(n) < 0.3, 0.0, rng.exponential(25.0, n))
    wait[rng.random(n) < 0.002] = rng.uniform(3600, 9000)  # a few beyond an hour
    outcome = rng.choice(["answered", "abandoned", "lost"], n, p=[0.8, 0.15, 0.05])
    wait[outcome == "lost"] = 0.0
    return pd.DataFrame({
        "channel": pd.Categorical(rng.choice(["phone", "chat"], n), categories=["phone", "chat", "email"]),
        "outcome": pd.Categorical(outcome),
        "wait_s": np.where(rng.random(n) < 0.01, np.nan, wait),
        "in_warmup": rng.random(n) < 0.1,
    })


def test_wait_histogram_keeps_counts_and_moves_waits_by_less_than_a_bin(tmp_path: Path) -> None:
    contacts = _contacts()
    hist = wait_histogram(contacts)
    kept = contacts[~contacts["in_warmup"] & contacts["wait_s"].notna()]
    for (channel, outcome), part in kept.groupby(["channel", "outcome"], observed=True):
        h = hist[(hist["channel"] == channel) & (hist["outcome"] == outcome)]
        waits = np.sort(part["wait_s"].to_numpy())
        assert h["count"].sum() == len(waits)
        grid = np.linspace(0.0, 200.0, 400)
        exact = np.searchsorted(waits, grid, side="right") / len(waits)
        drawn = _ecdf(h["wait_s"].to_numpy(), h["count"].to_numpy(), grid)
        # Binning moves each wait up by less than one bin: the curve lies between the
        # exact one and the exact one shifted a bin to the right.
        assert np.all(drawn <= exact + 1e-12)
        assert np.all(drawn >= np.searchsorted(waits, grid - WAIT_BIN_S, side="right") / len(waits) - 1e-12)
        # "answered within 20 s" is exact for a whole-second threshold.
        assert h["count"][h["wait_s"] <= 20].sum() == (waits <= 20).sum()
        q = _quantile(h["wait_s"].to_numpy(), h["count"].to_numpy(), 0.99)
        assert abs(q - np.quantile(waits, 0.99)) <= 60.0 if q > 3600 else WAIT_BIN_S
    # Read from a Parquet file a few rows at a time: the same histogram.
    file = tmp_path / "contacts.parquet"
    contacts.to_parquet(file, row_group_size=3_000)
    pd.testing.assert_frame_equal(wait_histogram_of_file(file, batch_rows=2_500), hist)


def test_quantile_of_counts_is_numpy_quantile_of_the_repeated_values() -> None:
    values = np.array([0.0, 1.5, 2.0, 7.25])
    counts = np.array([3, 1, 4, 2])
    for q in (0.0, 0.37, 0.5, 0.99, 1.0):
        assert _quantile(values, counts, q) == pytest.approx(np.quantile(np.repeat(values, counts), q))
