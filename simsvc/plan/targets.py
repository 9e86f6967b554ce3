"""Per-interval targets for planning: ``service_level >= 0.8 on phone``.

The same text as experiment targets (:class:`simsvc.experiment.design.Target`), but
only metrics that exist per interval and per real-time channel, each in its
meaningful direction.
"""
from __future__ import annotations

from dataclasses import dataclass

from simsvc.config.schema import REAL_TIME_KINDS, Scenario
from simsvc.plan import PlanError

#: metric -> the only sensible direction of its target
PLAN_METRICS = {"service_level": ">=", "abandon_rate": "<=", "asa_s": "<="}


@dataclass(frozen=True)
class PlanTarget:
    metric: str
    channel: str
    op: str
    value: float

    def met(self, value: float) -> bool:
        return value >= self.value if self.op == ">=" else value <= self.value

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g} on {self.channel}"


def parse_targets(texts: list[str] | tuple[str, ...], scenario: Scenario,
                  blocked_is_lost: bool = True) -> list[PlanTarget]:
    """Parse and check ``--target`` texts against the scenario; PlanError names the problem.

    ``blocked_is_lost``: an ``abandon_rate`` target counts blocked contacts as lost, as the
    Erlang B of ``requirements`` does on a channel with ``queue_capacity: 0``; the simulation's
    abandon_rate (``staff``) counts abandonments only."""
    from simsvc.experiment.design import Target

    real_time = [n for n, ch in scenario.channels.items() if ch.kind in REAL_TIME_KINDS]
    out: list[PlanTarget] = []
    for text in texts:
        try:
            t = Target.parse(text)
        except ValueError as exc:   # a value out of the metric's range names the text itself
            raise PlanError(f"--target {text!r}: {str(exc).removeprefix(f'{text!r}: ')}") from None
        metric, channel = t.ref.metric, t.ref.channel
        if metric not in PLAN_METRICS:
            raise PlanError(f"--target {text!r}: {metric!r} is not a per-interval staffing metric; "
                            f"use one of {', '.join(PLAN_METRICS)}")
        if channel not in real_time:
            what = "no channel" if channel == "all" else f"{channel!r} is not a real-time channel"
            raise PlanError(f"--target {text!r}: {what}; name one with 'on CHANNEL' "
                            f"(real-time channels: {', '.join(real_time) or 'none'})")
        if t.op != PLAN_METRICS[metric]:
            raise PlanError(f"--target {text!r}: {metric} targets are '{metric} {PLAN_METRICS[metric]} x'")
        if metric == "service_level" and t.value == 0:
            raise PlanError(f"--target {text!r}: a service level of 0 is no target")
        if metric == "abandon_rate":
            _check_someone_lost(text, channel, scenario, blocked_is_lost)
        why = unreachable(metric, t.value)
        if why:
            raise PlanError(f"--target {text!r}: no finite staffing meets it ({why})")
        out.append(PlanTarget(metric, channel, t.op, t.value))
    return out


def _check_someone_lost(text: str, channel: str, scenario: Scenario, blocked_is_lost: bool) -> None:
    """An abandonment target where nobody is lost (no patience; no queue limit, or blocked
    contacts not counted) is always met: refused (as the Erlang C of ``requirements`` chooses
    without a patience, :func:`simsvc.analytic.requirements.choose_model`)."""
    ch = scenario.channels[channel]
    if getattr(ch, "patience", None) is not None:
        return
    blocking = getattr(ch, "queue_capacity", None) == 0
    if blocking and blocked_is_lost:
        return   # Erlang B: the blocked share is the loss
    why = ("its blocked contacts (queue_capacity: 0) are lost, not abandoned, and abandon_rate counts "
           "abandonments only" if blocking else "nobody abandons there")
    raise PlanError(f"--target {text!r}: channel {channel!r} has no patience (channels.{channel}.patience), so "
                    f"{why}: abandon_rate is 0 with any staffing and the target is always met; give {channel!r} "
                    "a patience, or target its service_level or asa_s")


def unreachable(metric: str, value: float, lost: str = "callers with a patience sometimes abandon") -> str:
    """Why no finite number of agents meets ``metric`` at ``value`` ('' if some may): the end of
    the metric's range (METRIC_RANGES) its direction points to is only reached in the limit of
    infinitely many agents: a service level of 1, an abandonment rate or a mean wait of 0.
    ``lost``: how callers are lost, for ``abandon_rate`` (``simsvc erlang --model b``: blocked)."""
    from simsvc.experiment.design import METRIC_RANGES

    low, high, what = METRIC_RANGES[metric]
    if PLAN_METRICS[metric] == ">=" and value >= high:
        return (f"{metric} is {what}, and with any finite number of agents some contacts wait longer than "
                f"the threshold, so it stays below {high:g}; give a value below {high:g}, e.g. 0.95")
    if PLAN_METRICS[metric] == "<=" and value <= low:
        tail = lost if metric == "abandon_rate" else "some contacts wait"
        return (f"{metric} is {what}, and with any finite number of agents {tail}, so it stays above {low:g}; "
                f"give a value above {low:g}")
    return ""


def with_scenario_targets(targets: list[PlanTarget], scenario: Scenario) -> list[PlanTarget]:
    """Add each real-time channel's ``service_level_target`` where no --target names that channel."""
    named = {t.channel for t in targets}
    extra = [PlanTarget("service_level", name, ">=", ch.service_level_target)
             for name, ch in scenario.channels.items()
             if ch.kind in REAL_TIME_KINDS and name not in named
             and getattr(ch, "service_level_target", None)]
    return [*targets, *extra]
