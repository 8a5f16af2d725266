"""make demo prints each task of a night as it finishes, while Airflow runs it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from audiences.config import settings
from audiences.report import step_timer
from audiences.report.progress import follow
from tests.conftest import END


def test_each_step_is_printed_as_it_finishes(home, capsys):
    night = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])

    def steps() -> None:
        for name, done in (("extract_crm", "1,642 records read, 3 quarantined"), ("load", None)):
            time.sleep(0.3)
            with step_timer(settings(), END, "demo", name) as step:
                step["done"] = done

    writer = threading.Thread(target=steps)
    writer.start()
    follow(settings(), END, night.pid, interval=0.1)
    writer.join()
    night.wait()

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[:3] == ["extract_crm", "0.0", "s"]
    assert lines[0].endswith("success  1,642 records read, 3 quarantined")
    assert lines[1].split()[0] == "load"
