"""A reason's own patience (``reasons.<r>.patience``): validated, drawn for that reason's
contacts only, and what the queue acts on (abandonment against Erlang A)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simsvc.analytic import mmc_m
from simsvc.config.errors import ScenarioError
from simsvc.config.load import validate
from simsvc.model.centre import simulate
from simsvc.observe.tables import contacts_frame

ROOT = Path(__file__).resolve().parent.parent


def scenario(reasons: dict, *, agents: int, rate_per_h: float, hours: int = 8, patience: str = "60s") -> dict:
    shares = {r: 1.0 / len(reasons) for r in reasons}
    return {
        "name": "reason patience", "seed": 7, "horizon": f"{hours}h", "interval": "1h",
        "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": patience}}},
        "reasons": reasons,
        "demand": {"phone": {"rate": f"{rate_per_h:g}/h", "mix": shares}},
        "handling": {"phone": {"dist": "exponential", "mean": "240s"}},
        "agents": {"team": {"skills": ["phone"], "staffing": agents}},
    }


def contacts(data: dict, replication: int = 0):
    s = validate(data)
    return contacts_frame(s, simulate(s, s.seed, replication))


def test_bad_reason_patience_names_the_field():
    data = scenario({"slow": {"patience": {"dist": "exponential", "mean": "-5s"}}, "fast": {}},
                    agents=2, rate_per_h=10)
    with pytest.raises(ScenarioError) as exc:
        validate(data)
    assert "reasons.slow.patience" in str(exc.value)


def test_reason_patience_without_any_channel_patience_is_refused():
    data = scenario({"slow": {"patience": {"dist": "exponential", "mean": "600s"}}, "fast": {}},
                    agents=2, rate_per_h=10)
    del data["channels"]["phone"]["patience"]
    with pytest.raises(ScenarioError) as exc:
        validate(data)
    assert "reasons.slow.patience" in str(exc.value) and "channel" in str(exc.value)


def test_each_reason_draws_its_own_patience():
    """Recorded patience: the reason with its own (600 s) against the channel's (60 s), and
    the reason without one takes the channel's stream in arrival order (the numbers every
    contact would have drawn, in order, had no reason its own)."""
    two = {"slow": {"patience": {"dist": "exponential", "mean": "600s"}}, "fast": {}}
    c = contacts(scenario(two, agents=1, rate_per_h=400, hours=4))
    p = c.groupby("reason", observed=True)["patience_s"].agg(["mean", "size"])
    for reason, mean in (("slow", 600.0), ("fast", 60.0)):
        m, n = p.loc[reason, "mean"], p.loc[reason, "size"]
        assert n > 500
        assert abs(m - mean) < 4 * mean / np.sqrt(n), (reason, m, n)
    same = contacts(scenario({"slow": {}, "fast": {}}, agents=1, rate_per_h=400, hours=4))
    fast = c[c["reason"] == "fast"].sort_values("arrival_s")["patience_s"].to_numpy()
    assert np.array_equal(fast, same.sort_values("arrival_s")["patience_s"].to_numpy()[:len(fast)])


def test_reason_patience_is_what_the_queue_acts_on():
    """One reason whose own patience (120 s) overrides a channel patience nobody would reach
    (10⁶ s): abandonment matches Erlang A with 120 s within the replications' 99 % interval."""
    lam_h, agents, hours = 180.0, 11, 24  # load 12 on 11 agents: abandonment ~12 %
    data = scenario({"general": {"patience": {"dist": "exponential", "mean": "120s"}}},
                    agents=agents, rate_per_h=lam_h, hours=hours, patience="1000000s")
    del data["demand"]["phone"]["mix"]
    data["warmup"] = "1h"
    rates = []
    for rep in range(4):
        c = contacts(data, rep)
        c = c[c["arrival_s"] >= 3600.0]
        rates.append((c["outcome"] == "abandoned").mean())
    expected = mmc_m(lam_h / 3600.0, 240.0, agents, 120.0, 20.0).p_abandon
    half = 5.84 * np.std(rates, ddof=1) / 2.0  # t(3) 99 %
    assert abs(np.mean(rates) - expected) < max(half, 0.005), (rates, expected)
    assert expected > 0.05  # a channel patience of 10⁶ s alone would give almost none


def _mixed_rows() -> dict:
    data = scenario({"a": {}, "b": {}}, agents=3, rate_per_h=10, hours=48)
    data["demand"]["phone"] = {"mix": {"a": 0.5, "b": 0.5}, "volumes": [
        {"day": 0, "start": "00:00", "volume": 2000, "mix": {"a": 0.9, "b": 0.1}},
        {"day": 0, "start": "12:00", "volume": 2000},
        {"day": 1, "start": "00:00", "volume": 2000, "mix": {"b": 1.0}}]}
    return data


def test_volume_rows_with_their_own_mix():
    """A ``volumes`` row's ``mix`` sets the reasons of its contacts; a row without one takes the channel's."""
    c = contacts(_mixed_rows())
    part = (c["arrival_s"] // 43200).astype(int)
    share_a = (c["reason"].astype(str) == "a").groupby(part).mean()
    n = part.value_counts()
    assert abs(share_a[0] - 0.9) < 4 * np.sqrt(0.09 / n[0])
    assert abs(share_a[1] - 0.5) < 4 * np.sqrt(0.25 / n[1])
    assert share_a[2] == 0 and share_a[3] == 0


def test_bad_row_mix_names_the_row():
    data = _mixed_rows()
    data["demand"]["phone"]["volumes"][1]["mix"] = {"a": 0.5, "c": 0.5}
    with pytest.raises(ScenarioError) as exc:
        validate(data)
    assert "demand.phone.volumes.1.mix.c" in str(exc.value)


def test_journey_customers_draw_a_reasons_own_patience():
    """Journey mode draws patience per customer (model/journey_lives.py): a reason's own holds
    there too (× the segment's patience factor, 0.7–1.2 in this scenario), and channels
    without a patience keep none."""
    from simsvc.config.load import load_scenario, scenario_dict

    data = scenario_dict(load_scenario(ROOT / "scenarios" / "journey_baseline.yaml"))
    data.update(horizon="10d", warmup="0s")
    data["reasons"]["complaint"]["patience"] = {"dist": "exponential", "mean": "3000s"}
    c = contacts(data)
    mean = c.groupby(["channel", "reason"], observed=True)["patience_s"].mean()
    for ch in ("phone", "chat"):  # channel patience: lognormal 3 min, exponential 4 min
        assert 1800 < mean[(ch, "complaint")] < 4000
        assert all(mean[(ch, r)] < 400 for r in ("pre_sales_inquiry", "technical_support"))
    assert c.loc[c["channel"] == "email", "patience_s"].isna().all()
