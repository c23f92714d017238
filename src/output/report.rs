//! Writing the five outputs (contract section 4), byte for byte: CSV with
//! minimal quoting and `\n` line ends, money with two decimals, and
//! `summary.json` in the contract's key order.
//!
//! Each writer takes any `io::Write`, so tests can point it at a `Vec<u8>`;
//! [`write_outputs`] puts the files in place atomically.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use rust_decimal::Decimal;

use crate::config::fingerprint::RunRecord;
use crate::engine::episodes::LedgerLine;
use crate::engine::pricing::Status;
use crate::engine::reconcile::Reconciliation;
use crate::engine::risk;
use crate::model::money::Money;

/// The output folder could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--out` exists and holds files.
    #[error(
        "{path}: output folder exists and is not empty; expected a new or empty folder (use --force to replace it)"
    )]
    NotEmpty {
        /// The folder.
        path: PathBuf,
    },
    /// `--out` holds the current folder or an input, which replacing it
    /// would delete.
    #[error(
        "{path}: --force would replace this folder, which holds {holds}; expected a new folder for the outputs"
    )]
    HoldsInput {
        /// The folder.
        path: PathBuf,
        /// What it holds.
        holds: PathBuf,
    },
    /// Writing failed.
    #[error("{path}: cannot write outputs: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
}

/// Refuses an `--out` folder that exists and is not empty, unless `force`;
/// and even with `force`, one that holds the current folder or any of
/// `inputs`, since replacing it would delete them (`--out . --force` would
/// empty the folder the user is in). Called before the run so a long run
/// does not end in this refusal.
pub fn check_out_dir(out: &Path, force: bool, inputs: &[&Path]) -> Result<(), Error> {
    match fs::read_dir(out) {
        Ok(mut entries) => match entries.next() {
            Some(_) if !force => Err(Error::NotEmpty {
                path: out.to_owned(),
            }),
            Some(_) => refuse_if_holding(out, inputs),
            None => Ok(()),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Io {
            path: out.to_owned(),
            source,
        }),
    }
}

/// [`Error::HoldsInput`] when the existing folder `out` is, or is above,
/// the current folder or one of `inputs` (compared as canonical paths).
fn refuse_if_holding(out: &Path, inputs: &[&Path]) -> Result<(), Error> {
    let Ok(folder) = fs::canonicalize(out) else {
        return Ok(());
    };
    let current = std::env::current_dir().unwrap_or_default();
    let held = std::iter::once(current.as_path())
        .chain(inputs.iter().copied())
        .find(|path| fs::canonicalize(path).is_ok_and(|p| p.starts_with(&folder)));
    match held {
        Some(holds) => Err(Error::HoldsInput {
            path: out.to_owned(),
            holds: holds.to_owned(),
        }),
        None => Ok(()),
    }
}

/// A writer of one output file.
type OutputWriter = fn(&Reconciliation, &mut dyn Write) -> io::Result<()>;

/// The output files, in the order they are written.
pub const OUTPUT_FILES: [&str; 5] = [
    "episodes.csv",
    "providers.csv",
    "ledger.csv",
    "rejects.csv",
    "summary.json",
];

/// The sixth output, written only when the run settles participants.
pub const PARTICIPANTS_FILE: &str = "participants.csv";

/// Writes every output into a temporary folder beside `out` and renames it
/// into place only when all are complete, so a failed run leaves nothing
/// that looks like a finished one.
pub fn write_outputs(recon: &Reconciliation, out: &Path, force: bool) -> Result<(), Error> {
    let writers: [OutputWriter; 5] = [
        write_episodes,
        write_providers,
        write_ledger,
        write_rejects,
        write_summary,
    ];
    let mut files: Vec<OutputFile> = OUTPUT_FILES
        .iter()
        .zip(writers)
        .map(|(name, write)| OutputFile::new(name, move |w: &mut dyn Write| write(recon, w)))
        .collect();
    if recon.participants.is_some() {
        files.push(OutputFile::new(
            PARTICIPANTS_FILE,
            move |w: &mut dyn Write| write_participants(recon, w),
        ));
    }
    write_folder(out, force, &files)
}

/// What produces the content of one output file.
type WriteContent<'a> = Box<dyn Fn(&mut dyn Write) -> io::Result<()> + 'a>;

