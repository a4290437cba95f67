"""Where optsupply may write, and writing there completely or not at all.

Every command and every API function that writes goes through the two guards
here before any work starts, and through :func:`write_folder` /
:func:`write_file` for the write itself. The rule they enforce:

* **Never into, over or above an input.** A target is refused when it is an
  input (scenario folder or workbook, a plan folder read, a sweep file, a state
  folder), lies inside an input folder, or contains an input. Paths are
  compared after resolving symbolic links and ``..``, and also as written, so a
  link cannot smuggle a write into an input.
* **Never the current folder, the home folder or the root**, nor a folder
  that contains one of them: folder outputs replace their target as a whole.
* **Only folders optsupply wrote are replaced.** Every folder written here
  holds a marker file (:data:`MARKER`, naming what it holds: ``plan``,
  ``scenario``, ``forecast``, ``whatif``). An existing target folder is
  replaced only when it is empty or carries the marker, and then only with
  ``force`` (or, for ``replace_same_kind`` callers such as ``optsupply solve``,
  when it holds the same kind); a folder without the marker is never replaced,
  ``--force`` or not. An existing *file* is never replaced by a folder.
* **File outputs** (``sensitivity.csv``, ``compare --out``) never replace an
  input file or land in an input folder, and must have the expected suffix
  when they replace an existing file.
* **Writable before the work.** The guards probe the nearest existing folder
  of the target, so a read-only, missing or full location is reported before
  a long solve, not after it.

Writes go to a temporary sibling (``.<name>.tmp-<pid>-<random>``) that is
renamed into place; a replaced folder is moved aside (``.<name>.old-…``)
and deleted once the new one is in place. Siblings left by a killed write are
removed by the next write to the same target (only those of processes that no
longer run). A failed write raises :class:`optsupply.errors.WriteError`
(an ``OSError``) that names the target and says that nothing was written.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Sequence

from optsupply.errors import UsageError, WriteError

TMP_MARK = ".tmp-"  # temporary siblings are named .<target name>.tmp-<pid>-<random>
OLD_MARK = ".old-"  # the replaced folder, moved aside until the new one is in place
MARKER = ".optsupply"  # the marker file in every folder optsupply writes: {"kind": ...}
KINDS = ("plan", "scenario", "forecast", "whatif")

PathLike = str | os.PathLike


# ---------------------------------------------------------------------- paths


def _absolute(path: PathLike) -> Path:
    """``path`` made absolute with ``..`` folded, symbolic links left as they are."""
    return Path(os.path.normpath(os.path.abspath(os.fspath(path))))


def _forms(path: PathLike) -> set[Path]:
    """The forms a path is compared in: as written (absolute) and with links resolved."""
    return {_absolute(path), Path(os.path.realpath(os.fspath(path)))}


def _canonical(path: PathLike) -> Path:
    """Where a write to ``path`` lands: links and ``..`` resolved, a missing part never created."""
    return Path(os.path.realpath(os.fspath(path)))


def _within(a: Path, b: Path) -> bool:
    """``a`` is ``b`` or lies inside it."""
    return a == b or b in a.parents


def _protected() -> list[tuple[Path, str]]:
    """Folders never replaced nor contained by a folder output: the current folder, home and root."""
    out = [(p, "the current folder") for p in _forms(Path.cwd())]
    home = os.path.expanduser("~")
    if home and home != "~":
        out += [(p, "your home folder") for p in _forms(home)]
    out += [(Path(os.path.abspath(os.sep)), "the root folder")]
    return out


def read_marker(folder: PathLike) -> str | None:
    """The kind recorded in ``folder``'s marker, or ``None`` when it has none (not written by optsupply)."""
    path = Path(folder) / MARKER
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 4096:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kind = data.get("kind") if isinstance(data, dict) else None
    return kind if kind in KINDS else None


