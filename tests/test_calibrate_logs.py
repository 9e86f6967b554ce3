"""Reading contact logs: defaults, column maps, rows set aside by reason, clear errors."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from simsvc.calibrate.logs import ColumnMap, LogError, read_log
from simsvc.cli import main
from cli_helpers import assert_one_error_line

DATA = Path(__file__).parent / "data"
SYNTHETIC = DATA / "synthetic_log.csv"


def write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_need_no_map():
    log = read_log(SYNTHETIC)
    c = log.contacts
    assert log.rows_read == len(c) and log.set_aside == {}
    assert set(c["outcome"].astype(str)) == {"answered", "abandoned"}
    assert c["day"].min() == c["day"].min().normalize()
    assert (c["clock_s"] >= 0).all() and (c["clock_s"] < 86400).all()
    assert c["customer_id"].notna().all() and log.roles["wait_s"] == "wait_s"


def test_map_with_date_and_time_columns_constant_channel_and_ivr_hangups(tmp_path):
    log_file = write(tmp_path, "d,t,q,qs,res,svc,who,cust,kind\n"
                               "1999-08-01,7:00:05,30,7:00:05,AGENT,100,ann,0,PS\n"
                               "1999-08-01,7:01:00,0,0:00:00,HANG,0,NO_SERVER,0,PS\n"
                               "1999-08-01,7:02:00,12,7:02:00,HANG,0,NO_SERVER,55,IN\n"
                               "1999-08-01,7:03:00,0,0:00:00,PHANTOM,0,NO_SERVER,0,PS\n")
    cmap = write(tmp_path, "columns:\n  arrival: {date: d, time: t}\n  channel: {value: phone}\n"
                           "  reason: kind\n  wait_s: q\n  queue_entry: qs\n  outcome: res\n  handle_s: svc\n"
                           "  agent: who\n  customer_id: cust\n"
                           "outcomes: {AGENT: answered, HANG: abandoned, PHANTOM: other}\n"
                           "missing: {agent: [NO_SERVER], customer_id: ['0'], queue_entry: ['0:00:00']}\n",
                 "map.yaml")
    log = read_log(log_file, ColumnMap.from_yaml(cmap))
    assert log.set_aside == {"outcome neither answered nor abandoned": 1,
                             "abandoned before reaching the queue (IVR)": 1}
    c = log.contacts
    assert list(c["row"]) == [2, 4]  # file line numbers of the rows kept
    assert list(c["channel"].astype(str)) == ["phone", "phone"]
    assert list(c["clock_s"]) == [7 * 3600 + 5, 7 * 3600 + 120]
    assert c["agent"].isna().tolist() == [False, True]
    assert c["customer_id"].isna().tolist() == [True, False]


@pytest.mark.parametrize("text, where, allowed", [
    ("when,outcome\n2026-01-05 08:00,answered\n", "columns = ['when', 'outcome']", "columns for ['arrival', 'wait_s']"),
    ("arrival_time,outcome,wait_s\n2026-01-05 08:00,answered,3\n2026-13-45 08:00,answered,4\n",
     "row 3 column arrival_time", "'2026-13-45 08:00'"),
    ("arrival_time,outcome,wait_s\n2026-01-05 08:00,answered,3\n2026-01-05 08:01,abandoned,-4\n",
     "row 3 column wait_s", "a duration >= 0"),
    ("arrival_time,outcome,wait_s\n2026-01-05 08:00,answered,soon\n", "row 2 column wait_s", "seconds or H:MM:SS"),
])
def test_bad_logs_name_row_column_and_value(tmp_path, text, where, allowed):
    with pytest.raises(LogError) as err:
        read_log(write(tmp_path, text))
    message = str(err.value)
    assert where in message and allowed in message and str(tmp_path / "log.csv") in message


def test_empty_window_reports_what_was_set_aside(tmp_path):
    with pytest.raises(LogError, match="rows in the window.*2030-01-01"):
        read_log(SYNTHETIC, date_from="2030-01-01")


def test_bad_dates_and_maps_are_named(tmp_path):
    with pytest.raises(LogError, match="--from = 'next week': expected a date"):
        read_log(SYNTHETIC, date_from="next week")
    with pytest.raises(LogError, match="map.yaml: \\(file\\)"):
        ColumnMap.from_yaml(write(tmp_path, "columns: [a, \n", "map.yaml"))


def test_column_map_problems_are_named(tmp_path):
    bad_role = write(tmp_path, "columns: {arival: when}\n", "map.yaml")
    with pytest.raises(LogError, match="columns.arival.*one of the roles"):
        ColumnMap.from_yaml(bad_role)
    absent = write(tmp_path, "columns: {arrival: when}\n", "map2.yaml")
    with pytest.raises(LogError, match="column 'when' \\(for arrival\\).*found"):
        read_log(SYNTHETIC, ColumnMap.from_yaml(absent))


def test_cli_bad_log_one_line_exit_2_nothing_written(tmp_path):
    log_file = write(tmp_path, "arrival_time,outcome,wait_s\n2026-01-05 08:00,answered,3\nnot a time,answered,4\n")
    out = tmp_path / "fitted"
    result = CliRunner().invoke(main, ["fit", str(log_file), "--out", str(out)])
    line = assert_one_error_line(result)
    assert "row 3 column arrival_time = 'not a time'" in line
    assert not out.exists()


def test_cli_channel_without_answered_contacts(tmp_path):
    rows = ["arrival_time,channel,outcome,wait_s,handle_s,agent"]
    rows += [f"2026-01-05 08:{m:02d}:00,phone,answered,1,100,a" for m in range(40)]
    rows += ["2026-01-05 09:00:00,email,abandoned,5,,"]
    result = CliRunner().invoke(main, ["fit", str(write(tmp_path, "\n".join(rows) + "\n")),
                                       "--out", str(tmp_path / "f"), "--no-effective"])
    line = assert_one_error_line(result)
    assert "handle_s of channel email" in line and "positive handle times" in line


def _synthetic_with(tmp_path: Path, edit) -> Path:
    """The synthetic log with ``edit(i, fields)`` applied to each data row's fields (i from 0)."""
    head, *rows = SYNTHETIC.read_text().splitlines()
    out = []
    for i, r in enumerate(rows):
        fields = r.split(",")
        edit(i, fields)
        out.append(",".join(fields))
    return write(tmp_path, "\n".join([head] + out) + "\n")


