"""The temporary bridge between Arrow tables and the engine's files.

Until the engine reads and writes Arrow itself (the Rust library's Arrow
layer, cargo feature ``parquet``), a table a user gives is written as a
canonical CSV file the engine reads (:func:`table_to_csv`), and an output is
read back from the CSV file the engine wrote, with explicit types
(:func:`read_table`). Nothing else in the package knows that files stand in
between, so moving to the Arrow layer changes these two functions only.

Money never passes through floating point on either side: a decimal column
is written as its exact text, a floating-point column is refused, and money
is read back as ``decimal128(38, 2)`` (reading fails rather than round a
value with more decimals).

What the bridge shows that the Arrow layer will not: a rejected row of a
table names the temporary CSV file, and its ``row`` is that file's line
(the table's first row is line 2).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .errors import InputDataError, InternalError

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
    as a table of :data:`SCHEMAS` types: its file, written when first asked
    for, read back. An empty field is null."""
    schema = SCHEMAS[name]
    path = Path(native.files()) / name
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


def input_paths(
    sources: list[Any], what: str, folder: str | os.PathLike[str]
) -> list[str]:
    """The engine's inputs for ``sources``, each a path (given as it is) or
    a table (written into ``folder`` as a canonical CSV file, which must
    outlive the run). ``what`` (``claims``) names the tables in errors."""
    paths = []
    for number, source in enumerate(sources, start=1):
        if isinstance(source, (str, os.PathLike)):
            paths.append(os.fspath(source))
            continue
        path = Path(folder) / f"{what}-table-{number}.csv"
        table_to_csv(source, path, f"{what} table {number}")
        paths.append(str(path))
    return paths


def table_to_csv(
    table: Any, path: str | os.PathLike[str], what: str
) -> None:
    """Writes an Arrow-capable table (pyarrow, polars, pandas, DuckDB, or
    anything with ``__arrow_c_stream__``) as a canonical CSV file, batch by
    batch: every value as the text the engine reads, never through a float.
    ``what`` names the table in errors (``claims table 1``)."""
    reader = _batches(table)
    columns = [_Column(field, what) for field in reader.schema]
    with open(path, "w", encoding="utf-8", newline="") as out:
        # Quoted only where needed, `\n` line ends: as the engine writes
        # CSV, so a rejected row's record reads as the table's values.
        rows = csv.writer(out, lineterminator="\n")
        rows.writerow(reader.schema.names)
        for batch in reader:
            texts = [c.text(a).to_pylist() for c, a in zip(columns, batch.columns)]
            rows.writerows(zip(*texts))


def _batches(table: Any) -> pa.RecordBatchReader:
    """The table as a stream of record batches, by the Arrow PyCapsule
    interface where the object has it (polars, pandas 2.2+, DuckDB,
    pyarrow), else through ``pyarrow.table`` (pandas before 2.2)."""
    if isinstance(table, pa.RecordBatchReader):
        return table
    if isinstance(table, pa.Table):
        return table.to_reader()
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table]).to_reader()
    if hasattr(table, "__arrow_c_stream__"):
        return pa.RecordBatchReader.from_stream(table)
    return pa.table(table).to_reader()


class _Column:
    """How one column's values become the text a canonical CSV holds (the
    table the Arrow layer documents: docs/INPUT-FORMATS.md, "Parquet")."""

    def __init__(self, field: pa.Field, what: str) -> None:
        self.name = field.name
        self.type = field.type
        value = self.type.value_type if pa.types.is_dictionary(self.type) else self.type
        if pa.types.is_floating(value):
            raise InputDataError(
                f"{what}: column `{self.name}` is {value}; expected decimal, integer, "
                "string or date values (money is never read from floating point: "
                "cast the column to decimal or string first)"
            )
        supported = (
            pa.types.is_string(value)
            or pa.types.is_large_string(value)
            or getattr(pa.types, "is_string_view", lambda _: False)(value)
            or pa.types.is_integer(value)
            or pa.types.is_decimal(value)
            or pa.types.is_date(value)
            or pa.types.is_timestamp(value)
            or pa.types.is_boolean(value)
            or pa.types.is_null(value)
        )
        if not supported:
            raise InputDataError(
                f"{what}: column `{self.name}` is {value}; expected decimal, integer, "
                "string, date, timestamp or boolean values"
            )

    def text(self, array: pa.Array) -> pa.Array:
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        kind = array.type
        if pa.types.is_boolean(kind):
            # The flags' values (contract 1.5).
            return pc.if_else(array, "Y", "N")
        if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
            return self._dates(array)
        return pc.cast(array, pa.string())

    def _dates(self, array: pa.Array) -> pa.Array:
        # A timestamp is its date where it was written (in its time zone
        # when it has one); a month is `YYYY-MM` when it is a first of month.
        days = pc.strftime(array, format="%Y-%m-%d")
        if self.name.strip() != "month":
            return days
        months = pc.strftime(array, format="%Y-%m")
        first = pc.equal(pc.strftime(array, format="%d"), "01")
        return pc.if_else(first, months, days)

