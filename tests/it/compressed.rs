//! Compressed inputs (gzip, zstd): read as their decompressed text, from a
//! file, a folder, a FIFO or standard input, with every offset and row
//! number of the text, and written by `generate --compress`
//! (src/input/compressed.rs, src/tools/compress.rs).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use episode_recon::input::claims::{Chunking, Reading};
use episode_recon::input::compressed::Compression;
use episode_recon::input::formats::ClaimsFormat;
use episode_recon::input::source::Source;
use episode_recon::model::outcome::{RowOutcome, keep_owned};

use crate::streams::{GOLDEN, LATE_FILE, sample_run_reads_the_late_file_from};

const EARLY_FILE: &str = "sample-claims/claims/2025-claims.csv";
const BENEFICIARIES: &str = "sample-claims/beneficiaries.csv";
const OUTPUTS: [&str; 6] = [
    "episodes.csv",
    "providers.csv",
    "ledger.csv",
    "participants.csv",
    "rejects.csv",
    "summary.json",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `text` compressed in `pieces` members or frames, cut at line ends, as
/// pigz, bgzip or `zstd -T0` write them.
fn compressed(text: &[u8], compression: Compression, pieces: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = text;
    for piece in (1..=pieces).rev() {
        let mut cut = rest.len() / piece;
        while cut < rest.len() && rest[cut - 1] != b'\n' {
            cut += 1;
        }
        let (this, next) = rest.split_at(cut);
        out.extend(compression.encode(this).expect("compressed"));
        rest = next;
    }
    out
}

/// The sample file at `relative`, compressed into `dir` as `name`.
fn compressed_copy(relative: &str, dir: &Path, name: &str, compression: Compression) -> PathBuf {
    let text = std::fs::read(root().join(relative)).expect("sample");
    let path = dir.join(name);
    std::fs::write(&path, compressed(&text, compression, 3)).expect("write");
    path
}

/// The README's sample run with `claims` and `beneficiaries` given instead
/// of the sample's, from the repository root.
fn sample_run(claims: &[&Path], beneficiaries: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_episode-recon"))
        .current_dir(root())
        .args(["reconcile", "--claims"])
        .args(claims)
        .args(["--definitions", "episode-definitions"])
        .args(["--target-prices", "sample-claims/target_prices.csv"])
        .arg("--beneficiaries")
        .arg(beneficiaries)
        .args(["--risk-factors", "sample-claims/risk_factors.csv"])
        .args(["--participants", "sample-claims/participants.csv"])
        .args(["--settlement", "models/team/settlement.toml"])
        .arg("--out")
        .arg(out)
        .output()
        .expect("the binary runs")
}

/// Every output of the run in `out` is the golden run's, once the files
/// `renamed` (as given, as the golden run names them) are named back.
fn assert_golden(out: &Path, renamed: &[(&Path, &str)]) {
    for file in OUTPUTS {
        let mut got = std::fs::read_to_string(out.join(file)).expect("an output");
        for (given, golden) in renamed {
            got = got.replace(&format!("\n{},", given.display()), &format!("\n{golden},"));
        }
        let want = std::fs::read_to_string(root().join(GOLDEN).join(file)).expect("golden");
        assert_eq!(got, want, "{file}");
    }
}

/// A claims folder of a gzip file of three members and a zstd file of
/// three frames, and a zstd beneficiaries file, give the golden outputs
/// byte for byte: the rejects name the same rows, among them a version's
/// other row (`claim_has_rejected_row`, 2026 row 397) and duplicate
/// enrollment months, both found again by decompressing anew.
#[test]
fn a_compressed_sample_gives_the_golden_outputs() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let claims = dir.path().join("claims");
    std::fs::create_dir(&claims).expect("folder");
    let early = compressed_copy(EARLY_FILE, &claims, "2025-claims.csv.gz", Compression::Gzip);
    let late = compressed_copy(LATE_FILE, &claims, "2026-claims.csv.zst", Compression::Zstd);
    // Neither a plain nor a compressed file of another kind is read.
    std::fs::write(claims.join("notes.txt.gz"), "not claims").expect("write");
    let beneficiaries = compressed_copy(
        BENEFICIARIES,
        dir.path(),
        "beneficiaries.csv.zst",
        Compression::Zstd,
    );
    let out = dir.path().join("out");
    let run = sample_run(&[&claims], &beneficiaries, &out);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let renamed = [
        (early.as_path(), EARLY_FILE),
        (late.as_path(), LATE_FILE),
        (beneficiaries.as_path(), BENEFICIARIES),
    ];
    assert_golden(&out, &renamed);
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).expect("rejects");
    assert!(
        rejects.contains(",397,claim_has_rejected_row,"),
        "{rejects}"
    );
}