def test_times_with_one_utc_offset_are_read_as_written(tmp_path):
    # A time with an offset beside times without one crashed pandas ("Mixed timezones");
    # one offset on every row made tz-aware days that --from could not be compared with.
    plain = read_log(SYNTHETIC, date_from="2026-01-06").contacts
    for suffix in ("Z", "+01:00"):
        log = _synthetic_with(tmp_path, lambda i, f, s=suffix: f.__setitem__(0, f[0].replace(" ", "T") + s))
        c = read_log(log, date_from="2026-01-06").contacts
        assert c["day"].dt.tz is None and c["day"].equals(plain["day"]) and c["clock_s"].equals(plain["clock_s"])


@pytest.mark.parametrize("offset, row, allowed", [
    (lambda i: "+01:00" if i == 0 else "", 2, "(this row's: UTC+01:00; 3,198 of 3,199 rows: none)"),
    (lambda i: "+01:00" if i < 2000 else "+02:00", 2002, "(this row's: UTC+02:00; 2,000 of 3,199 rows: UTC+01:00)"),
])
def test_mixed_utc_offsets_name_the_row(tmp_path, offset, row, allowed):
    log = _synthetic_with(tmp_path, lambda i, f: f.__setitem__(0, f[0].replace(" ", "T") + offset(i)))
    with pytest.raises(LogError) as err:
        read_log(log)
    message = str(err.value)
    assert f"row {row} column arrival_time = '2026-" in message and allowed in message
    assert "expected one UTC offset on every row or none on any" in message
    assert "a log across a daylight-saving change should give local times without one" in message


@pytest.mark.parametrize("column, value", [("handle_s", "1e15"), ("handle_s", "inf"), ("wait_s", "1e13"),
                                           ("wait_s", "inf"), ("wait_s", "1e300"), ("wait_s", "720:00:01")])
def test_durations_beyond_30_days_or_infinite_name_the_row(tmp_path, column, value):
    # 1e15 s tried to allocate 8 TiB, inf crashed numpy, 1e13 overflowed pandas, and a wait of inf
    # or 1e300 made fit write a patience beyond the scenario's limit.
    col = {"wait_s": 2, "handle_s": 4}[column]
    log = _synthetic_with(tmp_path, lambda i, f: f.__setitem__(col, value) if i == 9 else None)
    with pytest.raises(LogError) as err:
        read_log(log)
    assert str(err.value) == (f"{log}: row 11 column {column} ({column}) = {value!r}: expected a finite duration "
                              "of at most 30 days (2,592,000 s; rows longer or infinite: 1)")
    log = _synthetic_with(tmp_path, lambda i, f: f.__setitem__(col, "720:00:00") if i == 9 else None)
    assert read_log(log).contacts[column].max() == 30 * 86400   # 30 days itself is allowed


@pytest.mark.parametrize("edit", [
    lambda i, f: f.__setitem__(0, "2026-01-05T00:07:22.2+01:00") if i == 0 else None,
    lambda i, f: f.__setitem__(4, "inf") if i == 0 else None,
])
def test_cli_offsets_and_durations_one_line_exit_2_nothing_written(tmp_path, edit):
    out = tmp_path / "fitted"
    result = CliRunner().invoke(main, ["fit", str(_synthetic_with(tmp_path, edit)), "--out", str(out),
                                       "--no-effective", "--no-report", "-w", "1"])
    line = assert_one_error_line(result)
    assert "row 2 column" in line
    assert not out.exists()
