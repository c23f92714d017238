//! The `episode-recon` command: a thin shell over the library. It parses
//! flags, calls the library, prints one paragraph, and maps the outcome to
//! an exit status by who fixes the error (0 done, 1 configuration or input
//! data, 2 usage, 3 environment, 4 internal: see `episode_recon::error`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use episode_recon::config::definitions;
use episode_recon::config::prices::TargetPrices;
use episode_recon::config::risk_factors::RiskFactors;
use episode_recon::engine::reconcile::{self, Inputs, SettlementInputs};
use episode_recon::error::Classify;
use episode_recon::error::{Error, ErrorKind};
use episode_recon::input::beneficiaries::{self, BeneficiariesFormat};
use episode_recon::input::compressed::Compression;
use episode_recon::input::folders;
use episode_recon::input::formats::ClaimsFormat;
use episode_recon::input::source::Input;
use episode_recon::model::{Date, parse_date};
use episode_recon::output::paragraph;
use episode_recon::output::report::{self, CsvView, OutputFormat};
use episode_recon::runs::pricing_files;
use episode_recon::runs::prior_run::PriorRun;
use episode_recon::runs::reprice::{self, SettlementChoice};
use episode_recon::runs::true_up;
use episode_recon::runtime::cleanup;
use episode_recon::runtime::progress::Progress;
use episode_recon::runtime::tunables::{self, Tunables};

/// The command's allocator: mimalloc rather than glibc's malloc, which,
/// with tens of millions of lines held, searched ever longer free lists
/// while episodes were built: 19 to 24 s at 40M lines against 0.7 s at 4M.
/// mimalloc takes 5.4 to 5.9 s and 0.44 s (README, "Crates, and where
/// the requested stack was not used").
/// It is built to commit memory as it is used (`.cargo/config.toml`). The
/// library does not choose: a program that links it keeps its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay`: the sixteenth option of its
/// `mi_option_e` (include/mimalloc.h of mimalloc 3, as libmimalloc-sys
/// 0.1.49 builds it), for which the bindings name no constant.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the allocator's options from the tunables, before any command
/// allocates much.
fn configure_allocator(tunables: &Tunables) {
    // SAFETY: `mi_option_set` takes any option number and value (an
    // unknown option is ignored) and may be called at any time, from any
    // thread.
    unsafe {
        libmimalloc_sys::mi_option_set(
            MI_OPTION_PURGE_DELAY,
            std::ffi::c_long::try_from(tunables.allocator_purge_delay_ms)
                .unwrap_or(std::ffi::c_long::MAX),
        );
    }
}

/// Asks mimalloc to return at once all the memory its threads have freed
/// (`mi_collect` with `force`), rather than after its purge delay: the
/// engine calls it between building episodes and writing outputs
/// (`runtime::memory::release_freed`). At 4M lines with enrollment on 2
/// threads, the memory decoded partitions had held was still resident
/// while the outputs were written, and that phase was the run's peak:
/// 227 to 232 MB, 217 to 223 MB with the collection (four alternated
/// runs), which takes about 1% of the run.
fn collect_freed_memory() {
    // SAFETY: `mi_collect` takes no pointer and may be called from any
    // thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// Keeps mimalloc from returning its free memory to the system page by
/// page as the process ends (a static mimalloc collects and purges at
/// exit, for a library unloaded and loaded again: `mi_process_done` in
/// mimalloc 3's src/init.c): the system takes the whole process's memory
/// back at once a moment later. A purge delay below zero means "never
/// purge" (`mi_arenas_try_purge` in src/arena.c returns at a delay of
/// zero or less; both as libmimalloc-sys 0.1.49 vendors them). Measured on `reprice` at 4M lines: the exit
/// purge's `madvise` calls were 4% of its time.
fn skip_allocator_purge_at_exit() {
    // SAFETY: as in `configure_allocator`.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
    }
}

/// Lets the process end without freeing `value` allocation by allocation:
/// the system takes the whole heap back at once when the command returns.
/// Only for what holds nothing but memory (no file, lock or temporary
/// folder to release). A reprice's run and result are tens of thousands
/// of small strings, whose freeing was a twentieth of its time.
fn leave_to_exit<T>(value: T) {
    std::mem::forget(value);
}

