"""`simsvc fit`: build a scenario folder from a contact log."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import click

from simsvc.cli._common import InPath, OutFolder


def duration_option(name: str, default: str, help: str, words: tuple[str, ...] = (), metavar: str | None = None):
    """A duration option (seconds > 0); ``words`` are accepted as they are (e.g. ``auto``)."""
    def bad(value: str, why: str | None) -> click.BadParameter:
        if not words:
            return click.BadParameter(why or "a duration > 0, e.g. 15min")
        return click.BadParameter(f"{value!r}: a duration > 0 (e.g. 15min) or {' or '.join(words)}"
                                  + (f" ({why})" if why else ""))

    def parse(ctx, param, value):
        from simsvc.config.units import parse_duration

        if str(value).strip().lower() in words:
            return str(value).strip().lower()
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise bad(value, str(exc)) from None
        if seconds <= 0:
            raise bad(value, None)
        return seconds

    return click.option(name, default=default, show_default=True, callback=parse, help=help, metavar=metavar)


def gap_option():
    """``--presence-gap``: a duration, or ``auto`` (chosen by an inner back-test on the fit days)."""
    return duration_option("--presence-gap", "30min",
                           "With --staffing-basis present: an agent is logged in between two services less "
                           "than this apart; auto: chosen "
                           "among 10/15/20/30/45 min by an inner back-test on the fit days (halves in time order).",
                           words=("auto",), metavar="DURATION|auto")


def resolve_gap(shared: dict, contact_log, days: list, progress):
    """With ``--presence-gap auto``: choose it on ``days`` (see calibrate/gap.py), print the
    inner scores, and put the choice in ``shared``; returns the choice (None otherwise)."""
    if shared["presence_gap"] != "auto":
        return None
    from simsvc.calibrate.gap import choose_gap, scores_text
    from simsvc.calibrate.logs import LogError

    try:
        choice = choose_gap(contact_log, days, fit_options({**shared, "presence_gap": 1800.0}),
                            reps=shared["search_reps"], progress=progress)
    except ValueError as exc:  # too few days or contacts to choose on
        raise LogError(contact_log.file, "--presence-gap", "auto", str(exc)) from None
    progress.done()
    click.echo(scores_text(choice))
    shared["presence_gap"] = choice.gap_s
    return choice


def log_options(fn):
    """Options shared by `fit` and `backtest`: how to read the log and what to estimate."""
    options = [
        click.option("--columns", "columns", type=InPath(dir_okay=False), default=None,
                     help="YAML column map (default: the column names listed in the README, Calibration)."),
        duration_option("--interval", "15min", "Interval of the demand and staffing tables."),
        duration_option("--redial-window", "1h", "A contact within this time after abandoning is a redial."),
        duration_option("--repeat-window", "1d", "A contact within this time after an answered one is a repeat."),
        gap_option(),
        click.option("--staffing-basis", type=click.Choice(["present", "distinct_hour", "distinct_interval"]),
                     default="distinct_hour", show_default=True,
                     help="Logged-in agents: every agent seen serving in the hour (interval) as one whole agent "
                          "for it, or present: from a service to the next less than --presence-gap apart."),
        click.option("--availability-by", type=click.Choice(["hour", "all"]), default="hour", show_default=True,
                     help="Effective availability: one factor per hour of day, or one for all hours."),
        click.option("--availability-match", type=click.Choice(["abandonment", "wait", "pwait", "abandonment+wait"]),
                     default="abandonment+wait", show_default=True,
                     help="What the effective-availability search reproduces per hour of the fit days: "
                          "abandonment+wait (the factor at which the relative errors of abandonment and mean wait "
                          "cancel), abandonment, the mean wait of all arrivals, or P(wait > 0) of all arrivals "
                          "(abandonment and abandonment+wait: the mean wait alone where < 20 abandoned)."),
        click.option("--wrap-up", "wrap", type=click.Choice(["fit", "none"]), default="none", show_default=True,
                     help="After-call work the log does not show: fit, one wrap-up per answered contact found by "
                          "simulation on the fit days before the per-hour availability factor; none, the factor "
                          "alone."),
        click.option("--patience", "patience", type=click.Choice(["km", "exponential"]), default="km",
                     show_default=True, help="Patience written: Kaplan–Meier (empirical) or the exponential MLE."),
        click.option("--patience-by-queue/--no-patience-by-queue", "patience_by_queue", default=True,
                     show_default=True,
                     help="Patience × a factor by the queue a caller finds on arrival (channels' patience_by_queue), "
                          "estimated from the log's waits by band of the contacts already waiting; off with "
                          "--class-patience unless given."),
        click.option("--search-steps", type=click.IntRange(min=1, max=20), default=9, show_default=True,
                     help="Bisection steps of the effective-staffing search (each simulates the fit days)."),
        click.option("--search-reps", type=click.IntRange(min=1, max=20), default=2, show_default=True,
                     help="Replications per step of the effective-staffing search."),
        click.option("--refine-reps", type=click.IntRange(min=1, max=40), default=4, show_default=True,
                     help="Replications of the effective-staffing search's last 4 steps, which re-open the "
                          "bracket to ±10 % around the first steps' result (at most --search-reps: no refining)."),
        click.option("--classes/--no-classes", "classes", default=True, show_default=True,
                     help="With a class column: one reason per (reason, class), each class with a fitted queue "
                          "credit; --no-classes ignores the column."),
        click.option("--replay-mix", type=click.Choice(["interval", "period"]), default="interval",
                     show_default=True,
                     help="Reason (and class) mix of the replays (the fit's searches, the back-test): each day × "
                          "interval's own, or one over the replayed days."),
        click.option("--replay-arrivals", type=click.Choice(["counts", "trace"]), default="trace",
                     show_default=True,
                     help="Arrivals of the replays (the fit's searches, the back-test): the replayed days' "
                          "contacts per interval with Poisson arrivals around them, or the log's contacts "
                          "themselves at their logged times with their reasons (and the fit's searches and "
                          "--replay-handling own, an answered contact's own handle time)."),
        click.option("--class-patience/--no-class-patience", "class_patience", default=False, show_default=True,
                     help="With routing classes: a Kaplan–Meier patience per class (on each of its reasons) where "
                          "the class has enough abandonments, else the channel's."),
        click.option("--routing-delay/--no-routing-delay", "routing_delay", default=False, show_default=True,
                     help="With routing classes: a routing delay per class (a step before any agent can answer "
                          "its contacts), estimated where the other classes were answered at once."),
        click.option("--weekdays", default=None, metavar="DAYS",
                     help="Use only these weekdays, e.g. sun-thu or mon,wed."),
        click.option("--seed", "-s", type=click.IntRange(min=0), default=1, show_default=True,
                     help="Root seed of the simulations (effective staffing, back-test)."),
        click.option("--workers", "-w", type=click.IntRange(min=1), default=None,
                     help="Processes the simulations' replications run in (default: one per core, as `run`); "
                          "the same numbers with any number."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def simulation_workers(shared: dict):
    """The replays' replications in ``--workers`` processes (calibrate/replay.workers) for a block."""
    from simsvc.calibrate.replay import workers
    from simsvc.experiment.runner import default_workers

    return workers(shared["workers"] or default_workers())


