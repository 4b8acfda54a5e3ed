"""The project's exception types, caught once at the CLI edge.

They live in `geo`, the lowest layer, so that every layer can raise them.
"""

from __future__ import annotations


class RuralsimError(Exception):
    """Base of every error ruralsim raises on purpose."""


class InputError(RuralsimError):
    """Bad user input (scenario or data file): one line per problem, all found at once.

    Each line names the file (or `--set`), the dotted field path, the message and the bad value,
    e.g. ``scenarios/x.yaml: stations.rural.target: must be >= 0 (got -5)``.
    """

    def __init__(self, problems: list[str] | tuple[str, ...]):
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))

    def __reduce__(self):  # raised in a worker process, it arrives whole
        return (type(self), (self.problems,))


class PlacementError(RuralsimError, ValueError):
    """A placement request that cannot be met (more sites than candidates, a bad radius, NaN
    costs, ...): one line. A `ValueError` too, as a bad argument to a placement algorithm."""
