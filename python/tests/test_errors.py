"""Errors raise the exception of their group, with the CLI's one-line
message (what follows `error: ` on its stderr)."""

from __future__ import annotations

from pathlib import Path

import pytest

import episode_recon as er

from conftest import SAMPLE, SAMPLE_FLAGS, run_cli


def cli_message(cli: Path, *args: str) -> str:
    done = run_cli(cli, *args)
    assert done.returncode != 0
    line = done.stderr.strip()
    assert line.startswith("error: ") and "\n" not in line, done.stderr
    return line[len("error: ") :]


def flags_with(flag: str, value: str) -> list:
    flags = list(SAMPLE_FLAGS)
    flags[flags.index(flag) + 1] = value
    return flags


def test_every_group_is_an_episode_recon_error_with_the_clis_exit_status() -> None:
    groups = [
        (er.ConfigurationError, 1),
        (er.InputDataError, 1),
        (er.UsageError, 2),
        (er.MachineError, 3),
        (er.InternalError, 4),
    ]
    for group, status in groups:
        assert issubclass(group, er.EpisodeReconError)
        assert group.exit_code == status


def test_a_bad_definitions_folder_is_a_configuration_error(cli: Path, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-definitions")
    with pytest.raises(er.ConfigurationError) as raised:
        er.reconcile(**{**SAMPLE, "definitions": missing})
    expected = cli_message(cli, "reconcile", *flags_with("--definitions", missing), "--out", str(tmp_path / "out"))
    assert str(raised.value) == expected
    assert missing in expected


def test_a_missing_claims_file_is_an_input_data_error(cli: Path, tmp_path: Path) -> None:
    missing = str(tmp_path / "claims.csv")
    with pytest.raises(er.InputDataError) as raised:
        er.reconcile(**{**SAMPLE, "claims": missing})
    assert str(raised.value) == cli_message(
        cli, "reconcile", *flags_with("--claims", missing), "--out", str(tmp_path / "out")
    )


def test_a_rejected_row_under_strict_names_file_row_and_field(cli: Path, tmp_path: Path) -> None:
    with pytest.raises(er.InputDataError) as raised:
        er.reconcile(**SAMPLE, strict=True)
    expected = cli_message(cli, "reconcile", *SAMPLE_FLAGS, "--strict", "--out", str(tmp_path / "out"))
    assert str(raised.value) == expected
    assert "row" in expected and "--strict" in expected


def test_writing_into_a_folder_that_is_not_empty_is_a_usage_error(tmp_path: Path) -> None:
    run = er.reconcile(**SAMPLE)
    run.write(tmp_path / "out")
    with pytest.raises(er.UsageError, match="output folder exists and is not empty"):
        er.write(run, tmp_path / "out")
    er.write(run, tmp_path / "out", force=True)
    with pytest.raises(er.UsageError, match="would replace this folder"):
        er.write(run, Path("sample-claims").resolve().parent, force=True)


def test_arguments_the_cli_would_refuse_are_usage_errors() -> None:
    with pytest.raises(er.UsageError, match="expected canonical, rif, synpuf, cclf, parquet or auto"):
        er.reconcile(**SAMPLE, claims_format="xml")
    with pytest.raises(er.UsageError, match="expected a date"):
        er.reconcile(**SAMPLE, as_of="31/03/2026")
    with pytest.raises(er.UsageError, match="settlement"):
        er.reconcile(**{**SAMPLE, "settlement": None})
    with pytest.raises(er.UsageError, match="threads"):
        er.reconcile(**SAMPLE, threads=0)


def test_a_folder_that_is_not_a_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(er.InputDataError, match="cannot read the run's output"):
        er.open_run(tmp_path)
