"""Problems found in a scenario, and the exceptions optsupply raises.

Every input problem is a :class:`Problem` that names the file, the
spreadsheet row (header = row 1), the column and what is wrong. Validation
collects all of them in one pass into a :class:`Report`; loading raises
:class:`ScenarioError` carrying that report when it holds any error.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"

#: Exit codes of every command (SPEC §5): success, no plan, bad input or usage, interrupted by Ctrl-C.
EXIT_OK, EXIT_NO_PLAN, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a scenario.

    Attributes
    ----------
    file : str
        ``products.csv``, ``scenario.toml`` or ``scenario.xlsx[products]``.
    row : int or None
        Spreadsheet row number (the header is row 1); for scenario.toml the line.
    column : str or None
        Column name (for scenario.toml: the ``section.key``).
    message : str
        What is wrong, in plain language.
    severity : str
        ``"error"`` or ``"warning"``.
    """

    file: str
    row: int | None
    column: str | None
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"line {self.row}" if self.file.endswith(".toml") else f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}" if not self.file.endswith(".toml") else f"key {self.column}")
        return f"{self.severity}: {', '.join(where)}: {self.message}"


@dataclass
class Report:
    """All problems found in one pass, errors and warnings."""

    problems: list[Problem] = field(default_factory=list)
    _seen: set[tuple] = field(default_factory=set, repr=False)

    def add(self, file: str, row: int | None, column: str | None, message: str, severity: str = ERROR) -> None:
        key = (file, row, column, severity)
        if row is not None and key in self._seen:
            return  # one problem per cell is enough (a bad number is not also reported as NaN)
        self._seen.add(key)
        self.problems.append(Problem(file, row, column, message, severity))

    def flagged(self, file: str, row: int, column: str) -> bool:
        return (file, row, column, ERROR) in self._seen

    def extend(self, other: Report) -> None:
        for p in other.problems:
            self.add(p.file, p.row, p.column, p.message, p.severity)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def format(self, max_per_kind: int = 20) -> str:
        """Human-readable listing; long runs of one kind of problem are shortened.

        Problems are grouped by (file, column, severity, message text without the numbers
        and quoted values in it) and at most ``max_per_kind`` of each group are shown, with a count
        of the rest.
        """
        max_per_kind = max(0, max_per_kind)
        groups: dict[tuple, list[Problem]] = defaultdict(list)
        for p in self.problems:
            groups[(p.severity, p.file, p.column, _kind(p.message))].append(p)
        lines = []
        for (_, file, column, _), probs in groups.items():
            for p in probs[:max_per_kind]:
                lines.append(str(p))
            if len(probs) > max_per_kind:
                where = f"{file}, column {column}" if column else file
                lines.append(f"  ... and {len(probs) - max_per_kind} more rows with the same problem in {where}")
        n_err, n_warn = len(self.errors), len(self.warnings)
        lines.append(f"{n_err} error{'s' * (n_err != 1)}, {n_warn} warning{'s' * (n_warn != 1)}")
        return "\n".join(lines)


def _kind(message: str) -> str:
    """What a message says without the values it quotes: ``'x' is not a number`` and
    ``'1,5' is not a number`` are one kind, so are ``negative value -1`` and ``-0.5``."""
    head = re.sub(r"'[^']*'", "''", message).split(":")[0]
    return re.sub(r"[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|\.\d+|inf)", "#", head)


class OptsupplyError(Exception):
    """Base class of optsupply's own errors."""


class ScenarioError(OptsupplyError):
    """A scenario that cannot be used; ``report`` lists every problem."""

    def __init__(self, report: Report):
        self.report = report
        super().__init__(report.format())


class UsageError(OptsupplyError):
    """A call or command line that cannot be carried out as given."""


class WriteError(OptsupplyError, OSError):
    """An output could not be written (disk full, permissions, ...); nothing was written.

    An ``OSError`` too, so code that handles file-system errors keeps working;
    ``str()`` is the plain message that names the target.
    """

    def __str__(self) -> str:
        return str(self.strerror)


class TimeLimitSpent(OptsupplyError):
    """The time limit of a solve ran out before HiGHS was started (while the model was built or transferred).

    ``str(exc)`` says where; the solve then reports status ``time_limit`` without a plan.
    """