/// One file of an output folder: its name and what writes it.
pub struct OutputFile<'a> {
    name: &'a str,
    write: WriteContent<'a>,
}

impl<'a> OutputFile<'a> {
    /// A file named `name` whose content `write` produces.
    pub fn new(name: &'a str, write: impl Fn(&mut dyn Write) -> io::Result<()> + 'a) -> Self {
        OutputFile {
            name,
            write: Box::new(write),
        }
    }

    /// A file copied unchanged from `source`.
    pub fn copy(name: &'a str, source: &'a Path) -> Self {
        OutputFile::new(name, move |w: &mut dyn Write| {
            io::copy(&mut fs::File::open(source)?, w).map(|_| ())
        })
    }
}

/// Writes `files` into a staging folder beside `out`, then renames it to
/// `out`: every command's outputs appear whole or not at all. `out` must be
/// new or empty unless `force`.
pub fn write_folder(out: &Path, force: bool, files: &[OutputFile]) -> Result<(), Error> {
    check_out_dir(out, force, &[])?;
    let name = out
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    // Created and registered under the cleanup registry's lock, so an
    // interrupt either removes it or comes before it exists: registering
    // first and creating after could recreate it once the handler is done.
    let created = crate::runtime::cleanup::create_registered(
        || fs::create_dir_all(&staging).map(|()| staging.as_path()),
        |path| path,
    );
    if let Err(source) = created {
        return Err(Error::Io {
            path: staging,
            source,
        });
    }
    let result = write_staged(files, &staging).and_then(|()| replace_dir(&staging, out));
    if result.is_err() {
        // Best effort: the error being reported matters more than this one.
        let _ = fs::remove_dir_all(&staging);
    }
    crate::runtime::cleanup::unregister(&staging);
    result
}

fn write_staged(files: &[OutputFile], staging: &Path) -> Result<(), Error> {
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    for file in files {
        let path = staging.join(file.name);
        let mut out = BufWriter::new(fs::File::create(&path).map_err(io_error(&path))?);
        (file.write)(&mut out)
            .and_then(|()| out.flush())
            .map_err(io_error(&path))?;
    }
    Ok(())
}

/// Moves the staged folder to `out`, replacing an existing (empty, or
/// `--force`d) one.
fn replace_dir(staging: &Path, out: &Path) -> Result<(), Error> {
    let io_error = |source| Error::Io {
        path: out.to_owned(),
        source,
    };
    if out.exists() {
        fs::remove_dir_all(out).map_err(io_error)?;
    }
    fs::rename(staging, out).map_err(io_error)
}

/// Writes one CSV field, quoted only when it holds `,`, `"`, CR or LF.
fn field(out: &mut dyn Write, text: &[u8]) -> io::Result<()> {
    if text
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        out.write_all(b"\"")?;
        for chunk in text.split_inclusive(|&b| b == b'"') {
            out.write_all(chunk)?;
            if chunk.ends_with(b"\"") {
                out.write_all(b"\"")?;
            }
        }
        out.write_all(b"\"")
    } else {
        out.write_all(text)
    }
}

/// Writes one CSV row of displayable values.
fn row(out: &mut dyn Write, values: &[&dyn std::fmt::Display]) -> io::Result<()> {
    let mut buffer = String::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        buffer.clear();
        std::fmt::write(&mut buffer, format_args!("{value}")).map_err(io::Error::other)?;
        field(out, buffer.as_bytes())?;
    }
    out.write_all(b"\n")
}

/// Writes one CSV row of text fields, quoted only where needed.
pub fn write_row(out: &mut dyn Write, fields: &[String]) -> io::Result<()> {
    let values: Vec<&dyn std::fmt::Display> =
        fields.iter().map(|f| f as &dyn std::fmt::Display).collect();
    row(out, &values)
}

/// An optional value: empty when absent.
struct Optional<T>(Option<T>);

impl<T: std::fmt::Display> std::fmt::Display for Optional<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(value) => value.fmt(f),
            None => Ok(()),
        }
    }
}

/// The header of `episodes.csv`.
pub const EPISODES_HEADER: &str = "episode_id,episode_type,beneficiary_id,provider_id,anchor_claim_id,price_group,start_date,end_date,period,status,claim_lines,actual_amount,capped_amount,target_amount,gain_loss,cancel_reason,risk_levels,risk_multiplier,target_price";