def read_or_exit(log: str, columns: str | None, date_from=None, date_to=None):
    from simsvc.calibrate.logs import ColumnMap, LogError, read_log

    try:
        cmap = ColumnMap.from_yaml(columns) if columns else None
        return read_log(log, cmap, date_from=date_from, date_to=date_to)
    except LogError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


class Progress:
    """Stage and step on stderr, one rewritten line, on a terminal only (like the run progress bar);
    elsewhere one line says what is running."""

    def __init__(self, what: str) -> None:
        from simsvc.cli._common import progress_notice

        self.tty = sys.stderr.isatty()
        self.stage = None
        progress_notice(what)

    def __call__(self, what: str, i: int, n: int) -> None:
        if self.tty:
            click.echo(f"\r{what} {i}/{n}".ljust(50), nl=False, err=True)
        self.stage = what

    def done(self) -> None:
        if self.tty and self.stage:
            click.echo("\r" + " " * 50 + "\r", nl=False, err=True)

    @contextmanager
    def working(self):
        """The progress line cleared when the block ends; a bad log said in one ``error:`` line
        (exit 2), Ctrl-C in one ``interrupted:`` line (exit 130). Nothing is written in the block."""
        from simsvc.calibrate.logs import LogError

        try:
            yield
        except LogError as exc:
            self.done()
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(2) from None
        except KeyboardInterrupt:
            self.done()
            click.echo("\ninterrupted: nothing was written; run the same command again to start over.", err=True)
            raise SystemExit(130) from None
        self.done()


def _divides_an_hour(interval_s: float) -> bool:
    from simsvc.calibrate.agents import intervals_per_hour

    try:
        intervals_per_hour(interval_s)
    except ValueError:
        return False
    return True


