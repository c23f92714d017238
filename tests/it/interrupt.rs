//! Every command that writes leaves no temporary file behind when SIGTERM
//! (or Ctrl-C) ends it: the staging folders of `reconcile`, `reprice`,
//! `scenarios` and `true-up`, and the staged files of `convert`, are
//! removed by the interrupt handler, and the exit status is not zero.
//!
//! SIGKILL runs no handler: what a killed run leaves is removed by the next
//! run instead, which [`a_killed_reconcile_leaves_nothing_after_the_next_run`]
//! checks with a real `kill -9`.
//!
//! Each test starts the binary, watches the folder `--out` goes into, and
//! signals the process the moment a hidden entry (the staging) appears
//! there. An attempt counts only when the signal landed while the outputs
//! were staged (the run failed and `--out` does not exist); a run that
//! finished first is tried again, a bounded number of times. Every attempt,
//! counted or not, must leave no hidden entry.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use super::support::{RECONCILE_GENERATED, REPRICE_GENERATED, run_to_success, write_higher_prices};

/// Beneficiaries generated: about 100,000 claim lines, so that writing the
/// outputs takes long enough to be caught most times.
const BENEFICIARIES: &str = "2000";

/// Runs of one command tried before giving up on catching one while its
/// outputs are staged.
const ATTEMPTS: usize = 60;

/// A generated folder (`gen`) with a reconciled run of it (`run`), shared
/// by the tests: generating and reconciling are the slow part.
fn fixture() -> &'static Path {
    static FIXTURE: OnceLock<tempfile::TempDir> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temporary folder");
            let run = |args: &[&str]| run_to_success(dir.path(), args);
            run(&["generate", "--beneficiaries", BENEFICIARIES, "--out", "gen"]);
            run(&[&RECONCILE_GENERATED[..], &["--out", "run"]].concat());
            // Other prices (every target price 5% higher), so the scenarios
            // differ and their table is full.
            write_higher_prices(dir.path());
            dir
        })
        .path()
}

/// The hidden entries of `dir`: staging folders and staged files.
fn hidden(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Sends SIGTERM to `child`.
fn terminate(child: &Child) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    // SAFETY: kill has no memory effects; the child is ours and not yet
    // waited for, so its pid cannot have been reused.
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
}

/// Starts the binary in `base` with `args`, its stderr to `stderr`.
fn start(base: &Path, args: &[String], stderr: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_episode-recon"))
        .args(args)
        .current_dir(base)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("the binary starts")
}

/// Sends `signal` to `child` the moment `appeared` holds of the hidden
/// entries of `dest`: true, or false when the child ended first.
fn signal_on(
    child: &mut Child,
    dest: &Path,
    appeared: impl Fn(&[String]) -> bool,
    signal: fn(&Child),
) -> bool {
    loop {
        if appeared(&hidden(dest)) {
            signal(child);
            return true;
        }
        if child.try_wait().expect("wait").is_some() {
            return false;
        }
    }
}

/// Sends SIGKILL to `child`: no handler runs, nothing is removed.
fn kill(child: &Child) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    // SAFETY: as in `terminate`.
    let sent = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
}

/// `reconcile` killed with SIGKILL the moment an entry named `prefix`
/// appears in `dest` (a spill folder, a staging folder), then reconciled
/// again: the killed run leaves its hidden entries and no `--out`; the next
/// run removes them (their process is dead and their lock free) and
/// succeeds, leaving nothing hidden.
fn killed_then_run_again(name: &str, prefix: &str, extra: &[&str]) {
    let base = fixture();
    let args = |dest: &str| {
        let mut args = reconcile_into(dest);
        args.extend(strings(&["--threads", "1"]));
        args.extend(strings(extra));
        args
    };
    for attempt in 0..ATTEMPTS {
        let relative = format!("killed-{name}-{attempt}");
        let dest = base.join(&relative);
        std::fs::create_dir(&dest).expect("destination folder");
        let mut child = start(base, &args(&relative), Stdio::null());
        let appeared = |names: &[String]| names.iter().any(|n| n.starts_with(prefix));
        let killed = signal_on(&mut child, &dest, appeared, kill);
        child.wait().expect("wait");
        if !killed || dest.join("out").exists() {
            continue;
        }
        let left = hidden(&dest);
        assert!(
            left.iter().any(|n| n.starts_with(prefix)),
            "{name}: the killed run left {left:?}"
        );
        run_to_success(base, &args(&relative));
        assert_eq!(hidden(&dest), Vec::<String>::new(), "{name}: left {left:?}");
        assert!(dest.join("out/summary.json").is_file(), "{name}");
        eprintln!("{name}: killed on attempt {attempt}");
        return;
    }
    panic!("{name}: no run out of {ATTEMPTS} was killed before it finished");
}

