"""A reprice and a true-up from Python equal the CLI's (the README's
walkthrough on the sample), table for table and file for file."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

import episode_recon as er

from conftest import SAMPLE, SAMPLE_FLAGS, assert_run_is_folder, assert_table_is_csv, run_cli, summary_of

PRICING = {k: SAMPLE[k] for k in ("risk_factors", "participants", "settlement")}
PRICING_FLAGS = SAMPLE_FLAGS[8:]  # risk factors, participants, settlement
WHAT_IF = "sample-claims/target_prices_what_if.csv"


@pytest.fixture(scope="module")
def cli_runs(cli: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's walkthrough by the CLI: initial, later, true-up, what-if."""
    work = tmp_path_factory.mktemp("cli")
    steps = [
        ["reconcile", *SAMPLE_FLAGS, "--as-of", "2026-03-31", "--out", str(work / "initial")],
        ["reconcile", *SAMPLE_FLAGS, "--out", str(work / "later")],
        ["true-up", "--previous", str(work / "initial"), "--current", str(work / "later"),
         "--out", str(work / "true-up")],
        ["reprice", "--run", str(work / "later"), "--target-prices", WHAT_IF, *PRICING_FLAGS,
         "--out", str(work / "what-if")],
    ]  # fmt: skip
    for step in steps:
        done = run_cli(cli, *step)
        assert done.returncode == 0, done.stderr
    return work


@pytest.fixture(scope="module")
def later() -> er.Run:
    return er.reconcile(**SAMPLE)


@pytest.fixture(scope="module")
def initial() -> er.Run:
    return er.reconcile(**SAMPLE, as_of="2026-03-31")


def test_a_run_with_a_cutoff_equals_the_clis(initial: er.Run, cli_runs: Path) -> None:
    assert_run_is_folder(initial, cli_runs / "initial")


def test_a_reprice_equals_the_clis(later: er.Run, cli_runs: Path, tmp_path: Path) -> None:
    what_if = er.reprice(later, target_prices=WHAT_IF, **PRICING)
    assert_run_is_folder(what_if, cli_runs / "what-if")
    # Its ledger and rejects are the run's; its files are the CLI's.
    what_if.write(tmp_path / "what-if")
    for name in ("episodes.csv", "providers.csv", "ledger.csv", "rejects.csv", "summary.json", "participants.csv"):
        assert filecmp.cmp(tmp_path / "what-if" / name, cli_runs / "what-if" / name, shallow=False), name


def test_a_reprice_of_a_folder_equals_the_clis(cli_runs: Path) -> None:
    what_if = er.reprice(cli_runs / "later", target_prices=WHAT_IF, **PRICING)
    assert_run_is_folder(what_if, cli_runs / "what-if")


def test_repricing_with_the_runs_own_prices_gives_the_run_back(later: er.Run) -> None:
    same = er.reprice(later, target_prices=SAMPLE["target_prices"], **PRICING)
    for name in ("episodes", "providers", "ledger", "rejects", "participants"):
        assert getattr(same, name).equals(getattr(later, name)), name
    assert same.summary == later.summary


def test_a_true_up_equals_the_clis(initial: er.Run, later: er.Run, cli_runs: Path, tmp_path: Path) -> None:
    change = er.true_up(initial, later)
    folder = cli_runs / "true-up"
    assert_table_is_csv(change.episodes, folder / "true_up_episodes.csv")
    assert_table_is_csv(change.providers, folder / "true_up_providers.csv")
    assert change.participants is not None
    assert_table_is_csv(change.participants, folder / "true_up_participants.csv")
    # The runs' folders differ: the CLI's are named, a Run's are temporary.
    assert without_folders(change.summary) == without_folders(summary_of(folder / "summary.json"))
    assert change.summary["check"] is True
    er.write(change, tmp_path / "true-up")
    for name in ("true_up_episodes.csv", "true_up_providers.csv", "true_up_participants.csv"):
        assert filecmp.cmp(tmp_path / "true-up" / name, folder / name, shallow=False), name
    assert summary_of(tmp_path / "true-up" / "summary.json") == change.summary


def without_folders(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("previous", "current")}


def test_a_true_up_of_folders_equals_one_of_runs(initial: er.Run, later: er.Run, cli_runs: Path) -> None:
    of_folders = er.true_up(cli_runs / "initial", cli_runs / "later")
    of_runs = er.true_up(initial, later)
    assert of_folders.providers.equals(of_runs.providers)
    assert of_folders.episodes.equals(of_runs.episodes)
    assert of_folders.summary["previous"] == str(cli_runs / "initial")


def test_a_true_up_of_a_reprice_is_refused(later: er.Run) -> None:
    what_if = er.reprice(later, target_prices=WHAT_IF, **PRICING)
    with pytest.raises(er.InputDataError, match="target prices"):
        er.true_up(later, what_if)
