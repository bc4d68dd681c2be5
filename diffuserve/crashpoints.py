"""Named points in the write paths where crash tests freeze the process, to `kill -9` it exactly there.

Off unless the environment names a point: with DIFFUSERVE_PAUSE_AT=<name>, the first thread to reach that point
writes <name> to the file DIFFUSERVE_PAUSE_FILE and waits until the file is removed (that thread only; later
arrivals pass). Never set outside tests.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

POLL_S = 0.01
_taken = threading.Lock()
_done = False


def pause_point(name: str) -> None:
    global _done
    if os.environ.get("DIFFUSERVE_PAUSE_AT") != name or _done:
        return
    with _taken:
        if _done:
            return
        _done = True
    marker = Path(os.environ["DIFFUSERVE_PAUSE_FILE"])
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(name)
    tmp.replace(marker)
    while marker.exists():
        time.sleep(POLL_S)