def mark(folder: PathLike, kind: str) -> None:
    """Leave optsupply's marker in ``folder`` (which holds a ``kind``), so that it may be replaced later."""
    from optsupply.version import __version__

    assert kind in KINDS, kind
    text = json.dumps({"kind": kind, "written_by": "optsupply", "version": __version__}) + "\n"
    write_file(Path(folder) / MARKER, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _input_conflict(forms: set[Path], inputs: Iterable[PathLike], folder_target: bool) -> str | None:
    for inp in inputs:
        if inp is None:
            continue
        for i in _forms(inp):
            i_is_dir = i.is_dir()
            for t in forms:
                if t == i:
                    return f"is the input {inp} itself"
                if i_is_dir and i in t.parents:
                    return f"is inside the input folder {inp}"
                if folder_target and t in i.parents:
                    return f"contains the input {inp} (a folder output replaces its target as a whole)"
    return None


def _probe_writable(target: Path, what: str) -> None:
    """Fail now, not after the work, when nothing can be written where ``target`` would go."""
    parent = _absolute(target).parent
    while not parent.exists() and not parent.is_symlink():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{what} {target}: {parent} is not a folder, so nothing can be written there")
    try:
        probe = tempfile.mkdtemp(prefix=".optsupply-probe-", dir=parent)
        os.rmdir(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.EROFS,):
            reason = "read-only file system"
        raise UsageError(f"{what} {target}: cannot write in {parent} ({reason}); choose another location") from None


# ---------------------------------------------------------------------- guards


def guard_folder(target: PathLike, *, kind: str, inputs: Sequence[PathLike | None] = (), force: bool = False,
                 replace_same_kind: bool = False, what: str = "--out", verb: str = "replace it") -> Path:
    """Check that a folder output of ``kind`` may be written at ``target``; raise UsageError if not.

    Call it before the work that produces the output. See the module text for
    the rule. ``what`` names the target in messages (``--out``, ``OUT``),
    ``verb`` what ``force`` does to an existing folder ("replace it").
    Returns the target with links and ``..`` resolved as the operating system
    resolves them: write there (a spelling such as ``missing/../x`` would
    otherwise be created and followed differently than it was checked).
    """
    assert kind in KINDS, kind
    given, target = Path(target), _canonical(target)
    forms = _forms(given) | {target}
    why = _input_conflict(forms, inputs, folder_target=True)
    if why:
        raise UsageError(f"{what} {target} {why}; optsupply never writes into, over or above its inputs: "
                         "choose a new folder")
    for t in forms:
        for p, name in _protected():
            if _within(p, t):
                raise UsageError(f"{what} {target} is {name}" + ("" if t == p else " or contains it")
                                 + " and would be replaced as a whole; give the output a folder of its own")
    if given.is_symlink() or _absolute(given).is_symlink():
        raise UsageError(f"{what} {given} is a symbolic link; give the folder itself")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{what} {given} is an existing file; optsupply replaces only folders it wrote: "
                         "choose a new folder")
    if target.is_dir() and any(p.name != MARKER for p in target.iterdir()):
        found = read_marker(target)
        if found is None:
            raise UsageError(f"{what} {target} exists and was not written by optsupply (it has no {MARKER} "
                             "marker); optsupply never replaces such a folder, --force or not: choose a new "
                             "folder or empty this one yourself")
        if not (force or (replace_same_kind and found == kind)):
            held = "" if found == kind else f" (it holds an optsupply {found}, not a {kind})"
            raise UsageError(f"{what} {target} already exists and is not empty{held} (use --force / force=True "
                             f"to {verb})")
    _probe_writable(target, what)
    return target


