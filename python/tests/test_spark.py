"""The Spark path (local mode, 2 cores) gives the single-node run: on the
sample (rejects, canceled episodes, participants) and on generated data
with enrollment, every table equals `episode_recon.reconcile` on the same
rows."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import episode_recon as er

from conftest import REPO, SAMPLE, csv_rows

pytest.importorskip("pyspark")
from episode_recon.spark import reconcile_spark  # noqa: E402

LEDGER_ORDER = [("episode_id", "ascending"), ("claim_id", "ascending"), ("line_number", "ascending")]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("episode-recon-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    yield session
    session.stop()


def as_text(paths: List[Path]) -> pa.Table:
    """CSV files of one header as one table of strings, as written."""
    import pyarrow.csv as pacsv

    tables = []
    for path in paths:
        names = csv_rows(path)[0]
        convert = pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, strings_can_be_null=False
        )
        tables.append(pacsv.read_csv(path, convert_options=convert))
    return pa.concat_tables(tables)


def assert_spark_run_is(single: er.Run, on_spark, summary_keys: List[str]) -> None:
    for name in ("episodes", "providers"):
        assert getattr(on_spark, name).equals(getattr(single, name)), name
    if single.participants is None:
        assert on_spark.participants is None
    else:
        assert on_spark.participants.equals(single.participants)
    ledger = on_spark.ledger.toArrow()
    ledger = ledger.cast(single.ledger.schema).sort_by(LEDGER_ORDER)
    assert ledger.equals(single.ledger.sort_by(LEDGER_ORDER))
    records = lambda t: sorted(zip(t["reason"].to_pylist(), t["record"].to_pylist()))  # noqa: E731
    assert records(on_spark.rejects) == records(single.rejects)
    for key in summary_keys:
        assert on_spark.summary[key] == single.summary[key], key


def single_node_and_spark(spark, claims, beneficiaries):
    """The sample's run of these claims and enrollment on one node and on
    Spark (8 buckets), with the sample's other files."""
    files = {k: v for k, v in SAMPLE.items() if k not in ("claims", "beneficiaries")}
    single = er.reconcile(claims=claims, beneficiaries=beneficiaries, **files)
    on_spark = reconcile_spark(
        spark.createDataFrame(claims),
        beneficiaries=spark.createDataFrame(beneficiaries),
        buckets=8,
        **files,
    )
    return single, on_spark


def test_the_sample_on_spark_is_the_single_node_run(spark) -> None:
    claims = as_text(sorted((REPO / "sample-claims" / "claims").glob("*.csv")))
    beneficiaries = as_text([REPO / "sample-claims" / "beneficiaries.csv"])
    single, on_spark = single_node_and_spark(spark, claims, beneficiaries)
    assert single.summary["episodes"]["canceled"] == 4
    assert on_spark.rejects.num_rows == 5
    assert set(on_spark.rejects["source"].to_pylist()) == {"claims", "beneficiaries"}
    assert_spark_run_is(
        single,
        on_spark,
        ["rows", "amounts", "rejected_by_reason", "beneficiaries", "episodes",
         "canceled_by_reason", "episode_types", "money", "participants"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def generated(cli: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated") / "data"
    beneficiaries = os.environ.get("EPISODE_RECON_SPARK_BENEFICIARIES", "400")
    done = subprocess.run(
        [str(cli), "--quiet", "generate", "--beneficiaries", beneficiaries, "--seed", "7",
         "--out", str(folder)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder


def test_generated_data_on_spark_is_the_single_node_run(spark, generated: Path) -> None:
    claims = as_text(sorted((generated / "claims").glob("*.csv")))
    beneficiaries = as_text(sorted((generated / "beneficiaries").glob("*.csv")))
    # A few rows the engine rejects, as real extracts have.
    bad = claims.slice(0, 3).set_column(
        claims.column_names.index("allowed_amount"), "allowed_amount", pa.array(["12,5", "x", ""])
    )
    claims = pa.concat_tables([claims, bad])
    # Beneficiaries without enrollment, whose episodes are canceled, and
    # months in Medicare Advantage.
    ids = beneficiaries["beneficiary_id"]
    beneficiaries = beneficiaries.filter(pc.invert(pc.match_substring_regex(ids, "[37]$")))
    advantage = pc.match_substring_regex(beneficiaries["beneficiary_id"], "5$")
    beneficiaries = beneficiaries.set_column(
        beneficiaries.column_names.index("managed_care"),
        "managed_care",
        pc.if_else(advantage, "Y", beneficiaries["managed_care"]),
    )
    files = {
        "definitions": generated / "definitions",
        "target_prices": generated / "target_prices.csv",
        "risk_factors": generated / "risk_factors.csv",
    }
    started = time.perf_counter()
    single = er.reconcile(claims=claims, beneficiaries=beneficiaries, **files)
    single.ledger, single.episodes
    single_seconds = time.perf_counter() - started
    claims_df = spark.createDataFrame(claims).repartition(4).cache()
    beneficiaries_df = spark.createDataFrame(beneficiaries).repartition(4).cache()
    claims_df.count(), beneficiaries_df.count()
    started = time.perf_counter()
    on_spark = reconcile_spark(claims_df, beneficiaries=beneficiaries_df, buckets=64, **files)
    on_spark.ledger.count()
    spark_seconds = time.perf_counter() - started
    print(
        f"\n{claims.num_rows} claim lines, {single.summary['episodes']['total']} episodes: "
        f"single node {single_seconds:.2f} s, Spark local[2] {spark_seconds:.2f} s "
        f"({spark_seconds / single_seconds:.1f}x)"
    )
    assert single.summary["episodes"]["canceled"] > 0
    assert single.rejects.num_rows >= 3
    assert_spark_run_is(
        single,
        on_spark,
        ["rows", "amounts", "rejected_by_reason", "beneficiaries", "episodes",
         "canceled_by_reason", "episode_types", "money"],
    )  # fmt: skip


def test_buckets_of_enrollment_without_claims_count_their_rows(spark) -> None:
    # One beneficiary's claims, everyone's enrollment: most buckets hold
    # enrollment only, and read no claims file.
    claims = as_text(sorted((REPO / "sample-claims" / "claims").glob("*.csv")))
    claims = claims.filter(pc.equal(claims["beneficiary_id"], "B0029"))
    beneficiaries = as_text([REPO / "sample-claims" / "beneficiaries.csv"])
    single, on_spark = single_node_and_spark(spark, claims, beneficiaries)
    assert single.summary["episodes"]["total"] >= 1
    assert_spark_run_is(single, on_spark, ["rows", "amounts", "beneficiaries", "episodes", "money"])
    assert "warnings" not in on_spark.summary
