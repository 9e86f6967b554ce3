"""Journey mode: input that `check` accepts neither hangs nor blows memory; bad input gets one message.

Found by fuzzing scenarios/journey_baseline.yaml:

* a purchase → usage → post_purchase → loyalty cycle with a dwell of 0 in every stage, for a
  segment that buys again, went round forever at one instant (refused by check; a stage-visit
  backstop stops a cycle that is merely very short);
* referrals compound (promoters' referrals evaluate and refer in turn): per_promoter has a
  documented upper bound and the work estimate counts referral growth;
* a journey with no customers ever, an unbounded churn sensitivity (exp() overflow), a count
  given as true, and a huge ``trace --replication`` crashed with tracebacks.
"""
from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harden_helpers import invoke, one_error, write

from simsvc.config.load import load_scenario
from simsvc.domain import experience as xp
from simsvc.domain.errors import SimulationError
from simsvc.experiment.budget import estimate, judge
from simsvc.model import journey_lives

ROOT = Path(__file__).resolve().parents[1]
JOURNEY = ROOT / "scenarios" / "journey_baseline.yaml"
SMALL = ["customers.initial=10", "customers.acquisition=0/d", "warmup=0d", "horizon=1d", "customers.feedback=false"]
ZERO_CYCLE = [f"customers.dwell.{st}=0s" for st in ("purchase", "usage", "post_purchase", "loyalty")]


def sets(*overrides: str) -> list[str]:
    return [a for o in overrides for a in ("--set", o)]


# --------------------------------------------------------------------------- 1. zero-time cycle
def test_zero_time_purchase_cycle_run_exits_2_quickly(tmp_path: Path) -> None:
    """The fuzzed command (it spun at 100 % CPU with no message) now stops at check, in a subprocess
    with a timeout so that a regression fails instead of hanging the suite."""
    args = [sys.executable, "-c", "from simsvc.cli import main; main()", "run", str(JOURNEY),
            *sets(*SMALL, "customers.segments.loyal.repeat_purchase=1", *ZERO_CYCLE),
            "-n", "1", "-w", "1", "--no-report", "-o", str(tmp_path / "loop")]
    t0 = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=ROOT,
                          check=False)
    assert done.returncode == 2, done.stderr
    assert time.perf_counter() - t0 < 30
    assert "Traceback" not in done.stderr
    assert "customers.dwell.purchase" in done.stderr and "repeat_purchase" in done.stderr
    assert not (tmp_path / "loop").exists()


def test_zero_time_cycle_message_names_the_fields() -> None:
    line = one_error(invoke("check", "-q", JOURNEY, *sets(*SMALL, *ZERO_CYCLE)),
                     "customers.dwell", "customers.dwell.purchase", "customers.dwell.loyalty",
                     "a dwell above 0", "loyal", "repeat_purchase")
    assert "wandering" in line
    # A segment's own override is named where it is the one at 0.
    one_error(invoke("check", "-q", JOURNEY, *sets(*SMALL, "customers.segments.impulse.dwell.usage=0s",
                                                   *ZERO_CYCLE[:1], *ZERO_CYCLE[2:],
                                                   "customers.dwell.usage=1d")),
              "customers.segments.impulse.dwell.usage", "impulse")


def test_zero_dwell_without_repeat_purchase_is_allowed() -> None:
    """A stage of no time is fine (the model makes it a visit of 1 µs); only a cycle of no
    time that customers go round again is refused."""
    no_repeat = [f"customers.segments.{s}.repeat_purchase=0"
                 for s in ("loyal", "discount", "impulse", "need_based", "wandering")]
    result = invoke("check", "-q", JOURNEY, *sets(*SMALL, *ZERO_CYCLE, *no_repeat))
    assert result.exit_code == 0, result.output


def test_a_cycle_that_is_merely_very_short_is_refused_as_too_much_work() -> None:
    """1 ms per cycle, a segment that always buys again and nobody churning: some 10⁸ visits per
    customer. The estimate counts visits, so check refuses it before anything runs."""
    short = ["customers.dwell.purchase=1ms", *ZERO_CYCLE[1:], "customers.segments.loyal.repeat_purchase=1"]
    one_error(invoke("check", "-q", JOURNEY, *sets(*SMALL, *short)), "too much work", "--force")
    sc = load_scenario(JOURNEY, [*SMALL, *short])
    assert estimate(sc, 1).visits > 1e8


def test_model_backstop_stops_a_customer_going_round_endlessly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever slips past check (or is run with --force), a customer's stage visits are capped."""
    from simsvc.model.centre import ContactCentre

    monkeypatch.setattr(journey_lives, "MAX_VISITS", 2_000)
    sc = load_scenario(JOURNEY, [*SMALL, "customers.dwell.purchase=1ms", *ZERO_CYCLE[1:],
                                 "customers.segments.loyal.repeat_purchase=1"])
    t0 = time.perf_counter()
    with pytest.raises(SimulationError, match="more than 2,000 stage visits"):
        ContactCentre(sc, 1, 0).run()
    assert time.perf_counter() - t0 < 30


# --------------------------------------------------------------------------- 2. referral growth
def test_per_promoter_has_an_upper_bound() -> None:
    one_error(invoke("check", "-q", JOURNEY, "--set", "customers.referrals.per_promoter=1000"),
              "customers.referrals.per_promoter", "1000", "less than or equal to 10")
    assert invoke("check", "-q", JOURNEY, "--set", "customers.referrals.per_promoter=10").exit_code == 0