def check_basis(o: dict) -> None:
    """``distinct_hour`` counts agents per hour: the interval must divide an hour; a presence gap
    given on the command line needs the ``present`` basis, the only one that uses it; the queue's
    patience factor and a patience per class exclude each other (exit 2 otherwise)."""
    from click.core import ParameterSource

    given = click.get_current_context().get_parameter_source("presence_gap") != ParameterSource.DEFAULT
    if given and o["staffing_basis"] != "present":
        raise click.BadParameter(f"{o['presence_gap'] if o['presence_gap'] == 'auto' else 'a gap'} applies only "
                                 f"with --staffing-basis present (it is {o['staffing_basis']}, which counts the "
                                 "agents seen serving and has no gap)", param_hint="--presence-gap")
    if o["class_patience"] and o["patience_by_queue"] and (
            click.get_current_context().get_parameter_source("patience_by_queue") == ParameterSource.DEFAULT):
        o["patience_by_queue"] = False  # the default gives way to a patience per class asked for
    if o["patience_by_queue"] and o["class_patience"]:
        raise click.BadParameter("--patience-by-queue scales the channel's patience, and a class's own patience "
                                 "(--class-patience) would be fitted without the factor: use one of the two",
                                 param_hint="--patience-by-queue")
    if o["staffing_basis"] == "distinct_hour" and not _divides_an_hour(o["interval"]):
        raise click.BadParameter(f"distinct_hour counts agents per hour: it needs an --interval that divides an "
                                 f"hour (e.g. 15min, 30min, 1h), got {o['interval']:g} s",
                                 param_hint="--staffing-basis")


def check_classes(o: dict, contact_log) -> None:
    """``--class-patience`` and ``--routing-delay`` fit something per routing class: refused (exit 2)
    when there are none to fit (the log has one class, or ``--no-classes`` ignores its column)."""
    from simsvc.calibrate.classes import has_classes

    asked = [name for name, key in (("--class-patience", "class_patience"), ("--routing-delay", "routing_delay"))
             if o[key]]
    if not asked:
        return
    what = " and ".join(asked) + (" fit" if len(asked) > 1 else " fits")
    if not o["classes"]:
        raise click.BadParameter(f"{what} a value per routing class and --no-classes ignores the log's "
                                 "class column: drop one of them", param_hint=asked[0])
    if not has_classes(contact_log.contacts):
        raise click.BadParameter(f"{what} a value per routing class, and {contact_log.file} has one class "
                                 "only (no class column, or one value in it; see --columns): drop "
                                 f"{'them' if len(asked) > 1 else 'it'}", param_hint=asked[0])


def fit_options(o: dict, effective: bool = True):
    """FitOptions from the shared options (a dict of their values)."""
    from simsvc.calibrate.fit import FitOptions

    return FitOptions(interval_s=o["interval"], redial_window_s=o["redial_window"],
                      repeat_window_s=o["repeat_window"], presence_gap_s=o["presence_gap"],
                      staffing_basis=o["staffing_basis"], availability_by=o["availability_by"],
                      availability_match=o["availability_match"],
                      search_steps=o["search_steps"], search_reps=o["search_reps"], refine_reps=o["refine_reps"],
                      effective=effective,
                      patience=o["patience"], patience_by_queue=o["patience_by_queue"],
                      classes=o["classes"], class_patience=o["class_patience"],
                      routing_delay=o["routing_delay"],
                      replay_mix=o["replay_mix"], replay_arrivals=o["replay_arrivals"],
                      wrap=o["wrap"],
                      seed=o["seed"])


@click.command()
@click.argument("log", type=InPath(dir_okay=False))
@log_options
@click.option("--from", "date_from", default=None, metavar="DATE", help="First date to use (YYYY-MM-DD).")
@click.option("--to", "date_to", default=None, metavar="DATE", help="Last date to use (YYYY-MM-DD).")
@click.option("--days", default=None, metavar="N-M", help="Days by number, 1 = the log's first date (e.g. 1-15).")
@click.option("--no-effective", is_flag=True, help="Skip the effective-staffing search (staffing = logged-in).")
@click.option("--out", "-o", type=OutFolder(), default=None,
              help="Scenario folder (default: fitted/<log name>/).")
@click.option("--no-report", is_flag=True, help="Do not write fit_report.html and plots/.")
def fit(log, columns, weekdays, date_from, date_to, days, no_effective, out, no_report, **shared) -> None:
    """Estimate a scenario from LOG (a CSV contact log) and write a scenario folder."""
    import time

    from simsvc.calibrate.fit import fit as fit_log
    from simsvc.calibrate.fit import write_fit
    from simsvc.calibrate.logs import parse_days
    from simsvc.config.load import ScenarioError, load_scenario

    t0 = time.perf_counter()
    out_dir = Path(out) if out else Path("fitted") / Path(log).stem
    if out_dir.exists() and any(out_dir.iterdir()):
        raise click.BadParameter(f"{out_dir} already exists and is not empty", param_hint="--out")
    check_basis(shared)
    contact_log = read_or_exit(log, columns, date_from, date_to)
    check_classes(shared, contact_log)
    progress = Progress(f"fit of {Path(log).name}")
    with progress.working():
        chosen = parse_days(days, contact_log, weekdays, "--days")
        with simulation_workers(shared):
            gap = resolve_gap(shared, contact_log, chosen, progress)
            res = fit_log(contact_log, chosen, fit_options(shared, not no_effective), progress=progress)
        if gap is not None:
            res.notes.extend(gap.notes())
    path = write_fit(res, out_dir, report=not no_report)
    try:
        load_scenario(path)
    except ScenarioError as exc:  # a bug, not bad input: say so loudly
        raise click.ClickException(f"the fitted scenario does not load: {exc}") from None
    click.echo(summary_text(res))
    click.echo(f"\nscenario: {path}   ({time.perf_counter() - t0:.1f} s)")
    if not no_report:
        click.echo(f"report: {out_dir / 'fit_report.html'}")


