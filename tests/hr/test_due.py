"""Due terminations applied exactly once: by racing run-due processes, by the in-process scheduler."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

from extensions.lifecycle.due import Scheduler, pending, schedule
from tests.hr.conftest import HR, MAPPINGS, NOW, relationship, state

SCIM_SERVER = Path(sys.executable).with_name("scim-server")


def test_racing_workers_apply_each_due_item_once(hr: HR, database_url: str, tmp_path: Path) -> None:
    users = [hr.hire(f"leaver{i}", relationship("E1")) for i in range(30)]
    for user in users:
        hr.terminate(user, "E1", NOW + datetime.timedelta(days=1))
    policy = tmp_path / "policy.toml"
    policy.write_text(MAPPINGS)
    env = {
        **os.environ,
        "SCIM_DATABASE_URL": database_url,
        "SCIM_POLICY_FILE": str(policy),
        "SCIM_LOG_LEVEL": "WARNING",
    }
    command = [str(SCIM_SERVER), "lifecycle", "run-due", "--now", "2026-06-17T00:00:00+00:00"]

    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]

    assert all(worker.returncode == 0 for worker in workers), outputs
    applied = sum(int(out.split()[1]) for out, _ in outputs)
    assert applied == len(users)
    for user in users:
        assert len(hr.events(user, "terminate")) == 1
        assert state(hr.get(user))[1] == "suspended"
    with hr.storage.session() as session:
        assert pending(session) == []


def test_the_scheduler_applies_what_falls_due(hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"))
    hr.terminate(user, "E1", NOW + datetime.timedelta(minutes=5))
    hr.at(NOW + datetime.timedelta(minutes=6))
    scheduler = Scheduler(hr.storage, interval=0.05)
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while state(hr.get(user))[1] != "suspended" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
        scheduler.join(timeout=5)
    assert state(hr.get(user))[1] == "suspended"
    assert len(hr.events(user, "terminate")) == 1


def test_a_due_item_for_an_already_applied_termination_changes_nothing(hr: HR) -> None:
    user = hr.hire("bjensen", relationship("E1"))
    hr.terminate(user, "E1", NOW - datetime.timedelta(hours=1))
    with hr.storage.operation(), hr.storage.session() as session:
        schedule(session, user["id"], {"E1": NOW - datetime.timedelta(minutes=1)})
    assert hr.run_due() == 1
    assert len(hr.events(user, "terminate")) == 1