def guard_file(target: PathLike, *, inputs: Sequence[PathLike | None] = (), suffixes: Sequence[str] = (".csv",),
               what: str = "--out") -> Path:
    """Check that a file output may be written at ``target``; raise UsageError if not.

    Refused: an input file, a file inside an input folder, an existing folder,
    and replacing an existing file whose suffix is not one of ``suffixes``.
    Returns the target resolved as :func:`guard_folder` does: write there.
    """
    given, target = Path(target), _canonical(target)
    why = _input_conflict(_forms(given) | {target}, inputs, folder_target=False)
    if why:
        raise UsageError(f"{what} {target} {why}; optsupply never writes into or over its inputs: "
                         "choose another file")
    if target.is_dir():
        raise UsageError(f"{what} {target} is a folder; give a file name")
    if target.exists() and target.suffix.lower() not in {s.lower() for s in suffixes}:
        raise UsageError(f"{what} {target} exists and is not a {' or '.join(suffixes)} file; "
                         "optsupply will not replace it: choose another file")
    _probe_writable(target, what)
    return target


# ---------------------------------------------------------------------- writing


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


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def clean_stale(target: PathLike) -> list[Path]:
    """Remove ``.tmp``/``.old`` siblings of ``target`` left by a write that was killed; returns them.

    Only siblings of processes that no longer run are removed, so a write in
    progress elsewhere is left alone.
    """
    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        return []
    pattern = re.compile(re.escape(f".{target.name}") + r"\.(?:tmp|old)-(\d+)-[0-9a-f]+\Z")
    removed = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return []
    for p in entries:
        m = pattern.match(p.name)
        if m and not _alive(int(m.group(1))):
            _remove(p)
            removed.append(p)
    return removed


def _failed(target: Path, exc: OSError) -> WriteError:
    reason = exc.strerror or str(exc)
    where = exc.filename or target
    return WriteError(exc.errno or 0, f"could not write {target} ({reason}: {where}); nothing was written "
                                      "and what was there before is unchanged", str(target))


def write_folder(target: PathLike, write: Callable[[Path], None], *, kind: str | None = None) -> Path:
    """Let ``write`` fill a temporary sibling of ``target``, then rename it into place.

    An interrupted or failed write (an exception, Ctrl-C) leaves the old
    ``target`` (or nothing, if there was none) and no temporary folder behind:

    * the new folder is written as ``.<name>.tmp-…`` next to ``target`` (same
      file system, so the renames below are atomic);
    * the old ``target`` (a folder or a file) is renamed aside to
      ``.<name>.old-…``, the new folder renamed to ``target``, and only then is
      the old one deleted; if the second rename fails, the old one is renamed
      back.

    With ``kind``, the folder gets the marker that lets optsupply replace it
    later (:func:`guard_folder`). An ``OSError`` becomes a
    :class:`~optsupply.errors.WriteError` naming the target. The temporary
    folder is created with the usual permissions (the umask), not the private
    ones of :func:`tempfile.mkdtemp`.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(target)
        tmp = _sibling(target, TMP_MARK)
        tmp.mkdir()
    except WriteError:
        raise
    except OSError as exc:
        raise _failed(target, exc) from exc
    old: Path | None = None
    try:
        write(tmp)
        if kind is not None:
            mark(tmp, kind)
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
    except WriteError:
        raise
    except OSError as exc:
        raise _failed(target, exc) from exc
    finally:
        if tmp.exists():
            _remove(tmp)
        if old is not None:
            _remove(old)
    return target


def write_file(target: PathLike, write: Callable[[Path], None]) -> Path:
    """Let ``write`` fill a temporary sibling file of ``target``, then rename it into place.

    A failed or interrupted write leaves the old file (or none) and no
    temporary file; an ``OSError`` becomes a :class:`~optsupply.errors.WriteError`.
    """
    target = Path(target)
    tmp = _sibling(target, TMP_MARK)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(target)
        write(tmp)
        os.replace(tmp, target)
    except WriteError:
        raise
    except OSError as exc:
        raise _failed(target, exc) from exc
    finally:
        if tmp.exists() or tmp.is_symlink():
            _remove(tmp)
    return target
