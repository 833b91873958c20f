"""The served system end to end: `complaints init` and `complaints serve` in
their own processes, the pages over HTTP, and the in-process sweeper firing a
timer after the demo clock is moved from another process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "web.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode("utf-8")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'served.sqlite3'}",
        COMPLAINTS_DEMO="1",
        COMPLAINTS_SWEEP_SECONDS="0.5",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    _cli(env, "init", "--demo-data")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "web.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                _get(base + "/healthz")
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"the server stopped: {server.stderr.read()}")
                time.sleep(0.2)
        yield base, env
    finally:
        server.terminate()
        server.wait(20)


def test_served_pages_answer(served):
    base, _ = served
    for path, text in [("/login", "kefu"), ("/wall", "GD"), ("/wall/tv", "GD")]:
        status, page = _get(base + path)
        assert status == 200
        assert text in page


def test_served_sweeper_fires_a_timer_after_the_clock_moves(served):
    base, env = served
    before = json.loads(_cli(env, "status", "--json"))

    _cli(env, "clock", "advance", "P4D")

    after = before
    for _ in range(60):
        time.sleep(0.5)
        after = json.loads(_cli(env, "status", "--json"))
        if after["audit_events"] > before["audit_events"]:
            break
    assert after["audit_events"] > before["audit_events"], "no timer fired"
    assert after["cases"]["error"] == 0
    tasks = {(t["task"], t["role"]) for t in after["open_tasks"]}
    assert ("manager_handle", "manager") in tasks
