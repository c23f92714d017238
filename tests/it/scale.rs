//! Scale promises (issue 5): outputs are byte-identical for any thread
//! count, any order of the claims files and any memory limit, with or
//! without spilling; chunked parsing gives the rows sequential parsing
//! gives; and the temporary folders (spill, staging) are gone after a run,
//! whether it succeeded or failed.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

use super::support::{CLAIMS_HEADER, Outputs, cli_in};
use episode_recon::config::definitions;
use episode_recon::config::prices::TargetPrices;
use episode_recon::config::risk_factors::RiskFactors;
use episode_recon::engine::reconcile::{self, Inputs, Reconciliation};
use episode_recon::input::claims::{self, Chunking, Reading};
use episode_recon::input::formats::ClaimsFormat;
use episode_recon::input::source::Source;
use episode_recon::model::outcome::{RowOutcome, keep_owned};
use episode_recon::model::parse_date;
use episode_recon::runtime::tunables::Tunables;
use episode_recon::tools::generate::generate;

// ---------------------------------------------------------------------------
// Helpers.

/// SplitMix64, to spread rows over files from one proptest seed.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Rewrites the generated `dir/claims/claims.csv` with its rows in an
/// order drawn from `seed`, and some rows moved, so that a beneficiary's
/// rows no longer come together and a run that built them early as they
/// were read must read the file again (RULES 46c): only a few rows moved
/// (`few`), so that the file looks grouped for a while, or all.
fn scatter_claims(dir: &Path, seed: u64, few: bool) {
    let path = dir.join("claims/claims.csv");
    let text = std::fs::read_to_string(&path).expect("generated claims");
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut mix = Mix(seed);
    let rows = lines.len() - 1;
    let moves = if few { 3 } else { rows * 2 };
    for _ in 0..moves {
        let a = 1 + (mix.next() % rows as u64) as usize;
        let b = 1 + (mix.next() % rows as u64) as usize;
        lines.swap(a, b);
    }
    std::fs::write(&path, lines.concat()).expect("scattered claims");
}

/// Splits the generated `dir/claims/claims.csv` into `files` files
/// `dir/parts/part-N.csv` (each with the header, rows kept whole), rows
/// dealt at random or in contiguous runs; returns their paths by N.
fn split_claims(dir: &Path, files: usize, seed: u64, contiguous: bool) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(dir.join("claims/claims.csv")).expect("generated claims");
    assert!(
        text.lines().all(|line| line.matches('"').count() % 2 == 0),
        "generated rows are split on line ends, so no quoted field may hold one"
    );
    let mut lines = text.split_inclusive('\n');
    let header = lines.next().expect("a header");
    let rows: Vec<&str> = lines.collect();
    let mut parts = vec![header.to_owned(); files];
    let mut mix = Mix(seed);
    for (index, row) in rows.iter().enumerate() {
        let file = if contiguous {
            index * files / rows.len().max(1)
        } else {
            (mix.next() % files as u64) as usize
        };
        parts[file].push_str(row);
    }
    std::fs::create_dir_all(dir.join("parts")).expect("parts folder");
    parts
        .iter()
        .enumerate()
        .map(|(n, text)| {
            let path = dir.join(format!("parts/part-{n}.csv"));
            std::fs::write(&path, text).expect("write part");
            path
        })
        .collect()
}

/// Runs the library on `claims` with the definitions and prices of the
/// generated folder `dir`.
fn library_run(
    dir: &Path,
    claims: Vec<PathBuf>,
    threads: usize,
    memory_limit: Option<u64>,
    spill_dir: &Path,
    strict: bool,
) -> Result<Reconciliation, reconcile::Error> {
    let tunables = Tunables::DEFAULT;
    library_run_tuned(
        dir,
        claims,
        threads,
        memory_limit,
        spill_dir,
        strict,
        tunables,
        true,
    )
}