#[test]
fn a_killed_reconcile_leaves_nothing_after_the_next_run() {
    // Spilling from the first chunk: its folder appears early.
    killed_then_run_again(
        "spill",
        ".episode-recon-spill-",
        &["--memory-limit", "1KiB"],
    );
    killed_then_run_again("staging", ".out.partial-", &[]);
}

/// Runs `args` (which write `dest/out`, and `out` there names the output)
/// until one run is signalled while its outputs are staged; checks that
/// no run leaves a hidden entry in `dest` and that the signalled one
/// fails.
fn interrupted_leaves_nothing(name: &str, args: impl Fn(&str) -> Vec<String>, out: &str) {
    let base = fixture();
    for attempt in 0..ATTEMPTS {
        let dest = base.join(format!("dest-{name}-{attempt}"));
        std::fs::create_dir(&dest).expect("destination folder");
        let relative = format!("dest-{name}-{attempt}");
        let mut child = start(base, &args(&relative), Stdio::piped());
        let appeared = |names: &[String]| !names.is_empty();
        let signalled = signal_on(&mut child, &dest, appeared, terminate);
        let output = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            hidden(&dest),
            Vec::<String>::new(),
            "{name}, attempt {attempt}: left behind (status {:?}): {stderr}",
            output.status
        );
        let written = dest.join(out).exists();
        if !signalled {
            assert!(output.status.success(), "{name}: {stderr}");
            continue;
        }
        if written {
            // The signal came after the outputs were in place.
            continue;
        }
        assert!(!output.status.success(), "{name}: {stderr}");
        assert_eq!(output.status.code(), Some(130), "{name}: {stderr}");
        assert!(
            stderr.contains("interrupted: temporary files removed"),
            "{name}: {stderr}"
        );
        eprintln!("{name}: caught on attempt {attempt}");
        return;
    }
    panic!("{name}: no run out of {ATTEMPTS} was caught while its outputs were staged");
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

fn out_in(dest: &str, name: &str) -> String {
    PathBuf::from(dest).join(name).display().to_string()
}

/// The arguments of reconciling the generated data into `dest/out`.
fn reconcile_into(dest: &str) -> Vec<String> {
    let mut args = strings(&RECONCILE_GENERATED);
    args.extend(["--out".to_owned(), out_in(dest, "out")]);
    args
}

#[test]
fn interrupted_reconcile_leaves_no_staging_folder() {
    interrupted_leaves_nothing("reconcile", reconcile_into, "out");
}

#[test]
fn interrupted_reprice_leaves_no_staging_folder() {
    interrupted_leaves_nothing(
        "reprice",
        |dest| {
            let mut args = strings(&REPRICE_GENERATED);
            args.extend(["--out".to_owned(), out_in(dest, "out")]);
            args
        },
        "out",
    );
}

#[test]
fn interrupted_scenarios_leave_no_staging_folder() {
    interrupted_leaves_nothing(
        "scenarios",
        |dest| {
            // Eight price sets rather than two: the scenarios' outputs are
            // small, and a wider table keeps them staged long enough to be
            // caught on a loaded machine (two were once missed 60 times).
            // Each named its own way (`./gen/...`, `././gen/...`), since
            // one name given twice is refused.
            let mut args = strings(&["scenarios", "--run", "run", "--target-prices"]);
            for copy in 0..4 {
                let prefix = "./".repeat(copy);
                for file in ["target_prices.csv", "target_prices_b.csv"] {
                    args.push(format!("{prefix}gen/{file}"));
                }
            }
            args.extend(strings(&[
                "--risk-factors",
                "gen/risk_factors.csv",
                "--out",
            ]));
            args.push(out_in(dest, "out"));
            args
        },
        "out",
    );
}

#[test]
fn interrupted_true_up_leaves_no_staging_folder() {
    interrupted_leaves_nothing(
        "true-up",
        |dest| {
            let mut args = strings(&["true-up", "--previous", "run", "--current", "run", "--out"]);
            args.push(out_in(dest, "out"));
            args
        },
        "out",
    );
}

#[test]
fn interrupted_convert_leaves_no_staged_file() {
    interrupted_leaves_nothing(
        "convert",
        |dest| {
            let mut args = strings(&["convert", "--claims", "gen/claims", "--out"]);
            args.push(out_in(dest, "claims.csv"));
            args
        },
        "claims.csv",
    );
}

#[test]
fn interrupted_convert_of_beneficiaries_leaves_no_staged_file() {
    interrupted_leaves_nothing(
        "convert-beneficiaries",
        |dest| {
            let mut args = strings(&["convert", "--beneficiaries", "gen/beneficiaries", "--out"]);
            args.push(out_in(dest, "beneficiaries.csv"));
            args
        },
        "beneficiaries.csv",
    );
}
