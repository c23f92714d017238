"""The exceptions of episode_recon, grouped by who fixes the problem.

They mirror the engine's error groups (``episode_recon::error::ErrorKind``
in the Rust library, and the CLI's exit statuses)::

    EpisodeReconError
    ├── ConfigurationError   definitions, target prices, risk factors,
    │                        participants, settlement files   (CLI exit 1)
    ├── InputDataError       claims, beneficiaries, run folders read back (1)
    ├── UsageError           how a function was called: an output folder
    │                        that is not empty, a bad argument value (2)
    ├── MachineError         the machine: disk full, permissions, threads (3)
    └── InternalError        a bug in episode-recon: please report it (4)

The message (``str(error)``) is the one line the CLI prints after
``error:``, naming the file, row and field where there is one.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "EpisodeReconError",
    "InputDataError",
    "InternalError",
    "MachineError",
    "UsageError",
]


class EpisodeReconError(Exception):
    """Any error of episode_recon; catch this to catch them all.

    Attributes:
        kind: the engine's name of the group (``"configuration"``,
            ``"input_data"``, ``"usage"``, ``"environment"``, ``"internal"``).
        exit_code: the CLI's exit status for the same error.
    """

    kind: str = "internal"
    exit_code: int = 4


class ConfigurationError(EpisodeReconError):
    """The user's configuration: episode definitions, target prices, risk
    factors, participants or settlement files."""

    kind = "configuration"
    exit_code = 1


class InputDataError(EpisodeReconError):
    """The input data: claims, beneficiaries, or a run folder read back by
    ``reprice`` and ``true_up``."""

    kind = "input_data"
    exit_code = 1


class UsageError(EpisodeReconError, ValueError):
    """How a function was called: an argument value it cannot take, an
    output folder that exists and is not empty (use ``force=True``)."""

    kind = "usage"
    exit_code = 2


class MachineError(EpisodeReconError, OSError):
    """The machine (the engine's "environment" group): a disk full, a
    permission denied while writing outputs or temporary files, threads that
    cannot start."""

    kind = "environment"
    exit_code = 3


class InternalError(EpisodeReconError):
    """A bug in episode-recon, not a problem with your data or machine:
    please report it with the call that was made and this message."""

    kind = "internal"
    exit_code = 4
