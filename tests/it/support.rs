//! Small helpers shared by the integration tests: build a case in a
//! temporary folder, run it through the library or the binary, and read the
//! five outputs back as text.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use episode_recon::config::definitions;
use episode_recon::config::prices::TargetPrices;
use episode_recon::engine::reconcile::{self, Inputs, Reconciliation};
use episode_recon::model::parse_date;
use episode_recon::output::report;

/// The canonical claims header, every column in the contract's order.
pub const CLAIMS_HEADER: &str = "claim_id,line_number,beneficiary_id,claim_type,from_date,thru_date,allowed_amount,record_type,processed_date,admission_date,discharge_date,line_date,provider_id,npi,drg,principal_dx,hcpcs,revenue_code";

/// The claims, definitions and target prices of the README's sample run
/// (paths from the repository root), before [`SAMPLE_TEAM_FILES`].
pub const SAMPLE_ARGS: [&str; 6] = [
    "--claims",
    "sample-claims/claims",
    "--definitions",
    "episode-definitions",
    "--target-prices",
    "sample-claims/target_prices.csv",
];

/// The enrollment, risk and settlement files of the bundled sample, as the
/// README's command gives them (paths from the repository root): the
/// shipped TEAM definitions need the first four.
pub const SAMPLE_TEAM_FILES: [&str; 8] = [
    "--beneficiaries",
    "sample-claims/beneficiaries.csv",
    "--risk-factors",
    "sample-claims/risk_factors.csv",
    "--participants",
    "sample-claims/participants.csv",
    "--settlement",
    "models/team/settlement.toml",
];

/// [`SAMPLE_TEAM_FILES`] with absolute paths, for runs from elsewhere.
pub fn sample_team_files() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    SAMPLE_TEAM_FILES
        .iter()
        .map(|arg| {
            if arg.starts_with("--") {
                (*arg).to_owned()
            } else {
                root.join(arg).display().to_string()
            }
        })
        .collect()
}

/// The enrollment files `generate` writes beside its claims, as flags
/// for a run from the folder it wrote into (`prefix` is that folder,
/// relative to where the command runs, e.g. `data/`).
pub fn generated_enrollment(prefix: &str) -> Vec<String> {
    vec![
        "--beneficiaries".to_owned(),
        format!("{prefix}beneficiaries"),
        "--risk-factors".to_owned(),
        format!("{prefix}risk_factors.csv"),
    ]
}

/// The definition of the contract's examples: LEJR, 90 days, 3% discount,
/// stop-gain 20%, stop-loss 10%; `extra` is appended (e.g. a pricing key).
pub fn lejr(lookback_days: u32, pricing_extra: &str) -> String {
    format!(
        r#"id = "LEJR"
name = "Lower extremity joint replacement (test)"

[trigger]
drg = ["469", "470"]
hcpcs = ["27447"]
price_groups = {{ "469" = "MCC", "470" = "NOMCC", "27447" = "OP" }}

[window]
lookback_days = {lookback_days}
post_days = 90

[include]
claim_types = ["IP", "SNF", "HHA", "HOS", "OP", "PB", "DME"]
prorate = ["SNF", "HHA", "HOS"]

[exclude]
drg = ["871"]
hcpcs = ["J9035"]
principal_dx = ["C50*"]

[pricing]
period = "year"
discount = "0.03"
stop_gain = "0.20"
stop_loss = "0.10"
{pricing_extra}
"#
    )
}

/// A case on disk: claims files, one definitions folder, a price file.
pub struct Case {
    pub dir: tempfile::TempDir,
}

impl Case {
    /// A case with one claims file `claims.csv` (the header is added), the
    /// given definition files and prices (the header is added).
    pub fn new(claims_rows: &str, definitions: &[(&str, &str)], price_rows: &str) -> Case {
        let case = Case::empty();
        case.write("claims.csv", &format!("{CLAIMS_HEADER}\n{claims_rows}"));
        for (name, text) in definitions {
            case.write(&format!("definitions/{name}"), text);
        }
        case.write(
            "target_prices.csv",
            &format!("episode_type,provider_id,price_group,period,target_price\n{price_rows}"),
        );
        case
    }

