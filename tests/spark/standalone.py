"""A Spark standalone cluster on this machine: one master and two workers, each
its own JVM, started with the scripts that ship with pyspark (``spark-class``).
Everything listens on 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyspark

SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status(ui_port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=5) as answer:
        return json.load(answer)


@contextmanager
def standalone_cluster(folder: Path, workers: int = 2) -> Iterator[tuple[str, list[Path]]]:
    """Yield the master's URL and each worker's work folder (where it starts its
    executors); stop every process afterwards."""
    port, ui_port = _free_port(), _free_port()
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
    master = f"spark://127.0.0.1:{port}"
    logs = folder / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes = [
        subprocess.Popen(
            [
                SPARK_CLASS,
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(ui_port),
            ],
            env=env,
            stdout=(logs / "master.log").open("w"),
            stderr=subprocess.STDOUT,
        )
    ]
    work_dirs = [folder / f"worker-{n}" for n in range(workers)]
    try:
        _wait(lambda: _status(ui_port), "the master to start", processes)
        for n, work_dir in enumerate(work_dirs):
            processes.append(
                subprocess.Popen(
                    [
                        SPARK_CLASS,
                        "org.apache.spark.deploy.worker.Worker",
                        master,
                        "--host",
                        "127.0.0.1",
                        "--cores",
                        "1",
                        "--memory",
                        "1g",
                        "--work-dir",
                        str(work_dir),
                        "--webui-port",
                        str(_free_port()),
                    ],
                    env=env,
                    stdout=(logs / f"worker-{n}.log").open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
        _wait(
            lambda: sum(w["state"] == "ALIVE" for w in _status(ui_port)["workers"]) == workers,
            f"{workers} workers to register",
            processes,
        )
        yield master, work_dirs
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait(ready, what: str, processes: list[subprocess.Popen], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError(f"a Spark process exited while waiting for {what}")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"waited {seconds:.0f} s for {what}")