/// [`library_run`] with other `tunables`, with the enrollment
/// (`enrolled`, as `library_run`) or with the claims-only definitions.
#[allow(
    clippy::too_many_arguments,
    reason = "each is a knob a property varies"
)]
fn library_run_tuned(
    dir: &Path,
    claims: Vec<PathBuf>,
    threads: usize,
    memory_limit: Option<u64>,
    spill_dir: &Path,
    strict: bool,
    tunables: Tunables,
    enrolled: bool,
) -> Result<Reconciliation, reconcile::Error> {
    let definitions = match enrolled {
        true => "definitions",
        false => "definitions-claims-only",
    };
    let definitions = definitions::load_dir(&dir.join(definitions)).expect("valid definitions");
    let prices = TargetPrices::load(&dir.join("target_prices.csv")).expect("valid prices");
    let mut inputs = Inputs {
        strict,
        memory_limit,
        spill_dir: spill_dir.to_owned(),
        tunables,
        ..Inputs::new(claims, definitions, prices)
    };
    if enrolled {
        let risk_factors = RiskFactors::load(&dir.join("risk_factors.csv")).expect("valid factors");
        inputs.beneficiaries = vec![dir.join("beneficiaries/beneficiaries.csv").into()];
        inputs.risk_factors = Some(risk_factors);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a pool");
    pool.install(|| reconcile::run(inputs))
}

/// The names of the entries of a folder, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("a folder entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// The temporary folders of a run left in `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    entries(dir)
        .into_iter()
        .filter(|name| name.starts_with(".episode-recon-spill-") || name.contains(".partial-"))
        .collect()
}

