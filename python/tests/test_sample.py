"""The Python API on the bundled sample equals the CLI's committed golden
outputs (tests/golden/sample/expected), value for value and byte for byte."""

from __future__ import annotations

import filecmp
import inspect
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

import episode_recon as er
from episode_recon._bridge import SCHEMAS

from conftest import GOLDEN, SAMPLE, assert_run_is_folder, summary_of

FILES = ["episodes.csv", "providers.csv", "ledger.csv", "rejects.csv", "summary.json", "participants.csv"]


@pytest.fixture(scope="module")
def run() -> er.Run:
    return er.reconcile(**SAMPLE)


def test_every_table_and_the_summary_equal_the_golden_outputs(run: er.Run) -> None:
    assert_run_is_folder(run, GOLDEN)


def test_money_is_decimal_and_dates_are_dates(run: er.Run) -> None:
    money = pa.decimal128(38, 2)
    for table, columns in [
        (run.episodes, ["actual_amount", "capped_amount", "target_amount", "gain_loss"]),
        (run.providers, ["target_total", "actual_total", "capped_total", "gain_loss_total", "reconciliation_amount"]),
        (run.ledger, ["allowed_amount", "included_amount"]),
        (run.participants, ["target_total", "capped_total", "reconciliation_amount", "quality_adjusted_amount", "net_payment_reconciliation_amount"]),
    ]:
        for column in columns:
            assert table.schema.field(column).type == money, column
    for table, column in [(run.episodes, "start_date"), (run.episodes, "end_date"), (run.ledger, "service_date")]:
        assert table.schema.field(column).type == pa.date32(), column
    # The values themselves are Decimals, exact to the cent.
    total = sum(run.providers.column("reconciliation_amount").to_pylist(), Decimal(0))
    assert str(total) == run.summary["money"]["reconciliation"]
    assert not any(isinstance(v, float) for v in _leaves(run.summary))


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def test_the_engines_arrow_types_are_those_a_runs_files_are_read_with(run: er.Run, tmp_path: Path) -> None:
    # Tables come from the engine as Arrow batches; those of a run opened
    # from its folder are read from its CSV files: the same types, the same
    # values.
    run.write(tmp_path / "out")
    opened = er.open_run(tmp_path / "out")
    for name in ("episodes", "providers", "ledger", "rejects", "participants"):
        table = getattr(run, name)
        assert table.schema.types == SCHEMAS[f"{name}.csv"].types, name
        assert table.schema.names == SCHEMAS[f"{name}.csv"].names, name
        assert getattr(opened, name).equals(table), name


def test_written_files_are_the_clis_byte_for_byte(run: er.Run, tmp_path: Path) -> None:
    er.write(run, tmp_path / "out")
    for name in FILES:
        assert filecmp.cmp(tmp_path / "out" / name, GOLDEN / name, shallow=False), name


def test_a_written_run_opens_again_as_the_same_run(run: er.Run, tmp_path: Path) -> None:
    run.write(tmp_path / "out")
    opened = er.open_run(tmp_path / "out")
    assert_run_is_folder(opened, GOLDEN)
    er.write(opened, tmp_path / "copy")
    for name in FILES:
        assert filecmp.cmp(tmp_path / "copy" / name, GOLDEN / name, shallow=False), name


def test_the_summary_says_what_the_golden_one_says(run: er.Run) -> None:
    assert run.summary == summary_of(GOLDEN / "summary.json")
    assert "36 priced" in repr(run)


def test_help_documents_every_argument() -> None:
    doc = inspect.getdoc(er.reconcile)
    for name in inspect.signature(er.reconcile).parameters:
        assert f"{name}:" in doc, name
    assert "decimal128(38, 2)" in inspect.getdoc(er)


def test_the_readmes_example_runs_and_shows_the_sample() -> None:
    readme = (GOLDEN.parents[3] / "README.md").read_text()
    section = readme[readme.index("## Python and notebooks") :]
    code = section[section.index("```python\n") + len("```python\n") : section.index("```\n", 10)]
    assert len(code.strip().splitlines()) == 5
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    run = scope["run"]
    assert run.summary["episodes"]["total"] == 41
    assert run.providers.num_rows == 20
