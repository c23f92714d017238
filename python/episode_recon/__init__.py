"""Bundled-payment episode reconciliation, for notebooks.

The ``episode-recon`` engine as a Python package: the same library the
command line calls, with inputs as paths or Arrow-capable tables (pyarrow,
polars, pandas, DuckDB) and outputs as ``pyarrow.Table``. Money stays
exact: ``decimal128(38, 2)`` columns, never floating point.

On the bundled sample (from a checkout of the repository)::

    import episode_recon as er
    run = er.reconcile(claims="sample-claims/claims", definitions="episode-definitions",
                       target_prices="sample-claims/target_prices.csv",
                       beneficiaries="sample-claims/beneficiaries.csv")
    run.providers.to_pandas()          # or polars.from_arrow(run.providers)

The functions follow the CLI's commands:

- :func:`reconcile`: claims in, a :class:`Run` out (``episode-recon reconcile``);
- :func:`reprice`: a run priced again without its claims (``reprice``);
- :func:`true_up`: what changed between two runs, and what is now due (``true-up``);
- :func:`write`: a run's (or true-up's) files, as the CLI writes ``--out``;
- :func:`open_run`: a run folder the CLI (or :func:`write`) wrote.

Errors are :class:`EpisodeReconError` subclasses by who fixes them
(:mod:`episode_recon.errors`); their message is the CLI's one line.
The interpreter is released while the engine works, so other threads run;
Ctrl-C stops a :func:`reconcile` (``KeyboardInterrupt``) at the engine's next
checkpoint.
"""

from __future__ import annotations

import datetime
import json
import os
import warnings
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Union

from . import _bridge, _native
from .errors import (
    ConfigurationError,
    EpisodeReconError,
    InputDataError,
    InternalError,
    MachineError,
    UsageError,
)

if TYPE_CHECKING:
    import pyarrow as pa

__version__: str = _native.__version__

__all__ = [
    "ConfigurationError",
    "EpisodeReconError",
    "EpisodeReconWarning",
    "InputDataError",
    "InternalError",
    "MachineError",
    "Run",
    "TrueUp",
    "UsageError",
    "open_run",
    "reconcile",
    "reprice",
    "true_up",
    "write",
]

#: A file or folder, as a string or path object.
PathLike = Union[str, "os.PathLike[str]"]
#: A table: a ``pyarrow.Table``, ``RecordBatch`` or ``RecordBatchReader``, a
#: polars or pandas DataFrame, a DuckDB relation, or any object with
#: ``__arrow_c_stream__`` (the Arrow PyCapsule interface).
TableLike = Any
#: Claims or beneficiaries: a path, a table, or a list of them (read in order).
Source = Union[PathLike, TableLike, Sequence[Union[PathLike, TableLike]]]


class EpisodeReconWarning(UserWarning):
    """What a run read but most likely was not meant (a claims file with no
    rows, a price for an episode type no definition has): the warnings the
    CLI prints on stderr, also listed in ``summary["warnings"]``."""


class _Outputs:
    """What a run and a true-up share: native files read as tables, the
    summary, and writing."""

    #: The file of the ``participants`` table.
    _participants_file = ""

    def __init__(self, native: Any) -> None:
        self._native = native

    def _table(self, name: str) -> pa.Table:
        return _bridge.read_table(self._native, name)

    @cached_property
    def participants(self) -> Optional[pa.Table]:
        if not self._native.has_participants():
            return None
        return self._table(self._participants_file)

    @cached_property
    def summary(self) -> Dict[str, Any]:
        # Money is written as strings; any other number with decimals is
        # read as a Decimal, so nothing in the summary is a float.
        return json.loads(self._native.summary_json(), parse_float=Decimal)

    def write(self, folder: PathLike, *, force: bool = False) -> None:
        """Writes the files into ``folder``: see :func:`write`."""
        self._native.write(os.fspath(folder), force)


