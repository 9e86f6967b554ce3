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
