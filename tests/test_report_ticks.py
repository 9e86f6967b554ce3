"""Long runs' per-day plot: a label per day while they fit, then one a week (the same weekday);
every day keeps its bars (one collection of rectangles per part, as ``ax.bar`` drew them)."""
from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

from simsvc.report.daily_plots import DAILY_LABELS_UP_TO, lost_by_day  # noqa: E402
from simsvc.report.data import ChannelInfo  # noqa: E402

WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _daily(days: int) -> pd.DataFrame:
    rows = [(d, WEEK[d % 7], "phone", metric, float(d % 5 + k))
            for d in range(days) for k, metric in enumerate(("abandoned", "lost", "lost_closed"))]
    return pd.DataFrame(rows, columns=["day", "weekday", "channel", "metric", "mean"])


@pytest.mark.parametrize("days", [8, DAILY_LABELS_UP_TO, 90])
def test_lost_by_day_labels_each_day_while_they_fit_then_each_week(days: int) -> None:
    fig = lost_by_day(_daily(days), {"phone": ChannelInfo("phone", "voice", 20.0)})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    if days <= DAILY_LABELS_UP_TO:
        assert labels == [f"{d} {WEEK[d % 7]}" for d in range(days)]
    else:
        assert labels == [f"{d} {WEEK[d % 7]}" for d in range(0, days, 7)]
        assert {label.split()[1] for label in labels} == {"mon"}   # the same weekday throughout
    # three stacked parts per day, every day (a collection of rectangles per part)
    assert [len(c.get_paths()) for c in ax.collections] == [days] * 3
    tops = sum(c.get_paths()[-1].vertices[:, 1].max() - c.get_paths()[-1].vertices[:, 1].min()
               for c in ax.collections)
    last = (days - 1) % 5   # the last day: abandoned + queue full (lost less closed: 0) + closed
    assert tops == pytest.approx(last + 0 + (last + 2))


def test_lost_by_day_bars_keep_the_limits_ax_bar_gave() -> None:
    """Each bar's bottom is a sticky edge, as with ax.bar: a stack whose top part is empty ends
    the y axis at its height (no margin above), as the bars did."""
    from matplotlib.figure import Figure

    daily = _daily(19)
    daily.loc[daily["metric"] == "lost_closed", "mean"] = 0.0   # the top part empty
    daily.loc[daily["metric"] == "lost", "mean"] = 0.0
    fig = lost_by_day(daily, {"phone": ChannelInfo("phone", "voice", 20.0)})
    wide = daily.pivot_table(index="day", columns="metric", values="mean")
    ax = Figure().subplots()
    bottom = 0.0
    for col in ("abandoned", "lost", "lost_closed"):
        ax.bar(wide.index, wide[col], bottom=bottom, width=0.7)
        bottom = bottom + wide[col].to_numpy()
    assert fig.axes[0].get_ylim() == pytest.approx(ax.get_ylim())
    assert fig.axes[0].get_xlim() == pytest.approx(ax.get_xlim())
