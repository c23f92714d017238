"""Where tables meet the engine's files: the one module that knows which
tables cross as files.

- In: a table a user gives (pyarrow, polars, pandas, DuckDB) crosses into
  the engine as the stream of record batches it is, through the Arrow C
  stream interface (``__arrow_c_stream__``), without a copy and without a
  file; the engine reads it as it reads a Parquet file's row groups
  (src/input/arrow.rs: columns by the canonical names; decimal, integer,
  string, date, timestamp and boolean columns read as their text would be,
  floating point refused naming the column). A rejected row of a table
  names it ``<claims table>`` (``<claims table 2>`` among several; the
  same for beneficiaries), its ``row`` the table's 1-based row, its
  ``record`` the row's values as a CSV line.
- Out: a run's tables come from the engine as Arrow record batches
  (src/output/arrow.rs) without passing through a file. What the engine
  does not hold in memory (a run opened from its folder, the ledger and
  rejects of a run repriced from a folder, a true-up's tables) is read from
  the CSV files the engine wrote, with the same types (:data:`SCHEMAS`; a
  test checks they are the engine's).

Money never passes through floating point on either side.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from .errors import InternalError

#: Money: exact cents, the engine's ``Money``.
MONEY = pa.decimal128(38, 2)
_S, _M, _D, _I = pa.string(), MONEY, pa.date32(), pa.int64()

#: Each output file's columns and their types, as the tables carry them.
#: The risk multiplier, target price and quality score are text: they are
#: written as read from the pricing files, with as many decimals as there.
SCHEMAS: dict[str, pa.Schema] = {
    name: pa.schema(columns)
    for name, columns in {
        "episodes.csv": [
            ("episode_id", _S), ("episode_type", _S), ("beneficiary_id", _S),
            ("provider_id", _S), ("anchor_claim_id", _S), ("price_group", _S),
            ("start_date", _D), ("end_date", _D), ("period", _S), ("status", _S),
            ("claim_lines", _I), ("actual_amount", _M), ("capped_amount", _M),
            ("target_amount", _M), ("gain_loss", _M), ("cancel_reason", _S),
            ("risk_levels", _S), ("risk_multiplier", _S), ("target_price", _S),
        ],
        "providers.csv": [
            ("provider_id", _S), ("episode_type", _S), ("period", _S), ("episodes", _I),
            ("target_total", _M), ("actual_total", _M), ("capped_total", _M),
            ("gain_loss_total", _M), ("limit", _S), ("reconciliation_amount", _M),
        ],
        "ledger.csv": [
            ("episode_id", _S), ("claim_id", _S), ("line_number", _I), ("claim_type", _S),
            ("allowed_amount", _M), ("included_amount", _M), ("disposition", _S),
            ("provider_id", _S), ("service_date", _D),
        ],
        "rejects.csv": [("file", _S), ("row", _I), ("reason", _S), ("record", _S)],
        "participants.csv": [
            ("provider_id", _S), ("period", _S), ("track", _S), ("quality_score", _S),
            ("episodes", _I), ("target_total", _M), ("capped_total", _M),
            ("reconciliation_amount", _M), ("quality_adjusted_amount", _M), ("limit", _S),
            ("net_payment_reconciliation_amount", _M),
        ],
        "true_up_episodes.csv": [
            ("episode_id", _S), ("episode_type", _S), ("beneficiary_id", _S), ("change", _S),
            ("previous_provider_id", _S), ("current_provider_id", _S),
            ("previous_period", _S), ("current_period", _S),
            ("previous_actual", _M), ("current_actual", _M),
            ("previous_target", _M), ("current_target", _M),
            ("previous_gain_loss", _M), ("current_gain_loss", _M), ("gain_loss_change", _M),
            ("previous_status", _S), ("current_status", _S),
            ("previous_cancel_reason", _S), ("current_cancel_reason", _S),
        ],
        "true_up_providers.csv": [
            ("provider_id", _S), ("episode_type", _S), ("period", _S),
            ("previous_episodes", _I), ("current_episodes", _I),
            ("previous_limit", _S), ("current_limit", _S),
            ("previous_reconciliation", _M), ("current_reconciliation", _M),
            ("amount_due", _M),
        ],
        "true_up_participants.csv": [
            ("provider_id", _S), ("period", _S), ("previous_track", _S),
            ("current_track", _S), ("previous_quality_score", _S),
            ("current_quality_score", _S), ("previous_net_payment", _M),
            ("current_net_payment", _M), ("amount_due", _M),
        ],
    }.items()
}  # fmt: skip


def read_table(native: Any, name: str) -> pa.Table:
    """The output ``name`` (``episodes.csv``...) of a native run or true-up
    as a table of :data:`SCHEMAS` types: from the engine's record batches
    where it holds them, else from its file (written when first asked for).
    An empty field is null."""
    table = getattr(native, "table", None)
    stream = table(name[: -len(".csv")]) if table is not None else None
    if stream is not None:
        return pa.RecordBatchReader.from_stream(stream).read_all()
    return read_csv(Path(native.files()) / name)


def read_csv(path: Path) -> pa.Table:
    """A CSV output file the engine wrote, as a table of :data:`SCHEMAS`
    types."""
    name = path.name
    schema = SCHEMAS[name]
    convert = pacsv.ConvertOptions(
        column_types=schema,
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    parse = pacsv.ParseOptions(newlines_in_values=True)
    try:
        table = pacsv.read_csv(path, parse_options=parse, convert_options=convert)
    except pa.ArrowInvalid as error:
        if "invalid UTF8" not in str(error):
            raise InternalError(f"{path}: cannot be read back as {name}: {error}") from None
        # A rejected row is kept byte for byte, and may not be UTF-8: its
        # text columns are read as bytes and shown with U+FFFD for what
        # does not decode.
        table = _read_lossy(path, schema, parse, convert)
    if table.schema.names != schema.names:
        raise InternalError(
            f"{path}: columns {table.schema.names}, expected {schema.names}"
        )
    return table.cast(schema)


def _read_lossy(
    path: Path,
    schema: pa.Schema,
    parse: pacsv.ParseOptions,
    convert: pacsv.ConvertOptions,
) -> pa.Table:
    as_bytes = pa.schema(
        [(f.name, pa.binary() if f.type == _S else f.type) for f in schema]
    )
    convert.column_types = as_bytes
    raw = pacsv.read_csv(path, parse_options=parse, convert_options=convert)
    columns = []
    for field, column in zip(schema, raw.columns):
        if field.type == _S:
            values = [
                None if v is None else v.decode("utf-8", errors="replace")
                for v in column.to_pylist()
            ]
            column = pa.array(values, _S)
        columns.append(column)
    return pa.table(columns, schema=schema)


def inputs(sources: list[Any]) -> list[Any]:
    """The engine's inputs for ``sources`` (a run's claims and
    beneficiaries): each path as a string, each table as an object with
    ``__arrow_c_stream__``, whose record batches the engine reads as they
    stream, through the Arrow C stream interface (types kept, nothing
    converted, nothing written to a file).

    A DuckDB relation is a query on a connection, which runs one query at
    a time, while a run reads its beneficiaries beside its claims and holds
    every table's stream open from the start: when a run is given several
    relations, each is fetched whole into Arrow memory first (which the run
    would hold anyway, to find rejected rows again); a single one streams.
    """
    several = sum(_is_duckdb(s) for s in sources) > 1
    return [
        os.fspath(source)
        if isinstance(source, (str, os.PathLike))
        else pa.table(source)
        if several and _is_duckdb(source)
        else _stream(source)
        for source in sources
    ]


def _is_duckdb(table: Any) -> bool:
    return type(table).__module__.split(".")[0] == "duckdb"


def _stream(table: Any) -> Any:
    """The table as an object with ``__arrow_c_stream__`` (the Arrow
    PyCapsule interface): as it is where it has one (polars, pandas 2.2,
    DuckDB, pyarrow tables and readers), else through pyarrow (a
    ``RecordBatch``; pandas before 2.2)."""
    if hasattr(table, "__arrow_c_stream__") and not isinstance(table, pa.RecordBatch):
        return table
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    return pa.table(table)