class Run(_Outputs):
    """A reconciliation run: the tables the CLI writes as files.

    Every table is a ``pyarrow.Table`` made when first used, with money as
    ``decimal128(38, 2)``, dates as ``date32`` and counts as ``int64``; an
    empty field of the CLI's files is null. Rows are in the files' order
    (sorted on the contract's keys), so the same inputs give equal tables.

    Attributes:
        episodes: one row per episode (``episodes.csv``).
        providers: per provider, episode type and period (``providers.csv``).
        ledger: every claim line in an episode, and why (``ledger.csv``).
        rejects: every input row not accepted, with its reason (``rejects.csv``).
        participants: per participant and period, when the run settled
            participants (``participants`` and ``settlement`` given), else None.
        summary: ``summary.json`` as a dict (money as exact strings).
    """

    _participants_file = "participants.csv"

    def __init__(self, native: _native.NativeRun, priced_from: Optional[Run] = None) -> None:
        super().__init__(native)
        # A repriced run's ledger and rejects are the run's it was priced
        # from: the same tables, not copies.
        self._priced_from = priced_from

    @cached_property
    def episodes(self) -> pa.Table:
        return self._table("episodes.csv")

    @cached_property
    def providers(self) -> pa.Table:
        return self._table("providers.csv")

    @cached_property
    def ledger(self) -> pa.Table:
        if self._priced_from is not None:
            return self._priced_from.ledger
        return self._table("ledger.csv")

    @cached_property
    def rejects(self) -> pa.Table:
        if self._priced_from is not None:
            return self._priced_from.rejects
        return self._table("rejects.csv")

    def __repr__(self) -> str:
        episodes = self.summary.get("episodes", {})
        money = self.summary.get("money", {})
        return (
            f"<episode_recon.Run: {episodes.get('total', 0)} episodes "
            f"({episodes.get('priced', 0)} priced, {episodes.get('canceled', 0)} canceled), "
            f"reconciliation {money.get('reconciliation', '0.00')}>"
        )


class TrueUp(_Outputs):
    """What changed between two runs and what is now due (the CLI's
    ``true-up``), as tables of the files it writes.

    Attributes:
        episodes: every episode of either run: ``new``, ``dropped``,
            ``changed`` or ``unchanged``, with both runs' figures
            (``true_up_episodes.csv``).
        providers: per provider, type and period, the amount now due
            (``true_up_providers.csv``).
        participants: per participant and period, when both runs settled
            participants, else None (``true_up_participants.csv``).
        summary: ``summary.json`` as a dict, showing the changes add up.
            Its ``previous`` and ``current`` name the runs' folders: for a
            :class:`Run` not opened from one, a temporary folder.
    """

    _participants_file = "true_up_participants.csv"

    @cached_property
    def episodes(self) -> pa.Table:
        return self._table("true_up_episodes.csv")

    @cached_property
    def providers(self) -> pa.Table:
        return self._table("true_up_providers.csv")


