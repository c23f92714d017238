//! Crash safety: every command that writes, killed with SIGKILL at random
//! points, leaves `--out` absent, the old complete output, or the new
//! complete output — never a mixture, never a partial file — and the next
//! run (with `--force`) leaves no leftovers (RULES 50).
//!
//! SIGKILL runs no handler, so this is what the staging and the atomic
//! rename of `--force` guarantee on their own, and what the next run's
//! removal of a dead run's leftovers (`runtime::cleanup`) adds. The kill
//! points are drawn from a fixed seed (printed on failure) over the
//! length of an uninterrupted run, so some land before any output is
//! staged, some while it is, and some after the run finished.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::support::{RECONCILE_GENERATED, REPRICE_GENERATED, run_to_success, write_higher_prices};

/// Beneficiaries generated: a run short enough to try many times.
const BENEFICIARIES: &str = "200";

/// Kills per case; five cases, so 60 kills in all.
const KILLS: u64 = 12;

/// A file or folder's content: file name (relative) to bytes.
type Content = BTreeMap<PathBuf, Vec<u8>>;

/// What `path` holds: `None` when absent, else every file under it.
fn content(path: &Path) -> Option<Content> {
    let mut files = Content::new();
    if !path.exists() {
        return None;
    }
    if path.is_file() {
        files.insert(PathBuf::new(), std::fs::read(path).expect("read"));
        return Some(files);
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let entry = entry.expect("entry").path();
            if entry.is_dir() {
                stack.push(entry);
            } else {
                let name = entry.strip_prefix(path).expect("under path").to_path_buf();
                files.insert(name, std::fs::read(&entry).expect("read"));
            }
        }
    }
    Some(files)
}

/// The names in `dir` not starting with `keep`: what a run left beside its
/// output (`convert` writes its rejects to `<out>.rejects.csv`).
fn leftovers(dir: &Path, keep: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with(keep))
        .collect();
    names.sort();
    names
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_episode-recon"))
}

/// Runs `args` in `base` to success, returning how long it took.
fn run_ok(base: &Path, args: &[String]) -> Duration {
    let start = Instant::now();
    run_to_success(base, args);
    start.elapsed()
}

/// A small deterministic generator (xorshift64*): reproducible kill points
/// without a dependency.
struct Points(u64);

impl Points {
    fn next_below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound.max(1)
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// One case: `args(out)` writes `out` (a folder, or a file for `convert`);
/// `old` is a complete earlier output the odd-numbered kills run over
/// with `--force`. Each kill is followed by a run to completion.
fn killed_at_random(base: &Path, name: &str, args: impl Fn(&str) -> Vec<String>, old: &Path) {
    let old_content = content(old).expect("the old output exists");
    let reference = format!("reference-{name}");
    let took = run_ok(base, &args(&reference));
    let new_content = content(&base.join(&reference)).expect("the reference output");
    assert_ne!(old_content, new_content, "{name}: old and new must differ");
    // Up to half again an uninterrupted run: some kills land after it ended.
    let span = u64::try_from(took.as_micros()).expect("micros fit") * 3 / 2;
    let seed = 0x9E37_79B9_7F4A_7C15 ^ name.len() as u64;
    let mut points = Points(seed);
    for kill in 0..KILLS {
        let dest = base.join(format!("crash-{name}-{kill}"));
        std::fs::create_dir(&dest).expect("destination folder");
        let out_name = "out";
        let out = dest.join(out_name);
        let relative = format!("crash-{name}-{kill}/{out_name}");
        let mut command = args(&relative);
        if kill % 2 == 1 {
            copy(old, &out);
            command.push("--force".to_owned());
        }
        let at = Duration::from_micros(points.next_below(span));
        let mut child = bin()
            .args(&command)
            .current_dir(base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        std::thread::sleep(at);
        // Killing a process that already exited (not yet waited for) is
        // harmless: the kill point fell after the run.
        let _ = child.kill();
        child.wait().expect("wait");
        let found = content(&out);
        let context = format!("{name}, kill {kill} at {at:?} (seed {seed:#x})");
        let complete_old = kill % 2 == 1 && found.as_ref() == Some(&old_content);
        assert!(
            found.is_none() || complete_old || found.as_ref() == Some(&new_content),
            "{context}: --out holds neither the old nor the new complete output: {:?}",
            found.map(|c| c.keys().cloned().collect::<Vec<_>>())
        );
        let mut again = args(&relative);
        again.push("--force".to_owned());
        run_ok(base, &again);
        assert_eq!(
            content(&out).as_ref(),
            Some(&new_content),
            "{context}: the next run"
        );
        assert_eq!(
            leftovers(&dest, out_name),
            Vec::<String>::new(),
            "{context}: the next run left these beside --out"
        );
    }
}

/// Copies the file or folder `from` to `to` (one level of files: outputs
/// have no subfolders).
fn copy(from: &Path, to: &Path) {
    if from.is_file() {
        std::fs::copy(from, to).expect("copy");
        return;
    }
    std::fs::create_dir(to).expect("create");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

fn with_out(mut args: Vec<String>, out: &str) -> Vec<String> {
    args.extend(["--out".to_owned(), out.to_owned()]);
    args
}

#[test]
fn killed_runs_leave_old_or_new_output_never_a_mixture() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let base = dir.path();
    run_ok(
        base,
        &strings(&["generate", "--beneficiaries", BENEFICIARIES, "--out", "gen"]),
    );
    write_higher_prices(base);
    run_ok(base, &with_out(strings(&RECONCILE_GENERATED), "run"));
    let mut other_run = strings(&RECONCILE_GENERATED);
    other_run[6] = "gen/target_prices_b.csv".to_owned();
    run_ok(base, &with_out(other_run, "run_b"));
    // The same claims received by mid-2026: what a true-up starts from.
    let mut early = with_out(strings(&RECONCILE_GENERATED), "early");
    early.extend(strings(&["--as-of", "2026-06-30"]));
    run_ok(base, &early);

    let old = base.join("run_b");
    // Spilling from the first chunk, so kills land in the spill too.
    killed_at_random(
        base,
        "reconcile-spilling",
        |out| {
            let mut args = with_out(strings(&RECONCILE_GENERATED), out);
            args.extend(strings(&["--memory-limit", "1KiB", "--threads", "1"]));
            args
        },
        &old,
    );
    killed_at_random(
        base,
        "reprice",
        |out| with_out(strings(&REPRICE_GENERATED), out),
        &base.join("run"),
    );
    killed_at_random(
        base,
        "true-up",
        |out| {
            let args = strings(&["true-up", "--previous", "early", "--current", "run"]);
            with_out(args, out)
        },
        &old,
    );
    killed_at_random(
        base,
        "convert",
        |out| with_out(strings(&["convert", "--claims", "gen/claims"]), out),
        &base.join("gen/target_prices.csv"),
    );
    killed_at_random(
        base,
        "convert-beneficiaries",
        |out| {
            let args = strings(&["convert", "--beneficiaries", "gen/beneficiaries"]);
            with_out(args, out)
        },
        &base.join("gen/target_prices.csv"),
    );
}
