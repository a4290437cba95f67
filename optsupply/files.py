"""Writing output folders safely: completely or not at all."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Callable

TMP_MARK = ".tmp-"  # temporary siblings are named .<target name>.tmp-<pid>-<random>
OLD_MARK = ".old-"  # the replaced folder, moved aside until the new one is in place


def _sibling(target: Path, mark: str) -> Path:
    return target.with_name(f".{target.name}{mark}{os.getpid()}-{secrets.token_hex(4)}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def write_folder(target: Path, write: Callable[[Path], None]) -> Path:
    """Let ``write`` fill a temporary sibling of ``target``, then rename it into place.

    An interrupted or failed write (an exception, Ctrl-C) leaves the old
    ``target`` (or nothing, if there was none) and no temporary folder behind:

    * the new folder is written as ``.<name>.tmp-…`` next to ``target`` (same
      file system, so the renames below are atomic);
    * the old ``target`` (a folder or a file) is renamed aside to
      ``.<name>.old-…``, the new folder renamed to ``target``, and only then is
      the old one deleted; if the second rename fails, the old one is renamed
      back.

    The temporary folder is created with the usual permissions (the umask),
    not the private ones of :func:`tempfile.mkdtemp`.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(target, TMP_MARK)
    tmp.mkdir()
    old: Path | None = None
    try:
        write(tmp)
        if target.exists() or target.is_symlink():
            old = _sibling(target, OLD_MARK)
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except BaseException:
            if old is not None and not (target.exists() or target.is_symlink()):
                os.replace(old, target)
                old = None
            raise
    finally:
        if tmp.exists():
            _remove(tmp)
        if old is not None:
            _remove(old)
    return target