/// Bundled-payment episode reconciliation: claims in, gain or loss per
/// episode and per provider out, with a ledger for every claim line.
#[derive(Parser)]
#[command(
    name = "episode-recon",
    version,
    propagate_version = true,
    after_help = "Examples:\n  episode-recon reconcile --claims sample-claims/claims --beneficiaries sample-claims/beneficiaries.csv \\\n    --definitions episode-definitions --target-prices sample-claims/target_prices.csv \\\n    --risk-factors sample-claims/risk_factors.csv --participants sample-claims/participants.csv \\\n    --settlement models/team/settlement.toml --out out\n  episode-recon check-definitions episode-definitions\n  episode-recon generate --beneficiaries 20000 --seed 1 --out /tmp/gen"
)]
struct Cli {
    /// More log output on stderr (-v: progress, -vv: debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Reconcile claims against episode definitions and target prices.
    #[command(
        after_help = "Example:\n  episode-recon reconcile --claims sample-claims/claims \\\n    --beneficiaries sample-claims/beneficiaries.csv --definitions episode-definitions \\\n    --target-prices sample-claims/target_prices.csv --risk-factors sample-claims/risk_factors.csv \\\n    --participants sample-claims/participants.csv --settlement models/team/settlement.toml --out out\n\nWrites episodes.csv, providers.csv, ledger.csv, rejects.csv and summary.json into --out,\nand participants.csv with --participants."
    )]
    Reconcile(ReconcileArgs),
    /// Validate a folder of episode definitions and list its episode types.
    #[command(after_help = "Example:\n  episode-recon check-definitions episode-definitions")]
    CheckDefinitions {
        /// Folder of *.toml episode definitions.
        dir: PathBuf,
    },
    /// Write claims of any supported format as the canonical CSV the engine reads.
    #[command(
        after_help = "Example:\n  episode-recon convert --claims-format rif --claims rif/ --out claims.csv\n\nWrites the columns the engine uses, one row per claim line; rows that cannot be\nmapped go to CLAIMS.rejects.csv beside --out, with file, row and reason."
    )]
    Convert {
        /// Format of the input files: canonical, rif, synpuf, cclf, parquet, or auto.
        #[arg(long, value_name = "FORMAT", default_value = "auto", value_parser = parse_format)]
        claims_format: ClaimsFormat,
        /// Claims files (`-` for standard input; FIFOs too), or folders whose *.csv files are read in name order.
        #[arg(long, num_args = 1.., required_unless_present = "beneficiaries", conflicts_with = "beneficiaries")]
        claims: Vec<PathBuf>,
        /// Beneficiaries files instead of claims: written as the canonical monthly enrollment CSV.
        #[arg(long, num_args = 1.., value_name = "PATH")]
        beneficiaries: Vec<PathBuf>,
        /// Format of the beneficiaries files: canonical, rif, synpuf, cclf, parquet, or auto.
        #[arg(long, value_name = "FORMAT", default_value = "auto", value_parser = parse_beneficiaries_format)]
        beneficiaries_format: BeneficiariesFormat,
        /// The canonical CSV file to write (new, as is its rejects file, unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Replace an --out file, and its rejects file, that exist.
        #[arg(long)]
        force: bool,
        /// Worker threads (default: all cores).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        threads: Option<u16>,
        #[command(flatten)]
        same_file: SameFileArgs,
        #[command(flatten)]
        view: ViewArgs,
    },
    /// Work with episode definitions: generate them from the CMS tables.
    #[command(subcommand)]
    Definitions(DefinitionsCommand),
    /// Compare two runs (an initial reconciliation and a later true-up run): what changed and what is now due.
    #[command(
        after_help = "Example:\n  episode-recon reconcile ... --as-of 2026-03-31 --out initial\n  episode-recon reconcile ... --out later\n  episode-recon true-up --previous initial --current later --out true-up\n\nWrites true_up_episodes.csv, true_up_providers.csv and summary.json; when both runs\nsettled participants, also true_up_participants.csv (each participant and period: track,\nquality score and net payment before and now, and the amount due). Runs made with\ndifferent definitions, target prices, risk factors, or participants and settlement\nfiles are refused, as is a pair where only one run settled participants."
    )]
    TrueUp {
        /// Output folder of the earlier run.
        #[arg(long)]
        previous: PathBuf,
        /// Output folder of the later run.
        #[arg(long)]
        current: PathBuf,
        /// Output folder (new or empty unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Replace an --out folder that is not empty.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        view: ViewArgs,
        #[command(flatten)]
        output: OutputFormatArgs,
    },
    /// Price an earlier run again with other target prices or pricing settings, without its claims.
    #[command(
        after_help = "Example (what if the regional prices change?):\n  episode-recon reprice --run out --target-prices new_prices.csv --out out-new-prices\n\nWith --definitions, only the [pricing] tables may differ from the run's; changes to\ntriggers, windows, inclusion or exclusion need the claims: use reconcile."
    )]
    Reprice {
        /// Output folder of an earlier `reconcile`.
        #[arg(long)]
        run: PathBuf,
        /// Target prices CSV to price with.
        #[arg(long)]
        target_prices: PathBuf,
        /// Definitions with other pricing settings (default: those the run used).
        #[arg(long)]
        definitions: Option<PathBuf>,
        #[command(flatten)]
        pricing: PricingArgs,
        /// Output folder (new or empty unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Replace an --out folder that is not empty.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        view: ViewArgs,
        #[command(flatten)]
        output: OutputFormatArgs,
    },
    /// Compare the reconciliation amounts of a run under several target price, participants or settlement files.
    #[command(
        after_help = "Examples:\n  episode-recon scenarios --run out --target-prices prices_a.csv prices_b.csv --out compare\n  episode-recon scenarios --run out --target-prices prices.csv --risk-factors risk_factors.csv \\\n    --participants participants.csv --settlement tracks_a.toml tracks_b.toml --out compare\n\nThe scenarios are every price file x every participants file x every settlement file,\nin that order (the settlement file varies fastest). Each column is named by the files\nthat vary across scenarios, joined by \" + \" (by the price file when nothing varies).\nWrites scenarios.csv (one row per provider, type and period; one reconciliation amount\ncolumn per scenario) and summary.json; with --participants, also\nscenarios_participants.csv (one row per provider and period; one net payment\nreconciliation amount column per scenario)."
    )]
    Scenarios {
        /// Output folder of an earlier `reconcile`.
        #[arg(long)]
        run: PathBuf,
        /// Target price files, one scenario each (times each participants and settlement file).
        #[arg(long, required = true, num_args = 1..)]
        target_prices: Vec<PathBuf>,
        #[command(flatten)]
        pricing: ScenarioPricingArgs,
        /// Output folder (new or empty unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Replace an --out folder that is not empty.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        view: ViewArgs,
        #[command(flatten)]
        output: OutputFormatArgs,
    },
    /// Write a run as one self-contained HTML page: the overview, each provider and type, the settlement, cancellations and rejects.
    #[command(
        after_help = "Example:\n  episode-recon report --run out --out report.html\n  episode-recon report --run later --previous initial --out report.html\n\nReads the run folder only (never the claims), streaming its ledger and rejects.\nThe page fetches nothing: charts are inline SVG, and it prints as it shows."
    )]
    Report {
        /// Output folder of an earlier `reconcile`.
        #[arg(long)]
        run: PathBuf,
        /// Output folder of an earlier run of the same inputs: adds what changed since (the true-up).
        #[arg(long)]
        previous: Option<PathBuf>,
        /// The HTML file to write (new unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Replace an --out file that exists.
        #[arg(long)]
        force: bool,
    },
    /// Write synthetic claims, definitions and prices of realistic shape, for benchmarks.
    #[command(
        after_help = "Example (about a million claim lines):\n  episode-recon generate --beneficiaries 20000 --seed 1 --out /tmp/gen\n  episode-recon reconcile --claims /tmp/gen/claims --beneficiaries /tmp/gen/beneficiaries \\\n    --definitions /tmp/gen/definitions --target-prices /tmp/gen/target_prices.csv \\\n    --risk-factors /tmp/gen/risk_factors.csv --out /tmp/gen-out\n\ndefinitions-claims-only/ holds the same types without [eligibility] and [risk]."
    )]
    Generate {
        /// Beneficiaries to write (about 50 claim lines each).
        #[arg(long)]
        beneficiaries: u64,
        /// Seed: the same seed and count give the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Folder to write claims/, definitions/ and target_prices.csv into.
        #[arg(long)]
        out: PathBuf,
        /// Write the claims and beneficiaries files compressed, on every
        /// core: zstd (claims.csv.zst), gzip (claims.csv.gz) or none.
        #[arg(long, value_name = "KIND", default_value = "none", value_parser = parse_compression)]
        compress: Compress,
    },
}