def reconcile(
    *,
    claims: Source,
    definitions: PathLike,
    target_prices: PathLike,
    beneficiaries: Optional[Source] = None,
    risk_factors: Optional[PathLike] = None,
    participants: Optional[PathLike] = None,
    settlement: Optional[PathLike] = None,
    as_of: Union[datetime.date, str, None] = None,
    claims_format: str = "auto",
    beneficiaries_format: str = "auto",
    strict: bool = False,
    threads: Optional[int] = None,
    memory_limit: Optional[int] = None,
    allow_same_file: bool = False,
) -> Run:
    """Reconciles claims against episode definitions and target prices.

    The CLI's ``episode-recon reconcile``, argument for flag; the run's
    files are not written unless asked (:func:`write`).

    Args:
        claims: claims files (CSV, RIF, CCLF, DE-SynPUF, Parquet), folders
            (their files, in name order) or tables with the canonical
            columns (``claim_id``, ``line_number``, ``beneficiary_id``,
            ``claim_type``, dates, ``allowed_amount``...), one or a list,
            read in order. A table's columns may be decimal, integer,
            string, date, timestamp or boolean; floating point is refused
            (money is never rounded), naming the column. A table is read
            in memory, batch by batch, as it streams (a DuckDB relation is
            run as it is read, unless the run is given several: see
            ``_bridge.inputs``); a rejected row of it names
            ``<claims table>`` (``<claims table 2>`` among several) and its
            1-based row.
        definitions: folder of ``*.toml`` episode definitions.
        target_prices: target prices CSV.
        beneficiaries: monthly enrollment (files, folders or tables), for
            definitions with ``[eligibility]`` or ``[risk]``. In a table,
            boolean flags read as ``Y``/``N`` and a ``month`` date as its month.
        risk_factors: risk factor multipliers CSV, for ``[risk]``.
        participants: participants CSV: settle per participant (with
            ``settlement``).
        settlement: settlement tracks TOML (with ``participants``).
        as_of: run-out cutoff: claim versions processed after this date are
            treated as not yet received (a date, or ``"YYYY-MM-DD"``).
        claims_format: ``"auto"`` (each file's format from its header or
            first bytes), ``"canonical"``, ``"rif"``, ``"synpuf"``,
            ``"cclf"`` or ``"parquet"``. Tables need ``"auto"``.
        beneficiaries_format: the same for the beneficiaries files.
        strict: make the first rejected row an error.
        threads: worker threads (default: one per core).
        memory_limit: bytes of parsed claims kept in memory before they
            spill to the system's temporary folder (default: half the
            machine's memory).
        allow_same_file: read a file given twice, twice (its rows are then
            duplicates of themselves); otherwise that is a :class:`UsageError`.

    Returns:
        The :class:`Run`: ``episodes``, ``providers``, ``ledger``,
        ``rejects``, ``participants`` tables and the ``summary`` dict.

    Raises:
        ConfigurationError: definitions, prices, risk factors, participants
            or settlement that cannot be used.
        InputDataError: claims or beneficiaries that cannot be read (a bad
            row is not an error: it is in ``rejects``, unless ``strict``).
        UsageError: an argument value the function cannot take.
        MachineError: the machine failed (disk, threads).
        InternalError: a bug in episode-recon.
    """
    claims_list = _sources(claims)
    beneficiaries_list = [] if beneficiaries is None else _sources(beneficiaries)
    for name, sources, format in (
        ("claims", claims_list, claims_format),
        ("beneficiaries", beneficiaries_list, beneficiaries_format),
    ):
        if format not in ("auto", "parquet") and any(not _is_path(s) for s in sources):
            raise UsageError(
                f"{name}_format: tables are read with auto or parquet, found {format!r}; "
                "give auto, or the files themselves"
            )
    _together(participants, settlement)
    # One list, so that DuckDB relations are counted across both.
    given = _bridge.inputs(claims_list + beneficiaries_list)
    native = _native.reconcile(
        given[: len(claims_list)],
        os.fspath(definitions),
        os.fspath(target_prices),
        given[len(claims_list) :],
        _optional_path(risk_factors),
        _optional_path(participants),
        _optional_path(settlement),
        _date(as_of),
        claims_format,
        beneficiaries_format,
        strict,
        _threads(threads),
        memory_limit,
        allow_same_file,
    )
    return _warned(Run(native))


