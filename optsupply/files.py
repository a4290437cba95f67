"""Writing output folders safely: completely or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable


def write_folder(target: Path, write: Callable[[Path], None]) -> Path:
    """Let ``write`` fill a temporary sibling of ``target``, then rename it into place.

    An interrupted or failed write leaves the old ``target`` (or nothing) and no
    temporary folder behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        write(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