impl Command {
    /// The `--out` of a command that stages its outputs (and so may leave
    /// temporary entries beside it when killed).
    fn out(&self) -> Option<&Path> {
        match self {
            Command::Reconcile(args) => Some(&args.out),
            Command::Convert { out, .. }
            | Command::TrueUp { out, .. }
            | Command::Reprice { out, .. }
            | Command::Scenarios { out, .. }
            | Command::Report { out, .. } => Some(out),
            Command::CheckDefinitions { .. }
            | Command::Definitions(_)
            | Command::Generate { .. } => None,
        }
    }
}

#[derive(Subcommand)]
enum DefinitionsCommand {
    /// Generate one definition per BPCI Advanced clinical episode category from the CMS clinical-logic tables.
    #[command(
        name = "from-cmmi",
        after_help = "Example (the shipped set):\n  episode-recon definitions from-cmmi data/cmmi-clinical-logic --out episode-definitions/bpci-advanced\n\nReads the IP and OP anchor lists, excluded readmissions and excluded Part B drugs."
    )]
    FromCmmi {
        /// Folder with the CMS clinical-logic CSV sheets.
        dir: PathBuf,
        /// Folder to write the *.toml definitions into.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args)]
struct ReconcileArgs {
    /// Claims files (`-` for standard input; FIFOs and process substitutions too), or folders whose *.csv files are read in name order.
    #[arg(long, required = true, num_args = 1..)]
    claims: Vec<PathBuf>,
    /// Folder of *.toml episode definitions.
    #[arg(long)]
    definitions: PathBuf,
    /// Target prices CSV.
    #[arg(long)]
    target_prices: PathBuf,
    /// Output folder (created; must be new or empty unless --force).
    #[arg(long)]
    out: PathBuf,
    /// Run-out cutoff: claim versions processed after this date are treated as not yet received.
    #[arg(long, value_name = "DATE", value_parser = parse_as_of)]
    as_of: Option<Date>,
    /// Make the first rejected row a fatal error.
    #[arg(long)]
    strict: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Replace an --out folder that is not empty.
    #[arg(long)]
    force: bool,
    /// Format of the claims files: canonical, rif, synpuf, cclf, parquet (with --features parquet), or auto (detected per file from its header or, for Parquet, its first bytes).
    #[arg(long, value_name = "FORMAT", default_value = "canonical", value_parser = parse_format)]
    claims_format: ClaimsFormat,
    /// Memory for parsed claims before partitions spill to disk beside --out
    /// (e.g. 512MiB, 4GiB; default: half the machine's memory).
    #[arg(long, value_name = "SIZE", value_parser = tunables::parse_size)]
    memory_limit: Option<u64>,
    /// Monthly enrollment CSV files (or folders of *.csv), for [eligibility] and [risk].
    #[arg(long, num_args = 1.., value_name = "PATH")]
    beneficiaries: Vec<PathBuf>,
    /// Format of the beneficiaries files: canonical, rif (MBSF base segment), synpuf
    /// (DE-SynPUF beneficiary summary), cclf (CCLF8: refused, it has no months), parquet (with
    /// --features parquet), or auto (detected per file from its header or first bytes).
    #[arg(long, value_name = "FORMAT", default_value = "canonical", value_parser = parse_beneficiaries_format)]
    beneficiaries_format: BeneficiariesFormat,
    #[command(flatten)]
    pricing: PricingArgs,
    #[command(flatten)]
    same_file: SameFileArgs,
    #[command(flatten)]
    view: ViewArgs,
    #[command(flatten)]
    output: OutputFormatArgs,
}

/// Whether the tables of a run are written as CSV (the contract's
/// outputs) or Parquet.
#[derive(Args)]
struct OutputFormatArgs {
    /// Format of the output tables: csv (the default) or parquet (episodes.parquet and the
    /// rest: money Decimal128(38,2), dates Date32, counts Int64, the rest text; needs a build
    /// with --features parquet). summary.json stays JSON. true-up, reprice, scenarios and
    /// report read a run in either format.
    #[arg(long, value_name = "FORMAT", default_value = "csv", value_parser = ["csv", "parquet"], conflicts_with = "excel_safe")]
    output_format: String,
}

impl OutputFormatArgs {
    /// The format asked for, CSV in `view`; an error before any work when
    /// this build cannot write it.
    fn format(&self, view: &ViewArgs) -> Result<OutputFormat, Error> {
        let format = OutputFormat::parse(&self.output_format, view.view());
        Ok(format
            .unwrap_or(OutputFormat::Csv(view.view()))
            .available()?)
    }
}

/// An error before any work when Parquet is asked with `flag` (`parquet`
/// is true) and this build cannot read it.
fn needs_parquet(flag: &str, parquet: bool) -> Result<(), Error> {
    if parquet && !episode_recon::error::PARQUET {
        let without = episode_recon::error::WithoutParquet;
        return Err(Error::new(
            without.kind(),
            format!("{flag} parquet: {without}"),
        ));
    }
    Ok(())
}

/// Whether one file may be given twice among the claims (or the
/// beneficiaries) files: by default it is a usage error, since each of its
/// rows would be rejected as a duplicate of itself (RULES 24).
#[derive(Args)]
struct SameFileArgs {
    /// Read a file given twice (or a folder and a file in it) twice, as meant: its rows are then
    /// duplicate_line (duplicate_month for beneficiaries). Standard input is never read twice.
    #[arg(long)]
    allow_same_file: bool,
}

impl SameFileArgs {
    /// Refuses a file given twice in a list, unless allowed, and standard
    /// input given twice in any.
    fn check(&self, lists: &[(&'static str, &[PathBuf])]) -> Result<(), Error> {
        Ok(folders::check_distinct(lists, self.allow_same_file)?)
    }
}

/// How every command that writes CSV writes it: exact (the contract's
/// outputs, which runs compare and read back), or for people who open the
/// files in a spreadsheet.
#[derive(Args)]
struct ViewArgs {
    /// For opening the CSV files in a spreadsheet: prefix with ' every text field (id, code,
    /// name, path, rejected record) starting with =, +, -, @, tab or CR, so none runs as a
    /// formula. Amounts, counts and dates never change. The files are then no longer the
    /// contract's exact outputs: true-up, reprice and scenarios refuse such a run.
    #[arg(long)]
    excel_safe: bool,
}

impl ViewArgs {
    fn view(&self) -> CsvView {
        CsvView::excel_safe(self.excel_safe)
    }
}

/// The pricing inputs beyond target prices, shared by every command that
/// prices episodes.
#[derive(Args)]
struct PricingArgs {
    /// Risk factor multipliers CSV (episode_type, factor, level, multiplier), for [risk].
    #[arg(long, value_name = "FILE")]
    risk_factors: Option<PathBuf>,
    /// Participants CSV (provider_id, period, track, quality_score): settle per participant.
    #[arg(long, value_name = "FILE", requires = "settlement")]
    participants: Option<PathBuf>,
    /// Settlement tracks TOML (stop-gain, stop-loss, quality adjustment per track).
    #[arg(long, value_name = "FILE", requires = "participants")]
    settlement: Option<PathBuf>,
}

impl PricingArgs {
    /// The files, to keep `--out --force` from replacing them.
    fn paths(&self) -> impl Iterator<Item = &Path> {
        [&self.risk_factors, &self.participants, &self.settlement]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
    }

    /// Reads and checks the files given.
    fn load(&self) -> Result<(Option<RiskFactors>, Option<SettlementInputs>), Error> {
        Ok(pricing_files::load(
            self.risk_factors.as_deref(),
            self.participants.as_deref(),
            self.settlement.as_deref(),
        )?)
    }
}

/// The pricing inputs of `scenarios`: as [`PricingArgs`], except that
/// participants and settlement files may be several, each a dimension of
/// the comparison.
#[derive(Args)]
struct ScenarioPricingArgs {
    /// Risk factor multipliers CSV (episode_type, factor, level, multiplier), for [risk].
    #[arg(long, value_name = "FILE")]
    risk_factors: Option<PathBuf>,
    /// Participants CSV files (provider_id, period, track, quality_score): settle per
    /// participant, one scenario each (times each settlement file).
    #[arg(long, value_name = "FILE", num_args = 1.., requires = "settlement")]
    participants: Vec<PathBuf>,
    /// Settlement tracks TOML files (stop-gain, stop-loss, quality adjustment per track),
    /// one scenario each.
    #[arg(long, value_name = "FILE", num_args = 1.., requires = "participants")]
    settlement: Vec<PathBuf>,
}

impl ScenarioPricingArgs {
    /// The files, to keep `--out --force` from replacing them.
    fn paths(&self) -> impl Iterator<Item = &Path> {
        self.risk_factors
            .iter()
            .chain(&self.participants)
            .chain(&self.settlement)
            .map(PathBuf::as_path)
    }

    /// Reads and checks the files given: every participants file against
    /// every settlement file, in the order the scenarios take them.
    fn load(&self) -> Result<(Option<RiskFactors>, Vec<SettlementChoice>), Error> {
        Ok(pricing_files::load_scenarios(
            self.risk_factors.as_deref(),
            &self.participants,
            &self.settlement,
        )?)
    }
}

fn parse_beneficiaries_format(name: &str) -> Result<BeneficiariesFormat, String> {
    BeneficiariesFormat::parse(name).ok_or_else(|| {
        format!("expected canonical, rif, synpuf, cclf, parquet or auto, found {name:?}")
    })
}

fn parse_format(name: &str) -> Result<ClaimsFormat, String> {
    ClaimsFormat::parse(name).ok_or_else(|| {
        format!("expected canonical, rif, synpuf, cclf, parquet or auto, found {name:?}")
    })
}

/// A compression or none, as `--compress` takes it (an `Option` field
/// would make clap take the option itself as optional).
#[derive(Clone, Copy, Debug)]
struct Compress(Option<Compression>);

fn parse_compression(name: &str) -> Result<Compress, String> {
    if name.eq_ignore_ascii_case("none") {
        return Ok(Compress(None));
    }
    Compression::parse(name)
        .map(|c| Compress(Some(c)))
        .ok_or_else(|| format!("expected zstd, gzip or none, found {name:?}"))
}

fn parse_as_of(text: &str) -> Result<Date, String> {
    parse_date(text.as_bytes())
        .ok_or_else(|| format!("expected a date as YYYY-MM-DD or YYYYMMDD, found {text:?}"))
}

fn main() -> ExitCode {
    configure_allocator(&Tunables::DEFAULT);
    episode_recon::runtime::memory::set_release_freed(collect_freed_memory);
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    // Before any command runs, for every command: each one that writes
    // stages its outputs (or spills) in temporary files beside --out, and
    // only the handler removes them when Ctrl-C or SIGTERM ends the process
    // (a signal runs no `Drop`). Installing it here, not per command, keeps
    // a new command from forgetting it; for one that writes nothing it
    // only turns the signal into exit status 130.
    cleanup::install_interrupt_handler();
    // SIGKILL runs no handler: what a killed run left beside --out (spill
    // and staging folders, staged files, a folder set aside by --force) is
    // removed, or put back, before this one checks --out or writes.
    if let Some(out) = cli.command.out() {
        cleanup::remove_leftovers(tunables::folder_beside(out));
    }
    let result = match cli.command {
        Command::Reconcile(args) => run_reconcile(args, cli.quiet, cli.verbose > 0),
        Command::CheckDefinitions { dir } => check_definitions(&dir),
        Command::Definitions(DefinitionsCommand::FromCmmi { dir, out }) => from_cmmi(&dir, &out),
        Command::Convert {
            claims_format,
            claims,
            beneficiaries,
            beneficiaries_format,
            out,
            force,
            same_file,
            threads,
            view,
        } => {
            let rejects = episode_recon::tools::convert::rejects_path(&out);
            needs_parquet("--claims-format", claims_format == ClaimsFormat::Parquet)
                .and_then(|()| {
                    let parquet = beneficiaries_format == BeneficiariesFormat::Parquet;
                    needs_parquet("--beneficiaries-format", parquet)
                })
                .and_then(|()| Ok(report::check_out_files(&[&out, &rejects], force)?))
                .and_then(|()| {
                    if beneficiaries.is_empty() {
                        convert(
                            claims_format,
                            &claims,
                            &same_file,
                            &out,
                            threads,
                            view.view(),
                            cli.quiet,
                        )
                    } else {
                        convert_beneficiaries(
                            beneficiaries_format,
                            &beneficiaries,
                            &same_file,
                            &out,
                            view.view(),
                        )
                    }
                })
        }
        Command::TrueUp {
            previous,
            current,
            out,
            force,
            view,
            output,
        } => output
            .format(&view)
            .and_then(|format| run_true_up(&previous, &current, &out, force, format)),
        Command::Reprice {
            run,
            target_prices,
            definitions,
            pricing,
            out,
            force,
            view,
            output,
        } => output.format(&view).and_then(|format| {
            run_reprice(
                &run,
                &target_prices,
                definitions.as_deref(),
                &pricing,
                &out,
                force,
                format,
            )
        }),
        Command::Scenarios {
            run,
            target_prices,
            pricing,
            out,
            force,
            view,
            output,
        } => output
            .format(&view)
            .and_then(|format| run_scenarios(&run, &target_prices, &pricing, &out, force, format)),
        Command::Report {
            run,
            previous,
            out,
            force,
        } => run_report(&run, previous.as_deref(), &out, force),
        Command::Generate {
            beneficiaries,
            seed,
            out,
            compress,
        } => generate(beneficiaries, seed, compress.0, &out),
    };
    skip_allocator_purge_at_exit();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", episode_recon::error::report(&error));
            ExitCode::from(error.exit_code())
        }
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let (level, notices) = match (quiet, verbose) {
        (true, _) => ("error", "error"),
        (_, 0) => ("warn", "info"),
        (_, 1) => ("info", "info"),
        _ => ("debug", "debug"),
    };
    let notice = episode_recon::runtime::NOTICE;
    // Colour codes only for a person at a terminal: in a log file or a
    // pipe they are noise that every reader has to strip.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
            "episode_recon={level},{notice}={notices}"
        )))
        .with_target(false)
        .init();
}

