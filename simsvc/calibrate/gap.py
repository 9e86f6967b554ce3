"""`--presence-gap auto`: choose the presence gap by an inner back-test on the fit days.

An agent counts as logged in between two services less than the presence gap apart
(calibrate/agents.py). The gap changes the logged-in staffing and, through the
effective-availability factor fitted on top of it, the prediction of held-out days,
so it is a model choice to be made on the fit days only. The fit days are split in
two halves in time order; for each gap of a small grid the availability is fitted on
the first half and the second half is replayed with its own arrivals, handle times and
agents present × that factor (the *replay / effective* back-test). The gap with the
least hourly abandonment MAE wins; scores equal to the printed precision (0.001) are
a tie, and a tie goes to the larger gap (the default-like, less aggressive choice).
The days being predicted in a real back-test are never looked at.
On the bank (fit days 1–15 Sun–Thu) the five inner scores lie within their
seed-to-seed spread, so the choice there is noise; hence not the default.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import pandas as pd

GRID_S = (600.0, 900.0, 1200.0, 1800.0, 2700.0)  # 10, 15, 20, 30, 45 min
TIE_DIGITS = 3  # hourly MAEs equal at this many decimals are a tie → the larger gap


@dataclass(frozen=True)
class GapChoice:
    """The chosen gap, every candidate's inner score, and the days used."""

    gap_s: float
    scores: pd.DataFrame  # gap_s, hourly_mae, abandon_rel_error, hours_scored
    inner_fit_days: list
    inner_test_days: list
    reps: int

    def notes(self) -> list[str]:
        """What to write beside the scenario (YAML header and the fit report's assumptions)."""
        span = lambda ds: f"{ds[0].date()}–{ds[-1].date()} ({len(ds)} days)"  # noqa: E731
        parts = [f"{r.gap_s / 60:g} min {r.hourly_mae:.3f}" + (" (chosen)" if r.gap_s == self.gap_s else "")
                 for r in self.scores.itertuples()]
        return [f"presence gap {self.gap_s / 60:g} min chosen by an inner back-test on the fit days (availability "
                f"fitted on {span(self.inner_fit_days)}, replayed on {span(self.inner_test_days)}, "
                f"{self.reps} replication{'s' if self.reps != 1 else ''}); hourly abandonment MAE per gap: "
                + ", ".join(parts)
                + "; least MAE wins, ties (at 0.001) go to the larger gap"]


def split_days(days: list) -> tuple[list, list]:
    """The fit days in two halves in time order (the first gets the smaller half when odd)."""
    ordered = sorted(days)
    if len(ordered) < 2:
        raise ValueError(f"at least 2 fit days to choose the presence gap on (got {len(ordered)}); "
                         "or a duration, e.g. 30min")
    half = len(ordered) // 2
    return ordered[:half], ordered[half:]


def choose_gap(log, days: list, options, grid=GRID_S, reps: int = 2,
               progress: Callable[[str, int, int], None] | None = None) -> GapChoice:
    """Pick the presence gap among ``grid`` (seconds) by the inner back-test described above.

    ``options`` are the fit's options (a ``FitOptions``); only the presence gap varies,
    the staffing basis is ``present`` (the only one with a gap), and the
    effective-availability search is always on (the score is the *replay /
    effective* prediction). Raises ``ValueError`` when the second half has no hour with
    enough contacts to be scored.
    """
    from simsvc.calibrate.backtest import backtest

    say = progress or (lambda what, i, n: None)
    first, second = split_days(days)
    rows = []
    for k, gap_s in enumerate(sorted(grid)):
        what = f"presence gap {gap_s / 60:g} min ({k + 1}/{len(grid)})"
        inner = backtest(log, first, second, reps=reps, seed=options.seed,
                         options=replace(options, presence_gap_s=float(gap_s), staffing_basis="present",
                                         effective=True),
                         variants=(("replay", "effective"),), progress=lambda s, i, n: say(f"{what}: {s}", i, n))
        channels = set(inner.fit.behaviour["channels"])  # not the per-class rows
        s = inner.summary
        ab = s[(s["metric"] == "abandon_rate") & s["channel"].isin(channels)]
        rows.append({"gap_s": float(gap_s), "hourly_mae": float(ab["hourly_mae"].mean()),
                     "abandon_rel_error": float(ab["rel_error"].mean()), "hours_scored": int(ab["hours_scored"].sum())})
    scores = pd.DataFrame(rows)
    if not np.isfinite(scores["hourly_mae"]).any():
        raise ValueError(f"an hour with ≥ 100 contacts over {second[0].date()}–{second[-1].date()} (the second "
                         "half of the fit days) to score the gaps on; or a duration, e.g. 30min")
    return GapChoice(pick_gap(scores), scores, first, second, reps)


def pick_gap(scores: pd.DataFrame) -> float:
    """The gap with the least hourly MAE (rounded to ``TIE_DIGITS``); ties → the larger gap."""
    mae = scores["hourly_mae"].round(TIE_DIGITS)
    return float(scores.loc[mae == mae.min(), "gap_s"].max())


def scores_text(choice: GapChoice) -> str:
    """The inner scores as a small table for the terminal."""
    lines = ["presence gap: inner back-test on the fit days (availability fitted on "
             f"{choice.inner_fit_days[0].date()}–{choice.inner_fit_days[-1].date()}, replayed on "
             f"{choice.inner_test_days[0].date()}–{choice.inner_test_days[-1].date()})",
             f"  {'gap':>7}  {'hourly MAE':>10}  {'abandonment error':>17}  {'hours':>5}"]
    for r in choice.scores.itertuples():
        mark = "  ← chosen" if r.gap_s == choice.gap_s else ""
        err = f"{r.abandon_rel_error:+.0%}" if np.isfinite(r.abandon_rel_error) else "-"
        lines.append(f"  {r.gap_s / 60:>4g} min  {r.hourly_mae:>10.3f}  {err:>17}  {r.hours_scored:>5}{mark}")
    return "\n".join(lines)