/// A target price as `episodes.csv` writes it: the value as read, with at
/// least two decimals and no trailing zeros beyond (`17500` is `17500.00`,
/// `1.2500` is `1.25`, `1.005` stays).
pub fn format_target_price(price: Decimal) -> String {
    let mut price = price.normalize();
    if price.scale() < 2 {
        price.rescale(2);
    }
    price.to_string()
}

/// `episodes.csv`.
pub fn write_episodes(recon: &Reconciliation, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(EPISODES_HEADER.as_bytes())?;
    out.write_all(b"\n")?;
    for episode in &recon.episodes {
        let e = &episode.figures;
        let canceled = e.cancel.is_some();
        row(
            out,
            &[
                &e.episode_id,
                &recon.types[e.episode_type].id,
                &e.beneficiary_id,
                &e.provider_id,
                &e.anchor_claim_id,
                &e.price_group,
                &e.start,
                &e.end,
                &episode.period,
                &episode.status.name(),
                &e.claim_lines,
                &Optional((!canceled).then_some(e.actual)),
                &Optional(episode.capped),
                &Optional(episode.priced.map(|p| p.target)),
                &Optional(episode.priced.map(|p| p.gain_loss)),
                &Optional(e.cancel.as_ref()),
                &Optional(e.risk_levels.as_deref().map(risk::format_levels)),
                &Optional(episode.risk_multiplier.map(|m| m.normalize())),
                &Optional(episode.target_price.map(format_target_price)),
            ],
        )?;
    }
    Ok(())
}

/// `participants.csv`, written only with `--participants`.
pub fn write_participants(recon: &Reconciliation, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(b"provider_id,period,track,quality_score,episodes,target_total,capped_total,reconciliation_amount,quality_adjusted_amount,limit,net_payment_reconciliation_amount\n")?;
    let Some(settled) = &recon.participants else {
        return Ok(());
    };
    for p in &settled.rows {
        row(
            out,
            &[
                &p.provider_id,
                &p.period,
                &p.track,
                &p.quality_score,
                &p.episodes,
                &p.target_total,
                &p.capped_total,
                &p.reconciliation_amount,
                &p.quality_adjusted_amount,
                &p.limit.name(),
                &p.net_payment_reconciliation_amount,
            ],
        )?;
    }
    Ok(())
}

/// `providers.csv`.
pub fn write_providers(recon: &Reconciliation, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(b"provider_id,episode_type,period,episodes,target_total,actual_total,capped_total,gain_loss_total,limit,reconciliation_amount\n")?;
    for p in &recon.providers {
        row(
            out,
            &[
                &p.provider_id,
                &recon.types[p.episode_type].id,
                &p.period,
                &p.episodes,
                &p.target_total,
                &p.actual_total,
                &p.capped_total,
                &p.gain_loss_total,
                &p.limit.name(),
                &p.reconciliation_amount,
            ],
        )?;
    }
    Ok(())
}

/// The header of `ledger.csv`.
pub const LEDGER_HEADER: &str = "episode_id,claim_id,line_number,claim_type,allowed_amount,included_amount,disposition,provider_id,service_date";

/// `ledger.csv`.
pub fn write_ledger(recon: &Reconciliation, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(LEDGER_HEADER.as_bytes())?;
    out.write_all(b"\n")?;
    let write_line = |out: &mut dyn Write, episode_id: &String, line: &LedgerLine| {
        row(
            out,
            &[
                episode_id,
                &line.claim_id,
                &line.line_number,
                &line.claim_type,
                &line.allowed,
                &line.included,
                &line.disposition.name(),
                &Optional(line.provider_id.as_deref()),
                &line.service_date,
            ],
        )
    };
    let episodes: Vec<_> = recon.episodes.iter().zip(&recon.ledgers).collect();
    // Episodes sharing an id (RULES 19b) are adjacent; their lines are
    // merged, so the file stays sorted by its key. Each episode's own lines
    // already are.
    for same_id in episodes.chunk_by(|a, b| a.0.figures.episode_id == b.0.figures.episode_id) {
        // `chunk_by` yields no empty group.
        let episode_id = &same_id[0].0.figures.episode_id;
        if let [(_, ledger)] = same_id {
            for line in *ledger {
                write_line(out, episode_id, line)?;
            }
            continue;
        }
        let mut lines: Vec<_> = same_id
            .iter()
            .flat_map(|(_, ledger)| ledger.iter())
            .collect();
        lines.sort_by(|a, b| (&a.claim_id, a.line_number).cmp(&(&b.claim_id, b.line_number)));
        for line in lines {
            write_line(out, episode_id, line)?;
        }
    }
    Ok(())
}