    /// An empty case folder.
    pub fn empty() -> Case {
        Case {
            dir: tempfile::tempdir().expect("temporary folder"),
        }
    }

    /// Writes a file of the case, creating folders.
    pub fn write(&self, relative: &str, text: &str) {
        self.write_bytes(relative, text.as_bytes());
    }

    /// Writes a file of the case as raw bytes.
    pub fn write_bytes(&self, relative: &str, bytes: &[u8]) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create folder");
        std::fs::write(path, bytes).expect("write case file");
    }

    /// A path inside the case.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Runs the library on `claims` (paths relative to the case) with the
    /// case's definitions and prices.
    pub fn run_files(&self, claims: &[&str], as_of: Option<&str>, threads: usize) -> Outputs {
        let recon = self
            .reconcile(claims, as_of, false, threads)
            .expect("the run succeeds");
        Outputs::of(&recon, self.dir.path())
    }

    /// Runs the library on `claims.csv`.
    pub fn run(&self) -> Outputs {
        self.run_files(&["claims.csv"], None, 1)
    }

    /// The library's run, for tests that look at errors or the structs.
    pub fn reconcile(
        &self,
        claims: &[&str],
        as_of: Option<&str>,
        strict: bool,
        threads: usize,
    ) -> Result<Reconciliation, reconcile::Error> {
        let definitions =
            definitions::load_dir(&self.path("definitions")).expect("valid definitions");
        let prices = TargetPrices::load(&self.path("target_prices.csv")).expect("valid prices");
        let claims = claims.iter().map(|c| self.path(c)).collect();
        let as_of = as_of.map(|d| parse_date(d.as_bytes()).expect("a date"));
        let inputs = Inputs {
            as_of,
            strict,
            ..Inputs::new(claims, definitions, prices)
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a pool");
        pool.install(|| reconcile::run(inputs))
    }

    /// Runs the binary with `args` from inside the case folder.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli_in(self.dir.path(), args)
    }

    /// Runs `reconcile` of `claims` with the case's `definitions` folder
    /// and `target_prices.csv` into `out`, with `extra` flags.
    pub fn cli_reconcile(&self, claims: &[&str], out: &str, extra: &[&str]) -> Output {
        let mut args = vec!["reconcile", "--claims"];
        args.extend(claims);
        args.extend([
            "--definitions",
            "definitions",
            "--target-prices",
            "target_prices.csv",
            "--out",
            out,
        ]);
        args.extend(extra);
        self.cli(&args)
    }
}

/// Runs the built binary from `dir`.
pub fn cli_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_episode-recon"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

/// The five outputs of a run, as text; file paths are shown relative to
/// the case folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    pub episodes: String,
    pub providers: String,
    pub ledger: String,
    pub rejects: String,
    pub summary: String,
    /// `participants.csv`, written only when the run settles participants.
    pub participants: Option<String>,
}

impl Outputs {
    /// Renders a run's outputs with the library's writers.
    pub fn of(recon: &Reconciliation, base: &Path) -> Outputs {
        let render = |write: fn(
            &Reconciliation,
            report::CsvView,
            &mut dyn std::io::Write,
        ) -> std::io::Result<()>| {
            let mut buffer = Vec::new();
            write(recon, report::CsvView::Exact, &mut buffer).expect("write to memory");
            let prefix = format!("{}/", base.display());
            String::from_utf8(buffer)
                .expect("UTF-8 output")
                .replace(&prefix, "")
        };
        Outputs {
            episodes: render(report::write_episodes),
            providers: render(report::write_providers),
            ledger: render(report::write_ledger),
            rejects: render(report::write_rejects),
            summary: render(report::write_summary),
            participants: recon
                .participants
                .is_some()
                .then(|| render(report::write_participants)),
        }
    }

    /// Reads the outputs a run wrote into a folder.
    pub fn read(dir: &Path) -> Outputs {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        Outputs {
            episodes: read("episodes.csv"),
            providers: read("providers.csv"),
            ledger: read("ledger.csv"),
            rejects: read("rejects.csv"),
            summary: read("summary.json"),
            participants: std::fs::read_to_string(dir.join("participants.csv")).ok(),
        }
    }

