"""Files and folders that hold secrets or users' data (the data folder, the SQLite database): owner only."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

logger = logging.getLogger(__name__)


def private_dir(path: Path) -> Path:
    """Creates the folder (mode 0700; missing parents as usual) when it does not exist yet; returns it."""
    if not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """Creates the file empty with mode 0600 when missing; an existing one loses any access by other users."""
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return path
    except FileExistsError:
        pass
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(each.stat().st_mode)
            if mode & 0o007:
                each.chmod(mode & ~0o007)
                logger.warning("removed other users' access path=%s mode=%o", each, mode & ~0o007)
        except FileNotFoundError:
            continue
        except PermissionError:
            logger.warning("other users can read path=%s; chmod o-rwx it", each)
    return path
