"""Test-only hooks. Never set in production: unset, every hook is one falsy module constant.

``SCIM_TEST_SLOW_WRITES=SECONDS`` makes every storage write (a created or
replaced resource row, inside its transaction) sleep that long afterwards and
report itself on stderr as ``scim-server test hook: write N pid P``. The crash
tests (``tests/reliability/test_crash.py``) use it to kill a server with
SIGKILL at a known point in the middle of a /Bulk request or a cascade, then
check that none or all of the request survived. Read once, when the process
imports this module.
"""

from __future__ import annotations

import os
import sys
import time

SLOW_WRITES = float(os.environ.get("SCIM_TEST_SLOW_WRITES") or 0)
"""Seconds each write sleeps inside its transaction; 0 (unset) disables the hook."""

_written = 0


def slow_write() -> None:
    """Report the write just made and sleep (called only when ``SLOW_WRITES`` is set)."""
    global _written
    _written += 1
    sys.stderr.write(f"scim-server test hook: write {_written} pid {os.getpid()}\n")
    sys.stderr.flush()
    time.sleep(SLOW_WRITES)