    /// The summary as JSON.
    pub fn summary_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.summary).expect("summary.json is JSON")
    }

    /// Ledger rows (without the header) as field vectors, for rows without
    /// quoted fields.
    pub fn ledger_rows(&self) -> Vec<Vec<String>> {
        rows(&self.ledger)
    }

    /// Episode rows (without the header) as field vectors.
    pub fn episode_rows(&self) -> Vec<Vec<String>> {
        rows(&self.episodes)
    }

    /// Provider rows (without the header) as field vectors.
    pub fn provider_rows(&self) -> Vec<Vec<String>> {
        rows(&self.providers)
    }

    /// `(row, reason)` of every reject.
    pub fn reject_reasons(&self) -> Vec<(u64, String)> {
        self.rejects
            .lines()
            .skip(1)
            .map(|line| {
                let mut fields = line.splitn(4, ',');
                let _file = fields.next();
                let row = fields
                    .next()
                    .and_then(|r| r.parse().ok())
                    .expect("a row number");
                (row, fields.next().expect("a reason").to_owned())
            })
            .collect()
    }
}

fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// What the command wrote on stderr.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that `output` failed with `code`, without a panic, and that its
/// stderr holds every needle.
pub fn assert_fails(output: &Output, code: i32, needles: &[&str]) {
    let message = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{message}");
    assert!(!message.contains("panicked"), "{message}");
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

/// [`assert_fails`], and the message is one `error:` line that asks for no
/// bug report: what every error the user can fix looks like.
pub fn assert_fails_in_one_line(output: &Output, code: i32, needles: &[&str]) {
    assert_fails(output, code, needles);
    let err = stderr(output);
    assert!(err.starts_with("error: "), "{err:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(!err.contains("please report"), "{err}");
}

/// Reconciling the data `generate` writes into `gen`, but for `--out`:
/// the runs the interrupt, crash and disk-full tests start.
pub const RECONCILE_GENERATED: [&str; 11] = [
    "reconcile",
    "--claims",
    "gen/claims",
    "--definitions",
    "gen/definitions",
    "--target-prices",
    "gen/target_prices.csv",
    "--beneficiaries",
    "gen/beneficiaries",
    "--risk-factors",
    "gen/risk_factors.csv",
];

/// Repricing the run `run` of the generated data at the higher prices
/// ([`write_higher_prices`]), but for `--out`.
pub const REPRICE_GENERATED: [&str; 7] = [
    "reprice",
    "--run",
    "run",
    "--target-prices",
    "gen/target_prices_b.csv",
    "--risk-factors",
    "gen/risk_factors.csv",
];

/// Writes `gen/target_prices_b.csv` under `base`: the generated prices,
/// every one 5% higher, for runs that differ from the generated ones.
pub fn write_higher_prices(base: &std::path::Path) {
    let prices =
        std::fs::read_to_string(base.join("gen/target_prices.csv")).expect("generated prices");
    let mut other = String::new();
    for (n, line) in prices.lines().enumerate() {
        match line.rsplit_once(',') {
            Some((key, price)) if n > 0 => {
                let price: f64 = price.parse().expect("a generated price");
                other.push_str(&format!("{key},{:.2}\n", price * 1.05));
            }
            _ => other.push_str(&format!("{line}\n")),
        }
    }
    std::fs::write(base.join("gen/target_prices_b.csv"), other).expect("other prices");
}

/// Runs the binary in `base` with `args` and checks that it succeeds.
pub fn run_to_success<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(
    base: &std::path::Path,
    args: &[S],
) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_episode-recon"))
        .args(args)
        .current_dir(base)
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Makes a FIFO at `path`.
#[cfg(unix)]
pub fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Makes a FIFO at `path` and writes `bytes` into it from a thread, which
/// ends once a reader has read them all: join it after the read.
#[cfg(unix)]
pub fn fifo_fed_with(path: &Path, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
    mkfifo(path);
    let path = path.to_owned();
    std::thread::spawn(move || std::fs::write(path, bytes).expect("a reader reads the FIFO"))
}