/// `reconcile`; with `verbose` (`-v`), each phase's peak memory is
/// measured and logged.
fn run_reconcile(args: ReconcileArgs, quiet: bool, verbose: bool) -> Result<(), Error> {
    needs_parquet(
        "--claims-format",
        args.claims_format == ClaimsFormat::Parquet,
    )?;
    let beneficiaries_format = args.beneficiaries_format;
    needs_parquet(
        "--beneficiaries-format",
        beneficiaries_format == BeneficiariesFormat::Parquet,
    )?;
    let format = args.output.format(&args.view)?;
    let mut inputs: Vec<&Path> = args.claims.iter().map(PathBuf::as_path).collect();
    inputs.extend([args.definitions.as_path(), args.target_prices.as_path()]);
    inputs.extend(args.beneficiaries.iter().map(PathBuf::as_path));
    inputs.extend(args.pricing.paths());
    report::check_out_dir(&args.out, args.force, &inputs)?;
    let definitions = definitions::load_dir(&args.definitions)?;
    let prices = TargetPrices::load(&args.target_prices)?;
    let (risk_factors, settlement) = args.pricing.load()?;
    let claims = args.claims_format.expand(&args.claims)?;
    let beneficiaries = args.beneficiaries_format.expand(&args.beneficiaries)?;
    // Before the claims are read, which the enrollment is read beside.
    beneficiaries::refuse_streams(args.beneficiaries_format, &beneficiaries)?;
    args.same_file
        .check(&[("--claims", &claims), ("--beneficiaries", &beneficiaries)])?;
    let total_bytes = total_bytes(&claims);
    let spill_dir = tunables::spill_dir_for(&args.out);
    let inputs = Inputs {
        as_of: args.as_of,
        strict: args.strict,
        memory_limit: Tunables::DEFAULT.memory_limit(args.memory_limit),
        format: args.claims_format,
        spill_dir,
        beneficiaries: Input::files(beneficiaries),
        beneficiaries_format: args.beneficiaries_format,
        risk_factors,
        settlement,
        ..Inputs::new(claims, definitions, prices)
    };
    let pool = tunables::thread_pool(args.threads)?;
    // The peak memory of each phase, logged at -v (RULES 34). Only then:
    // measuring resets the kernel's peak, which also cuts the peak that
    // getrusage reports for the process (what `/usr/bin/time` shows).
    let mut progress = Progress::for_stderr(quiet, total_bytes);
    if verbose {
        progress = progress.measuring_memory();
    }
    let recon = pool.install(|| reconcile::run_with_progress(inputs, &progress))?;
    progress.phase("writing outputs");
    report::write_outputs_as(&recon, &args.out, args.force, format)?;
    progress.finish();
    println!("{}", paragraph::paragraph(&recon, &args.out));
    Ok(())
}