/// `rejects.csv`.
pub fn write_rejects(recon: &Reconciliation, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(REJECTS_HEADER)?;
    for reject in &recon.rejects {
        let file = &recon.files[reject.file as usize];
        write_reject(out, file, reject.row, reject.reason.name(), &reject.record)?;
    }
    Ok(())
}

/// The header row of a rejects file.
pub const REJECTS_HEADER: &[u8] = b"file,row,reason,record\n";

/// One row of a rejects file; `record` is written as the file had it, its
/// bytes kept even when they are not UTF-8 (RULES 3).
pub fn write_reject(
    out: &mut dyn Write,
    file: &str,
    row: u64,
    reason: &str,
    record: &[u8],
) -> io::Result<()> {
    field(out, file.as_bytes())?;
    write!(out, ",{row},{reason},")?;
    field(out, record)?;
    out.write_all(b"\n")
}

/// Money as the summary writes it: a string with two decimals.
fn text(money: Money) -> String {
    money.to_string()
}

#[derive(Serialize)]
struct Summary {
    as_of: Option<String>,
    rows: Table<u64>,
    amounts: Table<String>,
    rejected_by_reason: BTreeMap<&'static str, u64>,
    beneficiaries: Option<BeneficiarySummary>,
    episodes: EpisodeCounts,
    canceled_by_reason: BTreeMap<String, u64>,
    episode_types: BTreeMap<String, TypeSummary>,
    money: MoneySummary,
    providers: usize,
    participants: Option<ParticipantSummary>,
    check: bool,
    /// Added after the contract's keys, as it allows: what the run was
    /// made with.
    run: RunRecord,
}

#[derive(Serialize)]
struct Table<T> {
    read: T,
    rejected: T,
    after_cutoff: T,
    void: T,
    superseded: T,
    final_action: T,
    adds_up: bool,
}

#[derive(Serialize)]
struct BeneficiarySummary {
    read: u64,
    rejected: u64,
    accepted: u64,
    adds_up: bool,
    rejected_by_reason: BTreeMap<&'static str, u64>,
}

#[derive(Serialize)]
struct ParticipantSummary {
    settled: usize,
    unsettled: u64,
    net_payment_reconciliation: String,
}

#[derive(Serialize, Default)]
struct EpisodeCounts {
    total: u64,
    priced: u64,
    no_target_price: u64,
    no_risk_factor: u64,
    canceled: u64,
}

impl EpisodeCounts {
    fn count(&mut self, status: Status) {
        self.total += 1;
        *match status {
            Status::Priced => &mut self.priced,
            Status::NoTargetPrice => &mut self.no_target_price,
            Status::NoRiskFactor => &mut self.no_risk_factor,
            Status::Canceled => &mut self.canceled,
        } += 1;
    }
}

#[derive(Serialize)]
struct TypeSummary {
    episodes: u64,
    priced: u64,
    no_target_price: u64,
    no_risk_factor: u64,
    canceled: u64,
    triggers_without_provider: u64,
    ledger_lines: u64,
    lines_in_several_episodes: u64,
    final_action_amount: String,
    inside_amount: String,
    outside_amount: String,
    adds_up: bool,
}

#[derive(Serialize)]
struct MoneySummary {
    actual: String,
    capped: String,
    target: String,
    gain_loss: String,
    reconciliation: String,
}

