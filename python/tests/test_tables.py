"""Claims and beneficiaries as tables (pyarrow, polars, pandas, DuckDB, any
object with ``__arrow_c_stream__``), read in memory as they stream, give
the run the CLI makes of their files; typed columns (decimal, date, integer,
boolean) read as their text would; floating-point money is refused. A
rejected row of a table is numbered as the table's row, and reads as its
values joined as a CSV line."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, Dict, List

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

import episode_recon as er

from conftest import (
    GOLDEN,
    REPO,
    SAMPLE,
    SAMPLE_FLAGS,
    assert_table_is_csv,
    csv_rows,
    run_cli,
    summary_of,
    table_rows,
)

CLAIMS = sorted((REPO / "sample-claims" / "claims").glob("*.csv"))
BENEFICIARIES = REPO / "sample-claims" / "beneficiaries.csv"


def as_text(path: Path) -> pa.Table:
    """A CSV file as a table of strings, every field as written."""
    names = csv_rows(path)[0]
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in names}, strings_can_be_null=False
    )
    return pacsv.read_csv(path, convert_options=convert)


def with_tables(claims: Any, beneficiaries: Any) -> Dict[str, Any]:
    return {**SAMPLE, "claims": claims, "beneficiaries": beneficiaries}


@pytest.fixture(scope="module")
def cli_sample(cli: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample run by this build's CLI: what every table run must equal."""
    out = tmp_path_factory.mktemp("cli") / "out"
    done = run_cli(cli, "reconcile", *SAMPLE_FLAGS, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def as_table_rejects(rejects: List[List[str]], names: Dict[str, str]) -> List[List[str]]:
    """The CLI's rejects of the sample as a run of tables gives them: the
    file the table's name, the row the table's row (the file's line less
    its header)."""
    return [[names[file], str(int(row) - 1), reason, record] for file, row, reason, record in rejects]


#: The tables' names, for the sample's files given as one table each.
TABLE_NAMES = {
    "sample-claims/claims/2025-claims.csv": "<claims table 1>",
    "sample-claims/claims/2026-claims.csv": "<claims table 2>",
    "sample-claims/beneficiaries.csv": "<beneficiaries table>",
}


def assert_same_run_as_the_cli(run: er.Run, cli_out: Path) -> None:
    """Every table and the summary equal the CLI's run of the files; each
    reject is the CLI's, at the table's name and row."""
    for name in ("episodes", "providers", "ledger", "participants"):
        assert_table_is_csv(getattr(run, name), cli_out / f"{name}.csv")
    assert run.summary == summary_of(cli_out / "summary.json")
    header, *expected = csv_rows(cli_out / "rejects.csv")
    assert [f.name for f in CLAIMS] == ["2025-claims.csv", "2026-claims.csv"]
    actual = table_rows(run.rejects)
    assert actual[0] == header
    assert sorted(actual[1:]) == sorted(as_table_rejects(expected, TABLE_NAMES))
    assert len(expected) == 5, "the sample's rejects: a row check's and a version check's of each input"


def test_pyarrow_tables_give_the_run_of_the_files(cli_sample: Path) -> None:
    run = er.reconcile(**with_tables([as_text(p) for p in CLAIMS], as_text(BENEFICIARIES)))
    assert_same_run_as_the_cli(run, cli_sample)


def test_polars_data_frames_give_the_run_of_the_files(cli_sample: Path) -> None:
    pl = pytest.importorskip("polars")
    claims = [pl.read_csv(p, infer_schema=False) for p in CLAIMS]
    beneficiaries = pl.read_csv(BENEFICIARIES, infer_schema=False)
    assert_same_run_as_the_cli(er.reconcile(**with_tables(claims, beneficiaries)), cli_sample)


def test_pandas_data_frames_give_the_run_of_the_files(cli_sample: Path) -> None:
    pd = pytest.importorskip("pandas")
    read = lambda p: pd.read_csv(p, dtype=str, keep_default_na=False)  # noqa: E731
    claims = [read(p) for p in CLAIMS]
    assert_same_run_as_the_cli(er.reconcile(**with_tables(claims, read(BENEFICIARIES))), cli_sample)


def test_a_duckdb_relation_gives_the_run_of_the_files(cli_sample: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    claims = [con.read_csv(str(p), all_varchar=True) for p in CLAIMS]
    beneficiaries = con.read_csv(str(BENEFICIARIES), all_varchar=True)
    # Several relations of one connection: fetched whole first.
    assert_same_run_as_the_cli(er.reconcile(**with_tables(claims, beneficiaries)), cli_sample)
    # One relation: read as its query streams, beside the claims.
    claims = [as_text(p) for p in CLAIMS]
    assert_same_run_as_the_cli(er.reconcile(**with_tables(claims, beneficiaries)), cli_sample)


class OnlyAStream:
    """A table as DuckDB, or any other Arrow producer, hands one over:
    nothing but ``__arrow_c_stream__`` (the Arrow PyCapsule interface)."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table
        self.exported = 0

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        self.exported += 1
        return self._table.__arrow_c_stream__(requested_schema)


def test_any_object_with_an_arrow_c_stream_gives_the_run_of_the_files(cli_sample: Path) -> None:
    claims = [OnlyAStream(as_text(p)) for p in CLAIMS]
    beneficiaries = OnlyAStream(as_text(BENEFICIARIES))
    assert_same_run_as_the_cli(er.reconcile(**with_tables(claims, beneficiaries)), cli_sample)
    # Each stream was taken once: read as it streamed, never asked again.
    assert [c.exported for c in claims] + [beneficiaries.exported] == [1, 1, 1]


def in_batches(table: pa.Table, rows: int) -> pa.RecordBatchReader:
    """The table as a stream of batches of `rows` rows, made one at a time
    by a generator: a stream that cannot be read twice."""

    def batches():
        yield from table.to_batches(max_chunksize=rows)

    return pa.RecordBatchReader.from_batches(table.schema, batches())


def test_a_stream_of_small_batches_gives_the_run_of_the_files(cli_sample: Path) -> None:
    # Rows numbered across batches; the rows only a version check rejects
    # (a claim with a rejected row, a month given twice) found again in the
    # batches read.
    claims = [in_batches(as_text(p), 7) for p in CLAIMS]
    beneficiaries = in_batches(as_text(BENEFICIARIES), 10)
    assert_same_run_as_the_cli(er.reconcile(**with_tables(claims, beneficiaries)), cli_sample)


def test_tables_never_pass_through_a_file(monkeypatch: pytest.MonkeyPatch, cli_sample: Path) -> None:
    import pyarrow.parquet as pq

    def refused(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a table was written to a Parquet file")

    monkeypatch.setattr(pq, "ParquetWriter", refused)
    monkeypatch.setattr(pq, "write_table", refused)
    run = er.reconcile(**with_tables([as_text(p) for p in CLAIMS], as_text(BENEFICIARIES)))
    assert_same_run_as_the_cli(run, cli_sample)


def test_a_rejected_row_of_a_table_is_its_row_and_its_values() -> None:
    run = er.reconcile(**with_tables([as_text(p) for p in CLAIMS], SAMPLE["beneficiaries"]))
    rejects = run.rejects.filter(pc.equal(run.rejects["reason"], "bad_amount")).to_pylist()
    assert len(rejects) == 1
    (reject,) = rejects
    expected = [r for r in csv_rows(GOLDEN / "rejects.csv") if r[2] == "bad_amount"][0]
    # The file's line, less its header: the table's 1-based row.
    assert reject["row"] == int(expected[1]) - 1
    assert reject["record"] == expected[3]
    assert reject["file"] == "<claims table 2>"


def small_claims(amounts: List[str]) -> pa.Table:
    """Professional claim lines of one beneficiary, one a row, with these
    amounts."""
    n = len(amounts)
    return pa.table(
        {
            "claim_id": [f"C{i}" for i in range(1, n + 1)],
            "line_number": pa.array([1] * n, pa.int32()),
            "beneficiary_id": ["B1"] * n,
            "claim_type": ["PB"] * n,
            "from_date": pa.array([datetime.date(2025, 3, 2)] * n, pa.date32()),
            "thru_date": pa.array([datetime.date(2025, 3, 2)] * n, pa.date32()),
            "allowed_amount": amounts,
        }
    )


def test_a_bad_row_of_one_table_is_rejected_at_its_row() -> None:
    # Row 3 of 4 has an amount with a comma: hand-counted, it is the
    # table's row 3, and its record is its values joined as a CSV line.
    claims = small_claims(["10.00", "20.00", "1,50", "40.00"])
    run = er.reconcile(**{**SAMPLE, "claims": claims, "beneficiaries": SAMPLE["beneficiaries"]})
    rejects = [r for r in run.rejects.to_pylist() if r["file"] == "<claims table>"]
    assert rejects == [
        {
            "file": "<claims table>",
            "row": 3,
            "reason": "bad_amount",
            "record": 'C3,1,B1,PB,2025-03-02,2025-03-02,"1,50"',
        }
    ]
    assert run.summary["rows"]["read"] == 4
    assert run.summary["rows"]["rejected"] == 1


def test_strict_names_the_tables_row() -> None:
    claims = small_claims(["10.00", "x"])
    with pytest.raises(er.InputDataError, match=r"^<claims table>: row 2: rejected \(bad_amount\)"):
        er.reconcile(**{**SAMPLE, "claims": claims}, strict=True)


def test_tables_and_paths_mix_in_one_list() -> None:
    claims = [as_text(CLAIMS[0]), str(CLAIMS[1])]
    assert_same_run_as_the_files(er.reconcile(**with_tables(claims, SAMPLE["beneficiaries"])))


def assert_same_run_as_the_files(run: er.Run) -> None:
    """Episodes, providers, ledger and participants equal the golden files;
    each rejected row has the golden reason and record (its file is the
    table's, not the sample's)."""
    for name in ("episodes", "providers", "ledger", "participants"):
        assert_table_is_csv(getattr(run, name), GOLDEN / f"{name}.csv")
    expected = [row[2:] for row in csv_rows(GOLDEN / "rejects.csv")]
    actual = [row[2:] for row in table_rows(run.rejects.sort_by([("reason", "ascending")]))]
    assert sorted(actual) == sorted(expected)


def dates(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text dates (`YYYY-MM-DD` or `YYYYMMDD`, empty for none) as dates."""
    iso = pc.replace_substring_regex(column, r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3")
    return pc.cast(pc.if_else(pc.equal(iso, ""), None, iso), pa.date32())


def typed_claims(table: pa.Table) -> pa.Table:
    """The claims with amounts as decimals, dates as dates and line numbers
    as integers, as a data lake holds them."""
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if name == "allowed_amount":
            column = pc.cast(column, pa.decimal128(18, 2))
        elif name.endswith("_date"):
            column = dates(column)
        elif name == "line_number":
            column = pc.cast(column, pa.int32())
        columns[name] = column
    return pa.table(columns)


def typed_beneficiaries(table: pa.Table) -> pa.Table:
    flags = ["part_a", "part_b", "managed_care", "esrd", "dual"]
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if name in flags:
            column = pc.equal(column, "Y")
        elif name == "month":
            month = pc.replace_substring_regex(column, r"^(\d{4})(\d{2})$", r"\1-\2")
            column = dates(pc.binary_join_element_wise(month, "01", "-"))
        elif name.endswith("_date"):
            column = dates(column)
        elif name == "hcc_count":
            column = pc.cast(column, pa.int64())
        columns[name] = column
    return pa.table(columns)


def test_typed_columns_read_as_their_text() -> None:
    # Only rows whose values have a type: the sample's rejected rows
    # (an amount with a comma, a flag `U`) are left out of both runs.
    claims = [as_text(p) for p in CLAIMS]
    claims = [t.filter(pc.match_substring_regex(t["allowed_amount"], r"^-?\d+(\.\d+)?$")) for t in claims]
    beneficiaries = as_text(BENEFICIARIES)
    flags = ["part_a", "part_b", "managed_care", "esrd", "dual"]
    keep = pc.and_(*[pc.is_in(beneficiaries[f], pa.array(["Y", "N"])) for f in flags[:2]])
    for f in flags[2:]:
        keep = pc.and_(keep, pc.is_in(beneficiaries[f], pa.array(["Y", "N"])))
    beneficiaries = beneficiaries.filter(keep)
    as_strings = er.reconcile(**with_tables(claims, beneficiaries))
    typed = er.reconcile(
        **with_tables([typed_claims(t) for t in claims], typed_beneficiaries(beneficiaries))
    )
    assert typed_claims(claims[0]).schema.field("allowed_amount").type == pa.decimal128(18, 2)
    for name in ("episodes", "providers", "ledger", "participants"):
        assert getattr(typed, name).equals(getattr(as_strings, name)), name
    assert typed.summary["rows"] == as_strings.summary["rows"]
    assert typed.summary["beneficiaries"] == as_strings.summary["beneficiaries"]
    assert typed.summary["episodes"]["total"] > 30


def test_floating_point_money_is_refused_naming_the_column() -> None:
    claims = as_text(CLAIMS[0])
    bad_rows = pc.match_substring_regex(claims["allowed_amount"], r"^-?\d+(\.\d+)?$")
    floats = claims.filter(bad_rows).set_column(
        claims.column_names.index("allowed_amount"),
        "allowed_amount",
        pc.cast(claims.filter(bad_rows)["allowed_amount"], pa.float64()),
    )
    with pytest.raises(
        er.InputDataError, match="^<claims table>: column `allowed_amount` is Float64: money"
    ):
        er.reconcile(**with_tables(floats, SAMPLE["beneficiaries"]))


def test_a_table_with_a_file_format_is_refused() -> None:
    with pytest.raises(er.UsageError, match="claims_format"):
        er.reconcile(**with_tables(as_text(CLAIMS[0]), None), claims_format="rif")