/// The bytes of the claims files, for the progress bar (0 for a stream).
fn total_bytes(claims: &[PathBuf]) -> u64 {
    claims
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

fn check_definitions(dir: &Path) -> Result<(), Error> {
    let definitions = definitions::load_dir(dir)?;
    for definition in &definitions {
        println!("{}", definition.describe());
    }
    Ok(())
}

fn generate(
    beneficiaries: u64,
    seed: u64,
    compression: Option<Compression>,
    out: &Path,
) -> Result<(), Error> {
    let generate = episode_recon::tools::generate::generate_compressed;
    let written = generate(beneficiaries, seed, compression, out).map_err(|e| {
        Error::new(
            ErrorKind::Environment,
            format!("{}: cannot write generated data: {e}", out.display()),
        )
    })?;
    println!("{}", written.paragraph(beneficiaries, out));
    Ok(())
}

fn run_reprice(
    run: &Path,
    target_prices: &Path,
    definitions: Option<&Path>,
    pricing: &PricingArgs,
    out: &Path,
    force: bool,
    format: OutputFormat,
) -> Result<(), Error> {
    let inputs: Vec<&Path> = [run, target_prices]
        .into_iter()
        .chain(definitions)
        .chain(pricing.paths())
        .collect();
    report::check_out_dir(out, force, &inputs)?;
    let prior = PriorRun::load(run)?;
    let prices = TargetPrices::load(target_prices)?;
    let loaded = match definitions {
        Some(dir) => Some((dir, definitions::load_dir(dir)?)),
        None => None,
    };
    let given = loaded.as_ref().map(|(dir, defs)| (*dir, defs.as_slice()));
    let (risk_factors, settlement) = pricing.load()?;
    let with = reprice::RepriceWith {
        risk_factors: risk_factors.as_ref(),
        settlement: settlement.as_ref(),
    };
    let repriced = reprice::reprice(&prior, given, &prices, &with)?;
    let paragraph = reprice::paragraph(&repriced, &prior, run, out)?;
    reprice::write(&repriced, &prior, out, force, format)?;
    println!("{paragraph}");
    leave_to_exit((repriced, prior));
    Ok(())
}

fn run_scenarios(
    run: &Path,
    target_prices: &[PathBuf],
    pricing: &ScenarioPricingArgs,
    out: &Path,
    force: bool,
    format: OutputFormat,
) -> Result<(), Error> {
    let inputs: Vec<&Path> = std::iter::once(run)
        .chain(target_prices.iter().map(PathBuf::as_path))
        .chain(pricing.paths())
        .collect();
    report::check_out_dir(out, force, &inputs)?;
    let prior = PriorRun::load(run)?;
    let price_files = target_prices
        .iter()
        .map(|path| Ok((path.display().to_string(), TargetPrices::load(path)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let (risk_factors, settlements) = pricing.load()?;
    let scenarios = reprice::scenarios(&prior, &price_files, risk_factors.as_ref(), &settlements)?;
    reprice::write_scenarios(&prior, &scenarios, out, force, format)?;
    let files = (
        price_files.len(),
        pricing.participants.len(),
        pricing.settlement.len(),
    );
    let paragraph = reprice::scenarios_paragraph(&prior, &scenarios, files, run, out);
    println!("{paragraph}");
    Ok(())
}

fn run_true_up(
    previous: &Path,
    current: &Path,
    out: &Path,
    force: bool,
    format: OutputFormat,
) -> Result<(), Error> {
    report::check_out_dir(out, force, &[previous, current])?;
    let before = PriorRun::load(previous)?;
    let now = PriorRun::load(current)?;
    let comparison = true_up::compare(&before, &now)?;
    true_up::write_as(&comparison, out, force, format)?;
    println!("{}", comparison.paragraph(previous, current, out));
    Ok(())
}

fn run_report(run: &Path, previous: Option<&Path>, out: &Path, force: bool) -> Result<(), Error> {
    let runs: Vec<&Path> = std::iter::once(run).chain(previous).collect();
    let html = episode_recon::runs::report::build(run, previous)?;
    episode_recon::runs::report::write(&html, out, force, &runs)?;
    println!(
        "Wrote the report of {} ({} KiB) to {}.",
        run.display(),
        html.len().div_ceil(1024),
        out.display()
    );
    Ok(())
}

fn from_cmmi(dir: &Path, out: &Path) -> Result<(), Error> {
    let generated = episode_recon::config::cmmi::from_cmmi(dir)?;
    episode_recon::config::cmmi::write(&generated, out)?;
    definitions::load_dir(out)?;
    println!(
        "Wrote {} episode definitions from the CMS tables in {} into {}; all pass check-definitions.",
        generated.len(),
        dir.display(),
        out.display()
    );
    Ok(())
}

fn convert_beneficiaries(
    format: BeneficiariesFormat,
    paths: &[PathBuf],
    same_file: &SameFileArgs,
    out: &Path,
    view: CsvView,
) -> Result<(), Error> {
    let files = format.expand(paths)?;
    beneficiaries::refuse_streams(format, &files)?;
    same_file.check(&[("--beneficiaries", &files)])?;
    let converted =
        episode_recon::tools::convert::convert_beneficiaries(format, &files, out, view)?;
    let rows = episode_recon::tools::convert::Rows::Beneficiaries;
    println!("{}", converted.paragraph(rows, files.len(), out));
    Ok(())
}

fn convert(
    format: ClaimsFormat,
    claims: &[PathBuf],
    same_file: &SameFileArgs,
    out: &Path,
    threads: Option<u16>,
    view: CsvView,
    quiet: bool,
) -> Result<(), Error> {
    use episode_recon::input::claims::Chunking;
    use episode_recon::tools::convert::{self, Converting};
    let files = format.expand(claims)?;
    same_file.check(&[("--claims", &files)])?;
    let pool = tunables::thread_pool(threads)?;
    let progress = Progress::for_stderr(quiet, total_bytes(&files));
    let converted = pool.install(|| {
        let how = Converting {
            view,
            // On the pool, so the batch fits its threads.
            chunking: Chunking::default(),
            progress: &progress,
        };
        convert::convert(format, &files, out, how)
    })?;
    progress.finish();
    println!(
        "{}",
        converted.paragraph(convert::Rows::Claims, files.len(), out)
    );
    Ok(())
}