def reprice(
    run: Union[Run, PathLike],
    *,
    target_prices: PathLike,
    definitions: Optional[PathLike] = None,
    risk_factors: Optional[PathLike] = None,
    participants: Optional[PathLike] = None,
    settlement: Optional[PathLike] = None,
) -> Run:
    """Prices a run again with other target prices or pricing settings,
    without its claims: the CLI's ``episode-recon reprice``.

    The result equals a full :func:`reconcile` with the new prices, table
    for table; its ledger and rejects are the run's.

    Args:
        run: a :class:`Run`, or the folder of one the CLI (or :func:`write`)
            wrote.
        target_prices: target prices CSV to price with.
        definitions: definitions with other ``[pricing]`` settings (default:
            those the run used); other changes need the claims, and are a
            :class:`ConfigurationError`.
        risk_factors: risk factor multipliers CSV, for ``[risk]``.
        participants: participants CSV (with ``settlement``).
        settlement: settlement tracks TOML (with ``participants``).
    """
    _together(participants, settlement)
    priced_from = run if isinstance(run, Run) else None
    native = _native.reprice(
        _native_run(run),
        os.fspath(target_prices),
        _optional_path(definitions),
        _optional_path(risk_factors),
        _optional_path(participants),
        _optional_path(settlement),
    )
    return _warned(Run(native, priced_from))


def true_up(
    previous: Union[Run, PathLike], current: Union[Run, PathLike]
) -> TrueUp:
    """Compares an earlier run with a later one of the same inputs (the
    initial reconciliation and the true-up run): what changed, and what is
    now due per provider and participant. The CLI's ``episode-recon true-up``.

    Runs made with different definitions, target prices, risk factors or
    participants and settlement files are refused (:class:`InputDataError`):
    that is a :func:`reprice`, not a true-up.

    Args:
        previous: the earlier :class:`Run`, or its folder.
        current: the later :class:`Run`, or its folder.
    """
    return TrueUp(_native.true_up(_native_run(previous), _native_run(current)))


def write(result: Union[Run, TrueUp], folder: PathLike, *, force: bool = False) -> None:
    """Writes a run's files (or a true-up's) into ``folder``, as the CLI
    writes ``--out``: the same files, byte for byte, appearing whole or not
    at all.

    Args:
        result: a :class:`Run` or :class:`TrueUp`.
        folder: the output folder: new or empty, unless ``force``.
        force: replace a folder that is not empty (never one that holds an
            input of the run).

    Raises:
        UsageError: ``folder`` is not empty and ``force`` is not set.
        MachineError: the files cannot be written.
    """
    if not isinstance(result, (Run, TrueUp)):
        raise TypeError(f"write() takes a Run or a TrueUp, not {type(result).__name__}")
    result.write(folder, force=force)


def open_run(folder: PathLike) -> Run:
    """The run whose files are in ``folder`` (written by the CLI's
    ``reconcile`` or ``reprice``, or by :func:`write`), read back.

    Raises:
        InputDataError: the folder does not hold such a run.
    """
    return Run(_native.open_run(os.fspath(folder)))


def _is_path(source: Any) -> bool:
    return isinstance(source, (str, os.PathLike))


def _sources(source: Source) -> List[Any]:
    if isinstance(source, (list, tuple)):
        return list(source)
    return [source]


def _optional_path(path: Optional[PathLike]) -> Optional[str]:
    return None if path is None else os.fspath(path)


def _together(participants: Optional[PathLike], settlement: Optional[PathLike]) -> None:
    if (participants is None) != (settlement is None):
        given, missing = (
            ("participants", "settlement") if settlement is None else ("settlement", "participants")
        )
        raise UsageError(f"{given} is given without {missing}; expected both or neither")


def _date(as_of: Union[datetime.date, str, None]) -> Optional[str]:
    if isinstance(as_of, datetime.datetime):
        return as_of.date().isoformat()
    if isinstance(as_of, datetime.date):
        return as_of.isoformat()
    return as_of


def _threads(threads: Optional[int]) -> Optional[int]:
    if threads is not None and not (isinstance(threads, int) and 1 <= threads <= 65535):
        raise UsageError(f"threads: expected a number from 1 to 65535, found {threads!r}")
    return threads


def _native_run(run: Union[Run, PathLike]) -> _native.NativeRun:
    if isinstance(run, Run):
        return run._native
    return _native.open_run(os.fspath(run))


def _warned(run: Run) -> Run:
    for message in run._native.warnings():
        warnings.warn(message, EpisodeReconWarning, stacklevel=3)
    return run
