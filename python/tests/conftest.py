"""Shared helpers of the Python package's tests: the repository's sample,
the CLI to compare with, and exact comparisons of tables with the CLI's
CSV files (every value as the engine writes it: decimals never through a
float)."""

from __future__ import annotations

import csv
import datetime
import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List

import pyarrow as pa
import pytest

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "sample" / "expected"

#: The README's sample run, as arguments of `reconcile` (paths relative to
#: the repository, as the golden rejects name them).
SAMPLE: Dict[str, Any] = {
    "claims": "sample-claims/claims",
    "definitions": "episode-definitions",
    "target_prices": "sample-claims/target_prices.csv",
    "beneficiaries": "sample-claims/beneficiaries.csv",
    "risk_factors": "sample-claims/risk_factors.csv",
    "participants": "sample-claims/participants.csv",
    "settlement": "models/team/settlement.toml",
}

#: The same files as the CLI's flags.
SAMPLE_FLAGS: List[str] = [
    "--claims", SAMPLE["claims"],
    "--definitions", SAMPLE["definitions"],
    "--target-prices", SAMPLE["target_prices"],
    "--beneficiaries", SAMPLE["beneficiaries"],
    "--risk-factors", SAMPLE["risk_factors"],
    "--participants", SAMPLE["participants"],
    "--settlement", SAMPLE["settlement"],
]  # fmt: skip


@pytest.fixture(scope="session", autouse=True)
def in_repository():
    """Every test runs from the repository root, as the README's commands
    (the golden rejects name the sample's files relative to it)."""
    before = os.getcwd()
    os.chdir(REPO)
    yield
    os.chdir(before)


@pytest.fixture(scope="session")
def cli() -> Path:
    """The release binary to compare with: $EPISODE_RECON_BIN, else the
    target folder's (built when missing)."""
    given = os.environ.get("EPISODE_RECON_BIN")
    if given:
        return Path(given)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    binary = target / "release" / "episode-recon"
    if not binary.exists():
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    return binary


def run_cli(cli: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(cli), "--quiet", *args], cwd=REPO, capture_output=True, text=True
    )


def text(value: Any) -> str:
    """A table value as the engine writes it in a CSV file."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def csv_rows(path: Path) -> List[List[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def table_rows(table: pa.Table) -> List[List[str]]:
    columns = [column.to_pylist() for column in table.columns]
    return [table.column_names] + [
        [text(column[i]) for column in columns] for i in range(table.num_rows)
    ]


def assert_table_is_csv(table: pa.Table, path: Path) -> None:
    """The table holds the CSV file's header and rows, value for value."""
    expected = csv_rows(path)
    actual = table_rows(table)
    assert actual[0] == expected[0], f"{path.name}: header"
    assert len(actual) == len(expected), f"{path.name}: rows"
    for number, (a, e) in enumerate(zip(actual, expected), start=1):
        assert a == e, f"{path.name}: line {number}"


def summary_of(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text(), parse_float=Decimal)


def assert_run_is_folder(run: Any, folder: Path) -> None:
    """Every table of `run` equals the files the CLI wrote into `folder`."""
    for name in ("episodes", "providers", "ledger", "rejects"):
        assert_table_is_csv(getattr(run, name), folder / f"{name}.csv")
    if (folder / "participants.csv").exists():
        assert run.participants is not None
        assert_table_is_csv(run.participants, folder / "participants.csv")
    else:
        assert run.participants is None
    assert run.summary == summary_of(folder / "summary.json")