/// A compressed stream is decompressed as it is read, and its spool keeps
/// the compressed bytes, which the version-level reject is found again in.
#[cfg(unix)]
#[test]
fn compressed_claims_through_a_fifo_and_standard_input() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let text = std::fs::read(root().join(LATE_FILE)).expect("sample");
    let fifo = dir.path().join("2026-claims.csv.gz");
    let gz = compressed(&text, Compression::Gzip, 4);
    let writer = crate::support::fifo_fed_with(&fifo, gz);
    let late = fifo.display().to_string();
    sample_run_reads_the_late_file_from(&late, None, &dir.path().join("fifo"));
    writer.join().expect("writer");

    let zst = compressed(&text, Compression::Zstd, 4);
    sample_run_reads_the_late_file_from("-", Some(zst), &dir.path().join("stdin"));
    let left = std::fs::read_dir(dir.path()).expect("listing").count();
    assert_eq!(left, 3, "the FIFO and two outputs, no spool left");
}

/// A compressed file cut short or corrupted stops the run with one line
/// naming the file and what is wrong, as an input error (exit 1): not a
/// panic, not a hang, not a run on the rows before the damage.
#[test]
fn a_damaged_compressed_input_is_one_line_naming_it() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let text = std::fs::read(root().join(LATE_FILE)).expect("sample");
    let beneficiaries = root().join(BENEFICIARIES);
    let zst = compressed(&text, Compression::Zstd, 1);
    let cut = dir.path().join("cut.csv.zst");
    std::fs::write(&cut, &zst[..zst.len() / 2]).expect("write");
    let mut gz = compressed(&text, Compression::Gzip, 1);
    let middle = gz.len() / 2;
    gz[middle..middle + 16].fill(0xff);
    let corrupt = dir.path().join("corrupt.csv.gz");
    std::fs::write(&corrupt, &gz).expect("write");
    let mut cut_beneficiaries = compressed(
        &std::fs::read(&beneficiaries).expect("sample"),
        Compression::Gzip,
        1,
    );
    cut_beneficiaries.truncate(cut_beneficiaries.len() - 100);
    let cut_enrollment = dir.path().join("beneficiaries.csv.gz");
    std::fs::write(&cut_enrollment, &cut_beneficiaries).expect("write");
    let late = root().join(LATE_FILE);
    // Claims, beneficiaries, the damaged one of them, and what is said.
    let cases = [
        (
            &cut,
            &beneficiaries,
            &cut,
            "cannot read claims file: the zstd data is cut short",
        ),
        (
            &corrupt,
            &beneficiaries,
            &corrupt,
            "cannot read claims file: the gzip data is corrupt",
        ),
        (
            &late,
            &cut_enrollment,
            &cut_enrollment,
            "the gzip data is cut short",
        ),
    ];
    for (i, (claims, enrollment, damaged, said)) in cases.into_iter().enumerate() {
        let run = sample_run(&[claims], enrollment, &dir.path().join(format!("out{i}")));
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.contains(" INFO ")).collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        let start = format!("error: {}: ", damaged.display());
        assert!(lines[0].starts_with(&start), "{stderr}");
        assert!(lines[0].contains(said), "{stderr}");
    }
}

/// `convert` reads a compressed file twice (its second pass, when a
/// rejected row holds back its version) and finds the held rows' text
/// again: what it writes is what the plain file gives.
#[test]
fn convert_of_a_compressed_file_gives_what_the_plain_file_gives() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let zst = compressed_copy(LATE_FILE, dir.path(), "late.csv.zst", Compression::Zstd);
    let convert = |input: &Path, out: &str| {
        let run = Command::new(env!("CARGO_BIN_EXE_episode-recon"))
            .current_dir(root())
            .args(["convert", "--claims-format", "auto", "--claims"])
            .arg(input)
            .arg("--out")
            .arg(dir.path().join(out))
            .output()
            .expect("the binary runs");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    };
    convert(&root().join(LATE_FILE), "plain.csv");
    convert(&zst, "zst.csv");
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).expect("written");
    assert_eq!(read("zst.csv"), read("plain.csv"));
    let rejects = read("plain.rejects.csv");
    assert!(rejects.contains("claim_has_rejected_row"), "{rejects}");
    let plain_name = root().join(LATE_FILE).display().to_string();
    assert_eq!(
        read("zst.rejects.csv"),
        rejects.replace(&plain_name, &zst.display().to_string())
    );
}