/// Every row of `rejects.csv` as fields, sorted: the rejects as a multiset.
fn reject_rows(rejects: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(rejects.as_bytes());
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| {
            r.expect("rejects.csv is CSV")
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

// ---------------------------------------------------------------------------
// 1. Threads, file order, memory limit and tunables do not change a byte.

proptest! {
    #![proptest_config(config(8))]

    /// The engine's tunables (src/runtime/tunables.rs) change how fast and
    /// in how much memory a run goes, never what it writes: tiny chunks
    /// (records cut at every place), one partition or many.
    #[test]
    fn outputs_do_not_depend_on_the_tunables(
        beneficiaries in 20u64..80,
        seed in any::<u64>(),
        thread_batch_bytes in 64usize..8192,
        chunks_per_thread in 1usize..4,
        partitions_per_thread in 1usize..4,
        min_partitions in 1usize..8,
        memory_limit in prop::sample::select(vec![Some(1u64), None]),
        spill_level in prop::sample::select(vec![-5, 1, 3, 19]),
        build_runs_early in any::<bool>(),
        early_share in prop::sample::select(vec![(1u64, 8u64), (1 << 40, 1)]),
        scatter in prop::sample::select(vec![None, Some(true), Some(false)]),
        enrolled in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().expect("temporary folder");
        generate(beneficiaries, seed, dir.path()).expect("generated data");
        if let Some(few) = scatter {
            scatter_claims(dir.path(), seed, few);
        }
        let claims = vec![dir.path().join("claims/claims.csv")];
        let spill_dir = tempfile::tempdir().expect("spill folder");
        let reference = library_run_tuned(dir.path(), claims.clone(), 2, None, spill_dir.path(), false, Tunables::DEFAULT, enrolled)
            .expect("the reference run succeeds");
        let tunables = Tunables {
            thread_batch_bytes,
            chunks_per_thread,
            partitions_per_thread,
            min_partitions,
            spill_level,
            build_runs_early,
            early_share,
            ..Tunables::DEFAULT
        };
        let tuned = library_run_tuned(dir.path(), claims, 2, memory_limit, spill_dir.path(), false, tunables, enrolled)
            .expect("the tuned run succeeds");
        prop_assert_eq!(Outputs::of(&reference, dir.path()), Outputs::of(&tuned, dir.path()), "{:?}", tunables);
    }
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn outputs_do_not_depend_on_threads_file_order_or_memory_limit(
        beneficiaries in 20u64..120,
        seed in any::<u64>(),
        files in 1usize..=4,
        split_seed in any::<u64>(),
        contiguous in any::<bool>(),
        reference_order in Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
        other_order in Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
        threads in 2usize..=4,
        memory_limit in prop::sample::select(vec![Some(1u64), Some(4 << 10), Some(64 << 10), None]),
        enrolled in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().expect("temporary folder");
        let spill_dir = tempfile::tempdir().expect("spill folder");
        generate(beneficiaries, seed, dir.path()).expect("generated data");
        let parts = split_claims(dir.path(), files, split_seed, contiguous);
        // Without the enrollment, beneficiaries are built as their rows
        // are read where the files hold them together (RULES 46c).
        let run = |claims: &[PathBuf], threads, memory_limit| {
            library_run_tuned(dir.path(), claims.to_vec(), threads, memory_limit, spill_dir.path(), false, Tunables::DEFAULT, enrolled)
        };
        let ordered = |order: &[usize]| -> Vec<PathBuf> {
            order.iter().filter(|&&n| n < files).map(|&n| parts[n].clone()).collect()
        };
        let (first, second) = (ordered(&reference_order), ordered(&other_order));

        let reference = run(&first, 1, None).expect("the reference run succeeds");
        let reference = Outputs::of(&reference, dir.path());
        let other = run(&second, threads, memory_limit).expect("the run succeeds");
        let other = Outputs::of(&other, dir.path());
        prop_assert!(
            entries(spill_dir.path()).is_empty(),
            "spill folder left behind: {:?}", entries(spill_dir.path())
        );

        let what = format!(
            "{beneficiaries} beneficiaries, seed {seed}, {files} file(s), reference order {first:?} on 1 thread, \
             other order {second:?} on {threads} threads with memory limit {memory_limit:?}, enrolled {enrolled}"
        );
        prop_assert!(reference.episodes == other.episodes, "episodes.csv differs: {}", what);
        prop_assert!(reference.providers == other.providers, "providers.csv differs: {}", what);
        prop_assert!(reference.ledger == other.ledger, "ledger.csv differs: {}", what);
        prop_assert!(reference.summary == other.summary, "summary.json differs: {}", what);
        prop_assert_eq!(reject_rows(&reference.rejects), reject_rows(&other.rejects), "{}", what);
        // rejects.csv is sorted by file path then row (CONTRACT.md), and the
        // files keep their names whatever the reading order.
        prop_assert_eq!(&reference.rejects, &other.rejects, "{}", what);
    }
}

// ---------------------------------------------------------------------------
// 2. Tiny chunks give the rows of the sequential reader.

/// A data row of the claims header: a professional line whose provider
/// field is `provider` (written as is: quote it to quote it).
fn row(n: usize, provider: &str) -> String {
    format!(
        "C{n},1,B{},PB,2026-01-05,2026-01-05,12.50,O,2026-0{}-10,,,2026-01-05,{provider},,,,99213,",
        n % 3,
        1 + n % 3
    )
}

/// Row `kind` of claim `n`, as bytes without its line end.
fn row_of_kind(kind: usize, n: usize) -> Vec<u8> {
    let text = match kind {
        0 => row(n, "P1"),
        1 => row(n, "\"P,1\""),
        2 => row(n, "\"P \"\"q\"\" 1\""),
        3 => row(n, "\"P\n1\""),
        4 => row(n, "\"P\r\n\r\n1\""),
        5 => row(n, "\",\n\n\"\"\n,\""),
        6 => row(n, "P\"1"),
        7 => row(n, "\"\""),
        // Bad rows: too few fields, a bad date, a bad amount.
        8 => format!("C{n},1,B1"),
        9 => row(n, "P1").replace("2026-01-05,2026-01-05", "2026-02-30,2026-01-05"),
        10 => row(n, "P1").replace("12.50", "12.5x"),
        // A whitespace-only row.
        11 => "  ".to_owned(),
        _ => {
            let mut bytes = row(n, "P\u{1}").into_bytes();
            let at = bytes.iter().position(|&b| b == 1).expect("the marker");
            bytes[at] = 0xFF;
            return bytes;
        }
    };
    text.into_bytes()
}

const KINDS: usize = 13;

/// A claims file from its parts: BOM, header line end, rows (kind, CRLF,
/// blank lines before it), and how it ends.
fn claims_file(
    bom: bool,
    header_crlf: bool,
    rows: &[(usize, bool, usize)],
    tail: usize,
) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    out.extend_from_slice(CLAIMS_HEADER.as_bytes());
    out.extend_from_slice(if header_crlf { b"\r\n" } else { b"\n" });
    for (n, &(kind, crlf, blanks)) in rows.iter().enumerate() {
        for b in 0..blanks {
            out.extend_from_slice(if b % 2 == 0 { b"\n" } else { b"\r\n" });
        }
        out.extend_from_slice(&row_of_kind(kind, n));
        out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    }
    match tail {
        // The last row without a line end.
        1 => out.extend_from_slice(&row_of_kind(0, rows.len())),
        // The file ends inside a quoted field.
        2 => out.extend_from_slice(row(rows.len(), "\"P\n1").as_bytes()),
        _ => {}
    }
    out
}

type ReadResult = Result<Vec<RowOutcome>, String>;

fn read_sequential(path: &Path, as_of: Option<&str>) -> ReadResult {
    let as_of = as_of.map(|d| parse_date(d.as_bytes()).expect("a date"));
    let mut rows = Vec::new();
    ClaimsFormat::Canonical
        .read_file(path, 0, as_of, |outcome| rows.push(outcome))
        .map(|()| rows)
        .map_err(|e| e.to_string())
}

fn read_chunked(
    path: &Path,
    as_of: Option<&str>,
    chunking: Chunking,
    threads: usize,
) -> ReadResult {
    let as_of = as_of.map(|d| parse_date(d.as_bytes()).expect("a date"));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a pool");
    let mut rows = Vec::new();
    pool.install(|| {
        ClaimsFormat::Canonical.read_chunked(
            Source::open(path, None).expect("open"),
            Reading {
                file: 0,
                as_of,
                chunking,
            },
            Vec::new,
            keep_owned,
            |chunk, _bytes| {
                rows.extend(chunk);
                Ok::<(), claims::Error>(())
            },
        )
    })
    .map(|()| rows)
    .map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn tiny_chunks_give_the_rows_of_the_sequential_reader(
        bom in any::<bool>(),
        header_crlf in any::<bool>(),
        rows in prop::collection::vec((0..KINDS, any::<bool>(), prop::sample::select(vec![0usize, 0, 0, 1, 2])), 0..24),
        tail in 0usize..3,
        chunk_bytes in 1usize..64,
        batch in 1usize..4,
        threads in 1usize..=3,
        as_of in prop::option::of(prop::sample::select(vec!["2026-01-31", "2026-02-28"])),
    ) {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("claims.csv");
        let bytes = claims_file(bom, header_crlf, &rows, tail);
        std::fs::write(&path, &bytes).expect("write claims");
        let sequential = read_sequential(&path, as_of);
        prop_assert!(sequential.is_ok(), "{:?}", sequential);
        let chunked = read_chunked(&path, as_of, Chunking { chunk_bytes, batch }, threads);
        prop_assert_eq!(
            &sequential, &chunked,
            "chunk_bytes {} batch {} threads {} on {:?}",
            chunk_bytes, batch, threads, String::from_utf8_lossy(&bytes)
        );
    }
}

/// Blank lines before the header are skipped by the sequential reader, so
/// chunked reading must skip them too, even when a chunk holds nothing
/// else.
#[test]
fn tiny_chunks_skip_blank_lines_before_the_header() {
    let dir = tempfile::tempdir().expect("temporary folder");
    for (name, prefix) in [
        ("blank.csv", "\n"),
        ("crlf.csv", "\r\n\r\n"),
        ("bom.csv", "\u{feff}\n"),
    ] {
        let path = dir.path().join(name);
        let text = format!(
            "{prefix}{CLAIMS_HEADER}\n{}\n{}\n",
            row(1, "P1"),
            row(2, "\"P,\n2\"")
        );
        std::fs::write(&path, text).expect("write claims");
        let sequential = read_sequential(&path, None);
        assert_eq!(
            sequential.as_ref().map(Vec::len),
            Ok(2),
            "{name}: {sequential:?}"
        );
        for chunk_bytes in [1, 2, 3, 8, 1 << 20] {
            let chunking = Chunking {
                chunk_bytes,
                batch: 2,
            };
            let chunked = read_chunked(&path, None, chunking, 2);
            assert_eq!(sequential, chunked, "{name}: chunk_bytes {chunk_bytes}");
        }
    }
}

// ---------------------------------------------------------------------------
// 3. Spill and staging folders do not outlive the run.

/// A generated folder with two claims files `parts/part-0.csv` and
/// `parts/part-1.csv`.
fn generated_case(beneficiaries: u64) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().expect("temporary folder");
    generate(beneficiaries, 7, dir.path()).expect("generated data");
    let parts = split_claims(dir.path(), 2, 1, true);
    (dir, parts)
}

