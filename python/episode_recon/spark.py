"""Reconciliation on Spark, for claims that outgrow one machine.

:func:`reconcile_spark` runs on the Spark a payer already operates, with
nothing of ours but this package installed on the cluster:

- **On the executors**, the per-beneficiary work (final action, episodes,
  eligibility, risk levels, the ledger): the claims and the enrollment are
  hashed by ``beneficiary_id`` into buckets (a few thousand by default),
  and each bucket, holding whole beneficiaries, is reconciled by the
  engine in one call (``groupBy(...).applyInArrow``, or
  ``cogroup(...).applyInArrow`` with enrollment: Spark 4.0). Each call
  sees many beneficiaries, so the engine's per-call cost is paid once per
  bucket, not per beneficiary.
- **On the driver**, the global steps over the small episode table: the
  buckets' episodes priced together (high-cost caps and low-cost floors
  over every episode of a type, discounts, stop-gain and stop-loss per
  provider, participant settlement), by the engine
  (``runs::reprice::reprice_parts``): what one reconciliation of all the
  claims does after its per-beneficiary step.
- **The ledger stays a distributed DataFrame**; the episodes, providers,
  participants, rejects and summary come back to the driver as
  ``pyarrow.Table``\\ s and a dict.

The result equals :func:`episode_recon.reconcile` on the same data, table
for table (a test checks it on generated data in local mode).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import pyarrow as pa

from . import PathLike, Run, _date, _native, _optional_path, _together, reconcile
from ._bridge import SCHEMAS
from .errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["SparkRun", "reconcile_spark"]

#: Buckets of beneficiaries by default: enough that every executor core
#: has many (so a slow bucket does not hold up the stage), few enough that
#: each engine call holds many beneficiaries.
DEFAULT_BUCKETS = 2048

_BUCKET = "__episode_recon_bucket"
_ROW = "__episode_recon_row"

_LEDGER = SCHEMAS["ledger.csv"]
_REJECTS = pa.schema(
    [("source", pa.string()), ("row_id", pa.int64()), ("reason", pa.string()), ("record", pa.string())]
)
_PART = pa.schema(
    [
        ("episodes_csv", pa.binary()),
        ("providers_csv", pa.binary()),
        ("summary_json", pa.binary()),
    ]
)
#: What each bucket's call returns: its ledger lines, its rejected rows and
#: its part of the run (the files the driver prices together), one kind of
#: row each, the other columns null.
_OUT = pa.schema([("kind", pa.string())] + list(_LEDGER) + list(_REJECTS) + list(_PART))


class SparkRun:
    """A reconciliation made on Spark: the tables of :class:`episode_recon.Run`,
    with the ledger as a Spark DataFrame.

    Attributes:
        episodes, providers: ``pyarrow.Table``\\ s, as a run's.
        participants: ``pyarrow.Table``, or None without participants.
        ledger: the ledger as a Spark ``DataFrame`` (the run's ledger
            columns and types), distributed: sort it by ``episode_id``,
            ``claim_id``, ``line_number`` for a run's order.
        rejects: ``pyarrow.Table`` of the rejected rows: ``source``
            (``claims`` or ``beneficiaries``), ``row_id`` (the row's
            ``monotonically_increasing_id`` in its DataFrame), ``reason``,
            ``record`` (the row's values as a CSV line).
        summary: ``summary.json`` as a dict; its ``files`` are empty.
    """

    def __init__(self, whole: Run, ledger: "DataFrame", rejects: pa.Table) -> None:
        self._whole = whole
        self.ledger = ledger
        self.rejects = rejects

    @property
    def episodes(self) -> pa.Table:
        return self._whole.episodes

    @property
    def providers(self) -> pa.Table:
        return self._whole.providers

    @property
    def participants(self) -> Optional[pa.Table]:
        return self._whole.participants

    @property
    def summary(self) -> Dict[str, Any]:
        return self._whole.summary


def reconcile_spark(
    claims: "DataFrame",
    *,
    definitions: PathLike,
    target_prices: PathLike,
    beneficiaries: Optional["DataFrame"] = None,
    risk_factors: Optional[PathLike] = None,
    participants: Optional[PathLike] = None,
    settlement: Optional[PathLike] = None,
    as_of: Any = None,
    buckets: int = DEFAULT_BUCKETS,
) -> SparkRun:
    """Reconciles a Spark DataFrame of claims: :func:`episode_recon.reconcile`
    with the per-beneficiary work on the executors.

    Args:
        claims: the claims, with the canonical columns (as a table given to
            :func:`episode_recon.reconcile`).
        definitions, target_prices, risk_factors, participants, settlement,
            as_of: as :func:`episode_recon.reconcile`. The files are read on
            the driver and sent to the executors, so they need not be on
            shared storage.
        beneficiaries: the monthly enrollment as a DataFrame, when the
            definitions have ``[eligibility]`` or ``[risk]``.
        buckets: how many buckets of beneficiaries the work is cut into.

    Returns:
        A :class:`SparkRun`.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    if not (isinstance(buckets, int) and buckets >= 1):
        raise UsageError(f"buckets: expected a number from 1, found {buckets!r}")
    _together(participants, settlement)
    config = _Config.read(definitions, target_prices, risk_factors, _date(as_of))
    bucket = F.pmod(F.xxhash64(F.trim(F.col("beneficiary_id"))), F.lit(buckets))
    claims = claims.withColumn(_ROW, F.monotonically_increasing_id()).withColumn(_BUCKET, bucket)
    schema = _spark_schema()
    if beneficiaries is None:
        out = claims.groupBy(_BUCKET).applyInArrow(
            lambda table: _bucket(config, table, None), schema
        )
    else:
        enrollment = beneficiaries.withColumn(_ROW, F.monotonically_increasing_id()).withColumn(
            _BUCKET, bucket
        )
        out = (
            claims.groupBy(_BUCKET)
            .cogroup(enrollment.groupBy(_BUCKET))
            .applyInArrow(lambda left, right: _bucket(config, left, right), schema)
        )
    out = out.persist(StorageLevel.MEMORY_AND_DISK)
    parts = out.filter(F.col("kind") == "part").select(*_PART.names).toArrow()
    rejects = out.filter(F.col("kind") == "reject").select(*_REJECTS.names).toArrow()
    ledger = out.filter(F.col("kind") == "ledger").select(*_LEDGER.names)
    with tempfile.TemporaryDirectory(prefix="episode-recon-parts-") as folder:
        folders = []
        for number, part in enumerate(parts.to_pylist()):
            run = Path(folder) / f"part-{number}"
            run.mkdir()
            (run / "episodes.csv").write_bytes(part["episodes_csv"])
            (run / "providers.csv").write_bytes(part["providers_csv"])
            (run / "summary.json").write_bytes(part["summary_json"])
            # A run folder has them; pricing reads neither.
            (run / "ledger.csv").write_bytes(b"")
            (run / "rejects.csv").write_bytes(b"")
            folders.append(str(run))
        with config.files() as files:
            native = _native.price_parts(
                folders,
                files.target_prices,
                files.risk_factors,
                _optional_path(participants),
                _optional_path(settlement),
            )
    whole = Run(native)
    order = [("source", "ascending"), ("row_id", "ascending")]
    return SparkRun(whole, ledger, rejects.cast(_REJECTS).sort_by(order))


def _spark_schema() -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(_OUT)


class _Files:
    """The configuration files written out on one machine."""

    def __init__(self, folder: Path, config: "_Config") -> None:
        definitions = folder / "definitions"
        definitions.mkdir(exist_ok=True)
        for name, content in config.definitions.items():
            (definitions / name).write_bytes(content)
        self.definitions = str(definitions)
        self.target_prices = str(folder / "target_prices.csv")
        Path(self.target_prices).write_bytes(config.target_prices)
        self.risk_factors: Optional[str] = None
        if config.risk_factors is not None:
            self.risk_factors = str(folder / "risk_factors.csv")
            Path(self.risk_factors).write_bytes(config.risk_factors)


class _Config:
    """The files every bucket needs, as bytes the driver sends along with
    the work (a cluster's executors may not see the driver's files)."""

    def __init__(
        self,
        definitions: Dict[str, bytes],
        target_prices: bytes,
        risk_factors: Optional[bytes],
        as_of: Optional[str],
    ) -> None:
        self.definitions = definitions
        self.target_prices = target_prices
        self.risk_factors = risk_factors
        self.as_of = as_of

    @classmethod
    def read(
        cls,
        definitions: PathLike,
        target_prices: PathLike,
        risk_factors: Optional[PathLike],
        as_of: Optional[str],
    ) -> "_Config":
        folder = Path(definitions)
        files = {p.name: p.read_bytes() for p in sorted(folder.glob("*.toml"))}
        risk = None if risk_factors is None else Path(risk_factors).read_bytes()
        return cls(files, Path(target_prices).read_bytes(), risk, as_of)

    def files(self) -> "_FilesContext":
        return _FilesContext(self)


class _FilesContext:
    def __init__(self, config: _Config) -> None:
        self._config = config
        self._temporary: Optional[tempfile.TemporaryDirectory] = None

    def __enter__(self) -> _Files:
        self._temporary = tempfile.TemporaryDirectory(prefix="episode-recon-config-")
        return _Files(Path(self._temporary.name), self._config)

    def __exit__(self, *exc: Any) -> None:
        if self._temporary is not None:
            self._temporary.cleanup()


def _bucket(config: _Config, claims: pa.Table, enrollment: Optional[pa.Table]) -> pa.Table:
    """One bucket on an executor: its beneficiaries reconciled by the
    engine, as ledger, reject and part rows of :data:`_OUT`."""
    claims = claims.sort_by(_ROW)
    if enrollment is not None:
        enrollment = enrollment.sort_by(_ROW)
    with config.files() as files, tempfile.TemporaryDirectory(prefix="episode-recon-bucket-") as out:
        run = reconcile(
            # A bucket with enrollment and no claims reads no claims file.
            claims=[claims] if claims.num_rows else [],
            beneficiaries=enrollment,
            definitions=files.definitions,
            target_prices=files.target_prices,
            risk_factors=files.risk_factors,
            as_of=config.as_of,
        )
        run.write(Path(out) / "run")
        part = {
            "episodes_csv": (Path(out) / "run" / "episodes.csv").read_bytes(),
            "providers_csv": (Path(out) / "run" / "providers.csv").read_bytes(),
            "summary_json": (Path(out) / "run" / "summary.json").read_bytes(),
        }
        ledger = run.ledger
        rejects = _rejects(run.rejects, claims, enrollment)
    return pa.concat_tables(
        [
            _rows("ledger", ledger),
            _rows("reject", rejects),
            _rows("part", pa.Table.from_pylist([part], schema=_PART)),
        ]
    )


def _rejects(rejects: pa.Table, claims: pa.Table, enrollment: Optional[pa.Table]) -> pa.Table:
    """The bucket's rejects with their DataFrame and row id: a table's
    reject names the table (`<claims table>`) and its row in the bucket's table."""
    sources: List[str] = []
    row_ids: List[int] = []
    for file, row in zip(rejects["file"].to_pylist(), rejects["row"].to_pylist()):
        table, source = (
            (claims, "claims") if file.startswith("<claims table") else (enrollment, "beneficiaries")
        )
        sources.append(source)
        row_ids.append(table[_ROW][row - 1].as_py())
    return pa.table(
        {
            "source": pa.array(sources, pa.string()),
            "row_id": pa.array(row_ids, pa.int64()),
            "reason": rejects["reason"],
            "record": rejects["record"],
        },
        schema=_REJECTS,
    )


def _rows(kind: str, table: pa.Table) -> pa.Table:
    columns = []
    for field in _OUT:
        if field.name == "kind":
            columns.append(pa.array([kind] * table.num_rows, pa.string()))
        elif field.name in table.column_names:
            columns.append(table[field.name].cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=_OUT)
