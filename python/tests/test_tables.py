"""Claims and beneficiaries as tables (pyarrow, polars, pandas, DuckDB)
give the run their files give; typed columns (decimal, date, integer,
boolean) read as their text would; floating-point money is refused. A
rejected row of a table is numbered as the table's row, and reads as its
values joined as a CSV line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

import episode_recon as er

from conftest import GOLDEN, REPO, SAMPLE, assert_table_is_csv, csv_rows, table_rows

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


def assert_same_run_as_the_files(run: er.Run) -> None:
    """Episodes, providers, ledger and participants equal the golden files;
    each rejected row has the golden reason and record (its file is the
    table's, not the sample's)."""
    for name in ("episodes", "providers", "ledger", "participants"):
        assert_table_is_csv(getattr(run, name), GOLDEN / f"{name}.csv")
    expected = [row[2:] for row in csv_rows(GOLDEN / "rejects.csv")]
    actual = [row[2:] for row in table_rows(run.rejects.sort_by([("reason", "ascending")]))]
    assert sorted(actual) == sorted(expected)


def test_pyarrow_tables_give_the_run_of_the_files() -> None:
    run = er.reconcile(**with_tables([as_text(p) for p in CLAIMS], as_text(BENEFICIARIES)))
    assert_same_run_as_the_files(run)


def test_polars_data_frames_give_the_run_of_the_files() -> None:
    pl = pytest.importorskip("polars")
    claims = [pl.read_csv(p, infer_schema=False) for p in CLAIMS]
    beneficiaries = pl.read_csv(BENEFICIARIES, infer_schema=False)
    assert_same_run_as_the_files(er.reconcile(**with_tables(claims, beneficiaries)))


def test_pandas_data_frames_give_the_run_of_the_files() -> None:
    pd = pytest.importorskip("pandas")
    read = lambda p: pd.read_csv(p, dtype=str, keep_default_na=False)  # noqa: E731
    claims = [read(p) for p in CLAIMS]
    assert_same_run_as_the_files(er.reconcile(**with_tables(claims, read(BENEFICIARIES))))


def test_a_duckdb_relation_gives_the_run_of_the_files() -> None:
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    claims = [con.read_csv(str(p), all_varchar=True) for p in CLAIMS]
    beneficiaries = con.read_csv(str(BENEFICIARIES), all_varchar=True)
    assert_same_run_as_the_files(er.reconcile(**with_tables(claims, beneficiaries)))


def test_a_rejected_row_of_a_table_is_its_row_and_its_values() -> None:
    run = er.reconcile(**with_tables([as_text(p) for p in CLAIMS], SAMPLE["beneficiaries"]))
    rejects = run.rejects.filter(pc.equal(run.rejects["reason"], "bad_amount")).to_pylist()
    assert len(rejects) == 1
    (reject,) = rejects
    expected = [r for r in csv_rows(GOLDEN / "rejects.csv") if r[2] == "bad_amount"][0]
    # The file's line, less its header: the table's 1-based row.
    assert reject["row"] == int(expected[1]) - 1
    assert reject["record"] == expected[3]
    assert reject["file"].endswith("claims-table-2.parquet")


def test_tables_and_paths_mix_in_one_list() -> None:
    claims = [as_text(CLAIMS[0]), str(CLAIMS[1])]
    assert_same_run_as_the_files(er.reconcile(**with_tables(claims, SAMPLE["beneficiaries"])))


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
    with pytest.raises(er.InputDataError, match="column `allowed_amount` is Float64: money"):
        er.reconcile(**with_tables(floats, SAMPLE["beneficiaries"]))


def test_a_table_with_a_file_format_is_refused() -> None:
    with pytest.raises(er.UsageError, match="claims_format"):
        er.reconcile(**with_tables(as_text(CLAIMS[0]), None), claims_format="rif")
