"""Class 10: secrets stay in place. An error about a file that is not a scenario never echoes it."""
from __future__ import annotations

from pathlib import Path

import pytest

from harden_helpers import TINY, invoke, one_error, write

SECRET = "s3cr3t-TOKEN-value"
FOREIGN = {
    "passwd": f"root:x:0:0:{SECRET}:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n",
    "env": f"API_KEY={SECRET}\nOTHER=1\n",
    "list": f"- {SECRET}\n- two\n",
    "broken-yaml": f"key: [{SECRET}\n",
    "tabbed": f"a:\n\t{SECRET}\n",
    "binary": b"\x89PNG\r\n\x1a\n" + SECRET.encode() + b"\xff\xfe",
}


@pytest.mark.parametrize("kind", FOREIGN)
@pytest.mark.parametrize("how", ["extends", "direct", "csv", "experiment"])
def test_foreign_files_are_not_echoed(tmp_path: Path, kind: str, how: str) -> None:
    suffix = ".csv" if how == "csv" else ".yaml"
    secret = write(tmp_path / f"secret{suffix}", FOREIGN[kind])
    if how == "extends":
        result = invoke("check", write(tmp_path / "s.yaml", "extends: secret.yaml\n"))
    elif how == "direct":
        result = invoke("check", secret)
    elif how == "csv":
        result = invoke("check", write(tmp_path / "s.yaml", TINY.replace("{rate: 60/h}", "{csv: secret.csv}")))
    else:
        result = invoke("experiment", write(tmp_path / "e.yaml", "name: e\nscenarios: {a: secret.yaml}\n"),
                        "--no-report", "-o", tmp_path / "out")
    line = one_error(result, "secret")
    assert SECRET not in result.output and "root:x" not in result.output and "API_KEY" not in result.output, line


def test_extends_must_name_a_yaml_file(tmp_path: Path) -> None:
    for target in ("/etc/passwd", "/etc/shadow", "../.ssh/id_rsa"):
        f = write(tmp_path / "s.yaml", f"extends: {target}\n")
        one_error(invoke("check", f), "extends", ".yaml or .yml")
