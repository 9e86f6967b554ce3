"""Calibration from contact logs: `fit` builds a scenario, `backtest` measures its predictions.

    from simsvc.calibrate.logs import read_log, ColumnMap, parse_days
    from simsvc.calibrate.fit import fit, write_fit
    from simsvc.calibrate.backtest import backtest

    log = read_log("calls.csv", ColumnMap.from_yaml("columns.yaml"))
    result = fit(log, parse_days("1-15", log, "sun-thu"))
    write_fit(result, "fitted/calls")            # scenario.yaml, CSV tables, fit_report.html

Depends on ``config`` and ``analytic``, and on the simulator for the steps that
simulate (effective staffing, back-test): ``model.centre.simulate`` and
``observe.tables.contacts_frame`` only (see ``replay.simulate_contacts`` for why not
``run_replication``). Nothing in the library imports ``calibrate``.
"""