#[test]
fn a_memory_limit_of_one_byte_spills_and_cleans_up_after_success() {
    let (dir, parts) = generated_case(40);
    let spill_dir = tempfile::tempdir().expect("spill folder");
    let reference = library_run(dir.path(), parts.clone(), 1, None, spill_dir.path(), false)
        .expect("the run succeeds");
    let spilled = library_run(
        dir.path(),
        parts.clone(),
        3,
        Some(1),
        spill_dir.path(),
        false,
    )
    .expect("the spilling run succeeds");
    assert_eq!(entries(spill_dir.path()), Vec::<String>::new());
    assert_eq!(
        Outputs::of(&reference, dir.path()),
        Outputs::of(&spilled, dir.path())
    );

    // The limit does spill: a spill folder that cannot be created fails
    // the run, and only the run that spills.
    let missing = dir.path().join("no-such-folder");
    let error = library_run(dir.path(), parts.clone(), 2, Some(1), &missing, false)
        .expect_err("spilling into a missing folder fails");
    assert!(matches!(error, reconcile::Error::Spill { .. }), "{error:?}");
    library_run(dir.path(), parts, 2, None, &missing, false)
        .expect("without a limit nothing spills");
}

/// A partition's rows held when building starts stay in memory until it
/// is built, beside the partitions being built: past what those and the
/// enrollment leave of the limit, they are spilled first. Under a limit
/// the reading never comes near, partitions taken to need more than the
/// limit to build leave the held rows no room: they spill (a spill folder
/// that cannot be made fails the run), with the same outputs, on any
/// number of threads; the default estimate leaves them room. Under
/// `--strict` with a rejected row no episode is built, and nothing more
/// is spilled: the run fails on the row, not on the spill.
#[test]
fn rows_building_has_no_room_for_are_spilled_before_it() {
    let (dir, parts) = generated_case(40);
    let limit = Some(1 << 40);
    // The same partitions whatever the estimate (the floor).
    let roomy = Tunables {
        max_partitions: 1,
        ..Tunables::DEFAULT
    };
    let no_room = Tunables {
        built_bytes_per_csv_byte: (1 << 40, 1),
        ..roomy
    };
    let missing = dir.path().join("no-such-folder");
    let run = |claims: &[PathBuf], threads, tunables, spill_dir: &Path, strict| {
        let claims = claims.to_vec();
        library_run_tuned(
            dir.path(),
            claims,
            threads,
            limit,
            spill_dir,
            strict,
            tunables,
            true,
        )
    };
    for threads in 1..=3 {
        let held = run(&parts, threads, roomy, &missing, false).expect("with room, nothing spills");
        let error = run(&parts, threads, no_room, &missing, false)
            .expect_err("without room, the held rows spill");
        assert!(matches!(error, reconcile::Error::Spill { .. }), "{error:?}");
        let spill_dir = tempfile::tempdir().expect("spill folder");
        let spilled = run(&parts, threads, no_room, spill_dir.path(), false)
            .expect("the spilling run succeeds");
        assert_eq!(entries(spill_dir.path()), Vec::<String>::new());
        assert_eq!(
            Outputs::of(&held, dir.path()),
            Outputs::of(&spilled, dir.path()),
            "{threads} threads"
        );
    }
    // A third file with a row whose amount is no number.
    let text = std::fs::read_to_string(&parts[0]).expect("a part");
    let mut lines = text.lines();
    let header = lines.next().expect("a header");
    let amount = header.split(',').position(|c| c == "allowed_amount");
    let mut fields: Vec<&str> = lines.next().expect("a row").split(',').collect();
    fields[amount.expect("an amount column")] = "twelve";
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, format!("{header}\n{}\n", fields.join(","))).expect("written");
    let with_bad: Vec<PathBuf> = parts.iter().cloned().chain([bad]).collect();
    let error = run(&with_bad, 2, no_room, &missing, true).expect_err("a rejected row");
    assert!(
        matches!(error, reconcile::Error::Strict { .. }),
        "{error:?}"
    );
}