/// Builds the summary: the accounting, and checks that it adds up.
fn summary(recon: &Reconciliation) -> Summary {
    let a = &recon.accounting;
    let parts = [
        a.rejected,
        a.after_cutoff,
        a.void,
        a.superseded,
        a.final_action,
    ];
    let rows_add_up = parts.iter().map(|t| t.rows).sum::<u64>() == a.read.rows;
    // A sum that does not fit does not add up (a run folder's accounting is
    // checked on reading, so only an edited one gets here).
    let amounts_add_up = Money::checked_sum(parts.iter().map(|t| t.amount)) == Some(a.read.amount);

    let mut episode_types = BTreeMap::new();
    for (index, episode_type) in recon.types.iter().enumerate() {
        let mut counts = EpisodeCounts::default();
        let inside = recon.totals.inside[index];
        let mut ledger_lines = 0;
        for episode in recon
            .episodes
            .iter()
            .filter(|e| e.figures.episode_type == index)
        {
            counts.count(episode.status);
            ledger_lines += episode.figures.claim_lines;
        }
        let tally = a.types[index];
        episode_types.insert(
            episode_type.id.clone(),
            TypeSummary {
                episodes: counts.total,
                priced: counts.priced,
                no_target_price: counts.no_target_price,
                no_risk_factor: counts.no_risk_factor,
                canceled: counts.canceled,
                triggers_without_provider: tally.triggers_without_provider,
                ledger_lines,
                lines_in_several_episodes: tally.lines_in_several_episodes,
                final_action_amount: text(a.final_action.amount),
                inside_amount: text(inside),
                outside_amount: text(tally.outside),
                adds_up: inside.checked_add(tally.outside) == Some(a.final_action.amount),
            },
        );
    }

    let mut episodes = EpisodeCounts::default();
    let mut canceled_by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for episode in &recon.episodes {
        episodes.count(episode.status);
        if let Some(reason) = &episode.figures.cancel {
            *canceled_by_reason
                .entry(reason.name().to_owned())
                .or_default() += 1;
        }
    }
    let totals = &recon.totals;
    let money = MoneySummary {
        actual: text(totals.actual),
        capped: text(totals.capped),
        target: text(totals.target),
        gain_loss: text(totals.gain_loss),
        reconciliation: text(totals.reconciliation),
    };
    let beneficiaries = recon.beneficiaries.as_ref().map(|b| BeneficiarySummary {
        read: b.read,
        rejected: b.rejected(),
        accepted: b.accepted,
        adds_up: b.read == b.rejected() + b.accepted,
        rejected_by_reason: b
            .rejected_by_reason
            .iter()
            .map(|(r, n)| (r.name(), *n))
            .collect(),
    });
    let participants = recon.participants.as_ref().map(|p| ParticipantSummary {
        settled: p.rows.len(),
        unsettled: p.unsettled,
        net_payment_reconciliation: text(recon.totals.net_payment.unwrap_or_default()),
    });
    let check = rows_add_up
        && amounts_add_up
        && episode_types.values().all(|t: &TypeSummary| t.adds_up)
        && beneficiaries.as_ref().is_none_or(|b| b.adds_up);
    Summary {
        as_of: recon.as_of.map(|d| d.to_string()),
        rows: Table {
            read: a.read.rows,
            rejected: a.rejected.rows,
            after_cutoff: a.after_cutoff.rows,
            void: a.void.rows,
            superseded: a.superseded.rows,
            final_action: a.final_action.rows,
            adds_up: rows_add_up,
        },
        amounts: Table {
            read: text(a.read.amount),
            rejected: text(a.rejected.amount),
            after_cutoff: text(a.after_cutoff.amount),
            void: text(a.void.amount),
            superseded: text(a.superseded.amount),
            final_action: text(a.final_action.amount),
            adds_up: amounts_add_up,
        },
        rejected_by_reason: a
            .rejected_by_reason
            .iter()
            .map(|(r, n)| (r.name(), *n))
            .collect(),
        beneficiaries,
        episodes,
        canceled_by_reason,
        episode_types,
        money,
        providers: recon.providers.len(),
        participants,
        check,
        run: recon.run.clone(),
    }
}

/// `summary.json`.
pub fn write_summary(recon: &Reconciliation, out: &mut dyn Write) -> io::Result<()> {
    write_json(out, &summary(recon))
}

/// Writes a JSON document as every summary is written: two-space indent,
/// keys in declaration order, a final line end.
pub fn write_json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// Whether the run's accounting adds up (the summary's `check`).
pub fn check(recon: &Reconciliation) -> bool {
    summary(recon).check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        let mut out = Vec::new();
        field(&mut out, b"plain").unwrap();
        out.push(b'|');
        field(&mut out, b"P6,1,\"12,50\"").unwrap();
        out.push(b'|');
        field(&mut out, b"a\nb").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain|\"P6,1,\"\"12,50\"\"\"|\"a\nb\""
        );
    }
}