EXPLODING = f"""\
extends: {JOURNEY}
warmup: 0d
replications: 1
experience: {{prior_satisfaction: 0.9}}
customers:
  initial: 300
  acquisition: 20/d
  referrals: {{per_promoter: 10, delay: 1min}}
  drop_out: {{need_awareness: 0, information_search: 0, evaluation: 0}}
  segments:
    wandering: {{drop_out: {{need_awareness: 0, information_search: 0, evaluation: 0}}}}
  dwell: {{purchase: 1h, usage: 1h, post_purchase: 1h}}
"""


def test_work_estimate_counts_compounding_referrals(tmp_path: Path) -> None:
    """Every prospect buys, promoters are common and referrals arrive a minute later: the population
    grows geometrically (~34,000 customers by day 12, and on). At 30 days check refuses it as too
    much work; at 5 days (a few thousand customers) it passes, the estimate within a small factor."""
    f = write(tmp_path / "explode.yaml", EXPLODING)
    one_error(invoke("check", "-q", f, "--set", "horizon=30d"), "too much work", "customers per replication")
    assert invoke("check", "-q", f, "--set", "horizon=5d").exit_code == 0
    small = estimate(load_scenario(f, ["horizon=5d"]), 1)
    assert 300 + 20 * 5 < small.customers < 50_000  # simulated: ~4,300 customers
    # Without referrals the same scenario is tiny: the growth is what the estimate refuses.
    calm = estimate(load_scenario(f, ["horizon=30d", "customers.referrals.per_promoter=0"]), 1)
    assert judge(calm) == (None, None) and calm.customers == pytest.approx(300 + 20 * 30)


def test_bundled_journey_scenarios_stay_within_the_limits() -> None:
    for name in ("journey_baseline.yaml", "journey_staffing_cut.yaml"):
        sc = load_scenario(ROOT / "scenarios" / name)
        work = estimate(sc, sc.replications)
        assert judge(work) == (None, None), (name, work.describe())


# --------------------------------------------------------------------------- 3. no customers ever
@pytest.mark.parametrize("command", ["check", "run", "trace"])
def test_journey_without_customers_is_refused(tmp_path: Path, command: str) -> None:
    extra = {"check": ["-q"], "run": ["-n", "1", "--no-report", "-o", tmp_path / "out"], "trace": ["-c", "0"]}
    one_error(invoke(command, JOURNEY, *extra[command],
                     *sets("customers.initial=0", "customers.acquisition=0/d")),
              "customers.initial = 0", "at least one customer", "acquisition")
    assert invoke("check", "-q", JOURNEY, "--set", "customers.initial=0").exit_code == 0  # acquisition alone


# --------------------------------------------------------------------------- 4. churn sensitivity
@pytest.mark.parametrize("path", ["customers.segments.loyal.churn.at_evaluation.sensitivity",
                                  "customers.segments.loyal.churn.after_contact.sensitivity",
                                  "experience.churn.sensitivity"])
@pytest.mark.parametrize("value", ["10000", "1e6"])
def test_churn_sensitivity_is_bounded(path: str, value: str) -> None:
    one_error(invoke("check", "-q", JOURNEY, "--set", f"{path}={value}"), path, "less than or equal to 100")
    assert invoke("check", "-q", JOURNEY, "--set", f"{path}=100").exit_code == 0


def test_churn_risk_never_overflows() -> None:
    """At the bound and with a tiny base risk, the logit reaches beyond exp()'s range (~709)."""
    from simsvc.config.customers import Hazard

    risk = xp.churn_risk_of(Hazard(base_risk=1e-300, reference=0.0, sensitivity=100))
    assert risk(1.0) == 0.0 and 0.0 <= risk(0.0) < 1e-250
    high = xp.churn_risk_of(Hazard(base_risk=1 - 1e-16, reference=1.0, sensitivity=100))
    assert high(0.0) == 1.0
    assert xp.logistic_one(-1e6) == 0.0 and xp.logistic_one(1e6) == 1.0
    assert xp.logistic_one(0.0) == 0.5 and math.isclose(xp.logistic_one(2.0), 1 / (1 + math.exp(-2.0)))


def test_sensitivity_at_the_bound_runs(tmp_path: Path) -> None:
    result = invoke("run", JOURNEY, "-n", "1", "--no-report", "-o", tmp_path / "out",
                    *sets("warmup=0d", "horizon=3d", "customers.initial=300", "customers.acquisition=20/d",
                          "customers.segments.loyal.churn.at_evaluation.sensitivity=100",
                          "customers.segments.loyal.churn.after_contact.sensitivity=100"))
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- 5. counts
@pytest.mark.parametrize("path", ["customers.initial", "replications", "seed", "agents.specialists.staffing",
                                  "repeat.max_attempts"])
@pytest.mark.parametrize("value", ["true", "false"])
def test_counts_are_whole_numbers_not_booleans(path: str, value: str) -> None:
    one_error(invoke("check", "-q", JOURNEY, "--set", f"{path}={value}"), path, f"a whole number, not {value}")


def test_counts_still_take_numbers() -> None:
    assert invoke("check", "-q", JOURNEY, *sets("customers.initial=5", "replications=2")).exit_code == 0


# --------------------------------------------------------------------------- 6. trace options
@pytest.mark.parametrize("replication", [str(2**64), str(2**31)])
def test_trace_replication_is_bounded(replication: str) -> None:
    result = invoke("trace", JOURNEY, "-c", "3", "--replication", replication)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "--replication" in result.stderr and "0<=x<=2147483647" in result.stderr