#[test]
fn a_failed_run_leaves_no_spill_folder() {
    let (dir, parts) = generated_case(40);
    let spill_dir = tempfile::tempdir().expect("spill folder");

    // The first file is read and spilled, the second is missing.
    let claims = vec![parts[0].clone(), dir.path().join("parts/missing.csv")];
    let error = library_run(dir.path(), claims, 2, Some(1), spill_dir.path(), false)
        .expect_err("a missing claims file fails the run");
    assert!(matches!(error, reconcile::Error::Claims(_)), "{error:?}");
    assert_eq!(entries(spill_dir.path()), Vec::<String>::new());

    // --strict fails after every file was read (and spilled).
    let bad = dir.path().join("parts/bad.csv");
    std::fs::write(&bad, format!("{CLAIMS_HEADER}\nX1,1,B1\n")).expect("write bad file");
    let claims = vec![parts[0].clone(), parts[1].clone(), bad];
    let error = library_run(dir.path(), claims, 2, Some(1), spill_dir.path(), true)
        .expect_err("--strict fails on a rejected row");
    assert!(
        matches!(error, reconcile::Error::Strict { .. }),
        "{error:?}"
    );
    assert_eq!(entries(spill_dir.path()), Vec::<String>::new());
}

/// `reconcile` of the generated folder `dir` through the binary, writing
/// to `runs/<out>`.
fn cli_reconcile(dir: &Path, claims: &[&str], out: &str, extra: &[&str]) -> std::process::Output {
    let out = format!("runs/{out}");
    let mut args = vec!["reconcile", "--claims"];
    args.extend_from_slice(claims);
    args.extend_from_slice(&[
        "--definitions",
        "definitions",
        "--target-prices",
        "target_prices.csv",
        "--beneficiaries",
        "beneficiaries",
        "--risk-factors",
        "risk_factors.csv",
        "--out",
        &out,
    ]);
    args.extend_from_slice(extra);
    cli_in(dir, &args)
}