def summary_text(res) -> str:
    from simsvc.calibrate.patience import median_text
    from simsvc.cli._common import text_table

    aside = ", ".join(f"{k} {v:,}" for k, v in res.log.set_aside.items()) or "none"
    lines = [f"{res.log.rows_read:,} rows read, {len(res.log.contacts):,} usable; set aside: {aside}",
             f"fit days: {len(res.days)} ({res.days[0].date()} to {res.days[-1].date()})"]
    rows = [["estimate", "for", "value", "n"]]
    for (ch, r), h in res.estimates["handling"].items():
        v = h.value
        text = f"{v['dist']} mean {h.detail['sample_mean_s']}s cv {h.detail['sample_cv']}"
        rows.append(["handling", f"{ch}{'/' + r if r else ''}", text, f"{h.n:,}"])
    by_class = getattr(res.estimates.get("class_patience"), "estimates", {})
    for name, p in [*res.estimates["patience"].items(), *((f"class {k}", p) for k, p in by_class.items())]:
        rows.append(["patience", name, f"KM median {median_text(p.detail['km_median_s'])}; exp. MLE mean "
                     f"{p.detail['exponential_mle_mean_s']:.0f}s", f"{p.n:,}"])
    for ch, q in res.estimates.get("patience_by_queue", {}).items():
        rows.append(["patience × by queue found", ch, ", ".join(f"{n}: {f:.2f} [{lo:.2f}, {hi:.2f}]" for n, f, (lo, hi)
                                                               in zip(q.band_names(), q.factors, q.ci)),
                     f"{sum(q.contacts):,}"])
    rd = res.estimates.get("routing_delay")
    if rd is not None and not rd.table.empty:
        from simsvc.calibrate.delays import free_text

        delayed = {res.behaviour["classes"][k] for k in rd.by_reason}
        for r in rd.table.itertuples():
            if r[1] in delayed:
                rows.append(["routing delay", f"class {r[1]}", f"KM median {r.q50_s:.0f}s, mean {r.mean_s:.0f}s "
                             f"({free_text(r)})", f"{r.contacts:,}"])
    if res.credits is not None:
        for r in res.credits.table.itertuples():
            rows.append(["queue credit", f"class {r[1]}", f"{r.credit_s:.0f}s (mean wait {r.observed_wait_s:.0f}s "
                         f"observed, {r.simulated_wait_s:.0f}s replayed)", f"{r.contacts:,}"])
    fu = res.estimates["follow_ups"]
    rows.append(["redial share", "all", f"{fu['redial_share'].value:.3f}", f"{fu['redial_share'].n:,}"])
    rows.append(["1 - FCR", "all", f"{fu['repeat_share'].value:.3f}", f"{fu['repeat_share'].n:,}"])
    rows.append(["daily_cv", "all", f"{res.estimates['daily_cv'].value}", f"{res.estimates['daily_cv'].n}"])
    if res.wrap is not None:
        rows.append(["wrap-up", "every pool", f"{res.wrap.wrap_s:g}s per answered contact (matched "
                     f"{res.wrap.matched})", f"{res.wrap.contacts:,}"])
    if res.availability is not None:
        t = res.availability.table
        rows.append(["availability", "per hour", f"{t['factor'].min():.2f}–{t['factor'].max():.2f} "
                     f"(contact-weighted mean {(t['factor'] * t['contacts']).sum() / t['contacts'].sum():.2f}; "
                     f"matched {t.attrs.get('match', 'abandonment')})",
                     f"{int(t['contacts'].sum()):,}"])
    from simsvc.calibrate.bands import verdict_text

    notes = [f"note: {n}" for n in res.notes] + [f"hour bands: {verdict_text(t)}" for t in res.band_tests]
    return "\n".join(lines) + "\n" + text_table(rows) + ("\n" + "\n".join(notes) if notes else "")
