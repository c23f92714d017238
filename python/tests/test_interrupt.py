"""Ctrl-C stops a reconciliation called from Python: the run stops at its
next checkpoint and `KeyboardInterrupt` is raised, and the next run goes
on as if nothing happened.

The test is deterministic: the claims are a stream whose generator itself
sends the interrupt (`_thread.interrupt_main`, what Ctrl-C does) once the
run is under way, then goes on yielding batches, slowly, for ten seconds
more. A run that stops reads a few more batches; one that does not reads
them all, however fast the machine."""

from __future__ import annotations

import _thread
import datetime
import signal
import time
from typing import Iterator

import pyarrow as pa
import pytest

import episode_recon as er

from conftest import SAMPLE

ROWS = 100
#: Batches yielded after the interrupt, at BATCH_SECONDS each.
AFTER = 500
BATCH_SECONDS = 0.02

SCHEMA = pa.schema(
    [
        ("claim_id", pa.string()),
        ("line_number", pa.int32()),
        ("beneficiary_id", pa.string()),
        ("claim_type", pa.string()),
        ("from_date", pa.date32()),
        ("thru_date", pa.date32()),
        ("allowed_amount", pa.string()),
    ]
)


def batch(number: int) -> pa.RecordBatch:
    ids = [f"{number}-{i}" for i in range(ROWS)]
    day = datetime.date(2025, 3, 2)
    return pa.record_batch(
        [
            pa.array([f"C{i}" for i in ids]),
            pa.array([1] * ROWS, pa.int32()),
            pa.array([f"B{i}" for i in ids]),
            pa.array(["PB"] * ROWS),
            pa.array([day] * ROWS, pa.date32()),
            pa.array([day] * ROWS, pa.date32()),
            pa.array(["10.00"] * ROWS),
        ],
        schema=SCHEMA,
    )


@pytest.fixture
def ctrl_c_handled() -> Iterator[None]:
    """Python's own Ctrl-C handler for the test's length. A test runner
    started in the background may inherit SIGINT ignored (a non-interactive
    shell ignores it in commands it starts with `&`); Python then keeps it
    ignored, and `_thread.interrupt_main` does nothing at all."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_stops_a_run_and_raises_keyboard_interrupt(ctrl_c_handled: None) -> None:
    after = 0

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal after
        for number in range(5):
            yield batch(number)
        # The run is reading: Ctrl-C.
        _thread.interrupt_main()
        for number in range(5, 5 + AFTER):
            after += 1
            time.sleep(BATCH_SECONDS)
            yield batch(number)

    claims = pa.RecordBatchReader.from_batches(SCHEMA, batches())
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        # Two threads: a run reads a few batches per thread between two
        # checkpoints.
        er.reconcile(**{**SAMPLE, "claims": claims}, threads=2)
    took = time.monotonic() - started
    # Stopped within a few polls and batches of the interrupt, not after
    # the stream's ten seconds.
    assert after < 100, f"{after} of {AFTER} batches read after the interrupt"
    assert took < AFTER * BATCH_SECONDS / 2, took
    # The request to stop was withdrawn: the next run goes on.
    run = er.reconcile(**SAMPLE)
    assert run.summary["rows"]["read"] == 1000
