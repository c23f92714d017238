//! Inputs that can be read only once: a FIFO, standard input (`-`). Every
//! input is opened once and never sought in; the format is detected by
//! peeking, and rows that only the version checks reject are found again
//! in a spool of the stream (src/input/source.rs).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::SAMPLE_TEAM_FILES;

pub(crate) const GOLDEN: &str = "tests/golden/sample/expected";
pub(crate) const LATE_FILE: &str = "sample-claims/claims/2026-claims.csv";

/// The README's sample run with the 2026 claims file given as `late`
/// (read from `stdin` when given), in `auto` format, from the repository
/// root; the outputs are compared with the golden run once `late` is
/// named as the golden run names the file.
pub(crate) fn sample_run_reads_the_late_file_from(late: &str, stdin: Option<Vec<u8>>, out: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_episode-recon"));
    command
        .current_dir(root)
        .args(["reconcile", "--claims-format", "auto", "--claims"])
        .args(["sample-claims/claims/2025-claims.csv", late])
        .args(["--definitions", "episode-definitions"])
        .args(["--target-prices", "sample-claims/target_prices.csv"])
        .args(SAMPLE_TEAM_FILES)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the binary runs");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let feeder = std::thread::spawn(move || {
        if let Some(bytes) = stdin {
            pipe.write_all(&bytes)
                .expect("the run reads standard input");
        }
    });
    let output = child.wait_with_output().expect("the run ends");
    feeder.join().expect("feeder");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for file in [
        "episodes.csv",
        "providers.csv",
        "ledger.csv",
        "participants.csv",
        "rejects.csv",
        "summary.json",
    ] {
        let got = std::fs::read_to_string(out.join(file)).expect("an output");
        let want = std::fs::read_to_string(root.join(GOLDEN).join(file)).expect("golden");
        // Only rejects.csv names the input, in its file column, and sorts
        // by it, so its rows are compared as a set.
        let (got, want) = if file == "rejects.csv" {
            let got = got.replace(&format!("\n{late},"), &format!("\n{LATE_FILE},"));
            let sorted = |text: &str| {
                let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
                lines.sort();
                lines.join("\n")
            };
            (sorted(&got), sorted(&want))
        } else {
            (got, want)
        };
        assert_eq!(got, want, "{file} with the late file read from {late}");
    }
}

/// Regression (issue #16): a FIFO given as claims hung, because the format
/// detection opened it a first time and drained it. The rejects include a
/// version-level reject (`claim_has_rejected_row`), whose raw row is found
/// again in the spool.
#[cfg(unix)]
#[test]
fn a_fifo_of_claims_is_read_once_in_auto_format() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let fifo = dir.path().join("2026-claims.csv");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join(LATE_FILE)).expect("sample");
    let writer = crate::support::fifo_fed_with(&fifo, bytes);
    let late = fifo.display().to_string();
    sample_run_reads_the_late_file_from(&late, None, &dir.path().join("out"));
    writer.join().expect("writer");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("listing")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left.len(), 2, "no spool left beside the outputs: {left:?}");
}

/// `-` reads claims from standard input.
#[test]
fn claims_from_standard_input() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join(LATE_FILE)).expect("sample");
    sample_run_reads_the_late_file_from("-", Some(bytes), &dir.path().join("out"));
}

/// `convert` reads a stream once too: a rejected row holds back the other
/// rows of its version, which takes a second pass, read from the spool
/// (before, a pipe with such a row was refused).
#[test]
fn convert_from_standard_input_gives_what_the_file_gives() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join(LATE_FILE)).expect("sample");
    let convert = |input: &str, out: &str, stdin: Option<Vec<u8>>| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_episode-recon"))
            .current_dir(root)
            .args([
                "convert",
                "--claims-format",
                "auto",
                "--claims",
                input,
                "--out",
            ])
            .arg(dir.path().join(out))
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("the binary runs");
        let mut pipe = child.stdin.take().expect("stdin is piped");
        if let Some(bytes) = stdin {
            pipe.write_all(&bytes)
                .expect("convert reads standard input");
        }
        drop(pipe);
        let output = child.wait_with_output().expect("convert ends");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    convert(LATE_FILE, "from_file.csv", None);
    convert("-", "from_stdin.csv", Some(bytes));
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).expect("written");
    assert_eq!(read("from_stdin.csv"), read("from_file.csv"));
    let rejects = read("from_file.rejects.csv");
    assert!(rejects.contains("claim_has_rejected_row"), "{rejects}");
    let from_stdin = read("from_stdin.rejects.csv");
    assert_eq!(
        from_stdin,
        rejects.replace(&format!("\n{LATE_FILE},"), "\n-,")
    );
    let left = std::fs::read_dir(dir.path()).expect("listing").count();
    assert_eq!(left, 4, "two outputs and their rejects, no spool left");
}