#[test]
fn the_cli_leaves_no_temporary_folder_after_a_failed_run() {
    let (dir, _parts) = generated_case(30);
    let runs = dir.path().join("runs");
    std::fs::create_dir(&runs).expect("runs folder");

    let output = cli_reconcile(
        dir.path(),
        &["parts/part-0.csv", "parts/missing.csv"],
        "out",
        &["--memory-limit", "1", "--threads", "2"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("missing.csv"), "{stderr}");
    assert_eq!(leftovers(&runs), Vec::<String>::new());
    assert_eq!(
        entries(&runs),
        Vec::<String>::new(),
        "no output folder either"
    );

    std::fs::write(
        dir.path().join("parts/bad.csv"),
        format!("{CLAIMS_HEADER}\nX1,1,B1\n"),
    )
    .expect("write bad file");
    let output = cli_reconcile(
        dir.path(),
        &["parts/part-0.csv", "parts/part-1.csv", "parts/bad.csv"],
        "out",
        &["--memory-limit", "1", "--strict"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--strict"), "{stderr}");
    assert_eq!(entries(&runs), Vec::<String>::new());
}

#[test]
fn the_cli_spills_with_a_tiny_limit_and_leaves_only_the_outputs() {
    let (dir, parts) = generated_case(30);
    let runs = dir.path().join("runs");
    std::fs::create_dir(&runs).expect("runs folder");
    let output = cli_reconcile(
        dir.path(),
        &["parts/part-1.csv", "parts/part-0.csv"],
        "out",
        &["--memory-limit", "1", "--threads", "3", "-v"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(entries(&runs), ["out"]);
    // -v logs the spill, and each phase's peak memory in order (Linux).
    assert!(stderr.contains("spilled bytes="), "{stderr}");
    let phases: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("peak resident memory"))
        .filter_map(|l| l.split("phase=\"").nth(1)?.split('"').next())
        .collect();
    if cfg!(target_os = "linux") {
        let expected = [
            "reading claims",
            "building episodes",
            "pricing",
            "writing outputs",
        ];
        assert_eq!(phases, expected, "{stderr}");
    }
    let spill_dir = tempfile::tempdir().expect("spill folder");
    let reference = library_run(
        dir.path(),
        vec![parts[1].clone(), parts[0].clone()],
        1,
        None,
        spill_dir.path(),
        false,
    )
    .expect("the run succeeds");
    // The CLI was given relative paths, which is how rejects.csv names them.
    assert_eq!(
        Outputs::read(&runs.join("out")),
        Outputs::of(&reference, dir.path())
    );
}

// ---------------------------------------------------------------------------
// 4. --memory-limit sizes.

#[test]
fn memory_limit_sizes_are_parsed_and_bad_ones_are_usage_errors() {
    let (dir, _parts) = generated_case(20);
    let runs = dir.path().join("runs");
    std::fs::create_dir(&runs).expect("runs folder");
    let mut reference: Option<Outputs> = None;
    for (n, size) in ["512MiB", "4GiB", "100MB", "1048576", "1"]
        .iter()
        .enumerate()
    {
        let out = format!("ok-{n}");
        let output = cli_reconcile(
            dir.path(),
            &["parts/part-0.csv", "parts/part-1.csv"],
            &out,
            &["--memory-limit", size],
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "--memory-limit {size}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let outputs = Outputs::read(&runs.join(&out));
        match &reference {
            Some(reference) => assert_eq!(reference, &outputs, "--memory-limit {size}"),
            None => reference = Some(outputs),
        }
    }
    let before = entries(&runs);
    for (n, args) in [
        ["--memory-limit", "0"],
        ["--memory-limit", "12XB"],
        ["--memory-limit", "-1"],
        ["--memory-limit=-1", "--force"],
        ["--memory-limit", ""],
        ["--memory-limit", "99999999999T"],
    ]
    .iter()
    .enumerate()
    {
        let out = format!("bad-{n}");
        let output = cli_reconcile(
            dir.path(),
            &["parts/part-0.csv", "parts/part-1.csv"],
            &out,
            args,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("memory-limit") || stderr.contains("-1"),
            "{args:?}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(entries(&runs), before, "a usage error writes nothing");
}