/// A compressed RIF file out of claim order is read as a stream is: it
/// cannot be sought in, so the reader remembers every version rather than
/// re-reading, and the outcomes are the plain file's whatever the chunks.
#[test]
fn an_unsorted_compressed_rif_file_reads_as_the_plain_one() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut text = String::from(
        "BENE_ID|CLM_ID|NCH_CLM_TYPE_CD|CLM_FROM_DT|CLM_THRU_DT|CLM_PMT_AMT|CLM_LINE_NUM\n",
    );
    // Each claim's second line far after its first, past many chunks.
    for line in 1..=2 {
        for claim in 0..60 {
            let amount = 100 + claim;
            text.push_str(&format!(
                "B{claim}|C{claim}|60|01-JAN-2026|05-JAN-2026|{amount}.00|{line}\n"
            ));
        }
    }
    let plain = dir.path().join("claims.txt");
    std::fs::write(&plain, &text).expect("write");
    let zst = dir.path().join("claims.txt.zst");
    std::fs::write(&zst, compressed(text.as_bytes(), Compression::Zstd, 3)).expect("write");
    let source = Source::open(&zst, None).expect("open");
    assert!(
        !source.rereads_itself(),
        "a compressed file cannot be sought in"
    );
    let read = |path: &Path, chunking| {
        let mut outcomes: Vec<RowOutcome> = Vec::new();
        let reading = Reading {
            file: 0,
            as_of: None,
            chunking,
        };
        ClaimsFormat::Rif
            .read_chunked(
                Source::open(path, None).expect("open"),
                reading,
                Vec::new,
                keep_owned,
                |rows, _| -> Result<(), episode_recon::input::claims::Error> {
                    outcomes.extend(rows);
                    Ok(())
                },
            )
            .expect("readable");
        outcomes
    };
    let whole = read(&plain, Chunking::sequential());
    let carried = whole
        .iter()
        .filter(|o| matches!(o, RowOutcome::Line(l) if l.allowed.to_string() != "0.00"))
        .count();
    assert_eq!(
        (whole.len(), carried),
        (120, 60),
        "one carrying row a version"
    );
    for chunk_bytes in [40, 200, 1000] {
        let chunking = Chunking {
            chunk_bytes,
            batch: 2,
        };
        assert_eq!(read(&zst, chunking), whole, "chunks of {chunk_bytes}");
    }
}

/// `generate --compress` writes the claims and beneficiaries it writes
/// plain, compressed, under the compression's extension.
#[test]
fn generate_compress_round_trips() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let generate = |compress: &str| {
        let out = dir.path().join(compress);
        let run = Command::new(env!("CARGO_BIN_EXE_episode-recon"))
            .args([
                "generate",
                "--beneficiaries",
                "300",
                "--seed",
                "3",
                "--compress",
                compress,
            ])
            .arg("--out")
            .arg(&out)
            .output()
            .expect("the binary runs");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        out
    };
    let plain = generate("none");
    for (compress, extension) in [("zstd", "zst"), ("gzip", "gz")] {
        let out = generate(compress);
        for file in ["claims/claims.csv", "beneficiaries/beneficiaries.csv"] {
            let want = std::fs::read(plain.join(file)).expect("plain");
            let path = out.join(format!("{file}.{extension}"));
            let mut text = Vec::new();
            let source = Source::open(&path, None).expect("written");
            std::io::Read::read_to_end(&mut { source }, &mut text).expect("decompressed");
            assert!(
                text == want,
                "{compress} {file}: {} bytes of {}",
                text.len(),
                want.len()
            );
            assert!(!out.join(file).exists(), "no plain {file} beside");
        }
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_episode-recon"))
        .args([
            "generate",
            "--beneficiaries",
            "1",
            "--compress",
            "bzip2",
            "--out",
        ])
        .arg(dir.path().join("bad"))
        .output()
        .expect("the binary runs");
    assert_eq!(bad.status.code(), Some(2), "a usage error");
}
