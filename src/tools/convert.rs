//! Writing claims, or beneficiaries, of any supported format as the
//! canonical CSV, so users can inspect and edit exactly what the engine
//! sees.
//!
//! Each line is written with the columns the engine uses, in normal form
//! and with every default applied; rows that cannot be mapped are written
//! beside it with their file, row and reason, as `rejects.csv` would list
//! them. Nothing read is left out of one or the other. Both files are
//! written beside their final names and renamed into place only when every
//! input was read, so a failed conversion leaves no half-written file; the
//! staged files are registered with [`crate::runtime::cleanup`], so an interrupted
//! one leaves none either.

use std::collections::HashSet;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::input::beneficiaries::{self, BeneficiariesFormat};
use crate::input::claims::{self, Chunking, Reading};
use crate::input::formats::{ClaimsFormat, Detected};
use crate::input::source::{Source, Spools};
use crate::model::outcome::{RejectReason, RowOutcome, VersionKey};
use crate::model::{ClaimLine, IsoDate};
use crate::output::report::{Cell, CsvView, REJECTS_HEADER, write_reject, write_row};
use crate::runtime::cleanup::StagedFile;
use crate::runtime::progress::Progress;

/// A conversion that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file could not be read.
    #[error(transparent)]
    Claims(#[from] claims::Error),
    /// A beneficiaries file could not be read.
    #[error(transparent)]
    Beneficiaries(#[from] beneficiaries::Error),
    /// An output file could not be written.
    #[error("{path}: cannot write converted claims: {source}")]
    Io {
        /// The output file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// `--out` (or its rejects file beside it) is one of the inputs, which
    /// the conversion would replace.
    #[error("{path}: this is the input {input}; expected a new file for the converted rows")]
    OverwritesInput {
        /// The output file.
        path: PathBuf,
        /// The input it is.
        input: PathBuf,
    },
}

impl crate::error::Classify for Error {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::Claims(e) => e.kind(),
            Error::Beneficiaries(e) => e.kind(),
            Error::Io { .. } => ErrorKind::Environment,
            Error::OverwritesInput { .. } => ErrorKind::Usage,
        }
    }
}

/// What a conversion wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    /// Claim lines written to the canonical CSV.
    pub lines: u64,
    /// Rows written to the rejects file.
    pub rejected: u64,
    /// Rows of versions processed after a cutoff (never, here: convert has
    /// no cutoff), kept so the counts add up to the rows read.
    pub after_cutoff: u64,
    /// The rejects file: `out` with `.rejects.csv` in place of its extension.
    pub rejects_path: PathBuf,
}

/// The rejects file written beside `out`: `out` with `.rejects.csv` in
/// place of its extension.
pub fn rejects_path(out: &Path) -> PathBuf {
    out.with_extension("rejects.csv")
}

/// The canonical columns a converted file has: every one the engine reads.
pub const COLUMNS: [&str; 16] = [
    "claim_id",
    "line_number",
    "beneficiary_id",
    "claim_type",
    "from_date",
    "thru_date",
    "allowed_amount",
    "record_type",
    "processed_date",
    "admission_date",
    "discharge_date",
    "line_date",
    "provider_id",
    "drg",
    "principal_dx",
    "hcpcs",
];

/// The canonical fields of a line, in [`COLUMNS`] order: the line as the
/// engine sees it.
pub fn fields(line: &ClaimLine) -> [String; 16] {
    with_cells(line, |cells| {
        cells.map(|cell| match cell {
            Cell::Text(value) | Cell::Figure(value) => value.to_string(),
            Cell::Raw(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        })
    })
}

/// Hands the canonical cells of a line, in [`COLUMNS`] order, to `use_cells`:
/// each said to be text or a figure (ids and codes are text; the line
/// number, dates and the amount are figures, which the Excel-safe view
/// never alters). The one list of what a converted line holds; the cells
/// borrow the line, so writing one allocates nothing.
fn with_cells<R>(line: &ClaimLine, use_cells: impl FnOnce([Cell; 16]) -> R) -> R {
    use Cell::{Figure, Text};
    let [provider_id, drg, principal_dx, hcpcs] = [
        &line.provider_id,
        &line.drg,
        &line.principal_dx,
        &line.hcpcs,
    ]
    .map(|value| value.as_deref().unwrap_or_default());
    let [
        from_date,
        thru_date,
        processed_date,
        admission_date,
        discharge_date,
        line_date,
    ] = [
        line.from_date,
        line.thru_date,
        line.processed_date,
        line.admission_date,
        line.discharge_date,
        line.line_date,
    ]
    .map(IsoDate);
    use_cells([
        Text(&line.claim_id),
        Figure(&line.line_number),
        Text(&line.beneficiary_id),
        Text(&line.claim_type),
        Figure(&from_date),
        Figure(&thru_date),
        Figure(&line.allowed),
        Text(&line.record_type.code()),
        Figure(&processed_date),
        Figure(&admission_date),
        Figure(&discharge_date),
        Figure(&line_date),
        Text(&provider_id),
        Text(&drg),
        Text(&principal_dx),
        Text(&hcpcs),
    ])
}

/// Writes one converted line, its [`with_cells`], in `view`.
fn write_line(out: &mut dyn Write, view: CsvView, line: &ClaimLine) -> io::Result<()> {
    with_cells(line, |cells| write_row(out, view, &cells))
}

/// How a claims conversion runs: the view it writes in
/// ([`CsvView::Exact`] unless the user asked for `--excel-safe`), how the
/// inputs are cut for parsing in parallel, and where progress goes.
#[derive(Clone, Copy, Debug)]
pub struct Converting<'a> {
    /// The view both files are written in.
    pub view: CsvView,
    /// How each input is cut into chunks (take [`Chunking::default`] on
    /// the pool the conversion runs on).
    pub chunking: Chunking,
    /// Rows and bytes read, and the pass under way.
    pub progress: &'a Progress,
}

/// Converts `files` (read as `format`; `auto` detects each) into the
/// canonical CSV `out`, and the rows that cannot be mapped into
/// `out.rejects.csv`, both in `how.view`. Each input is parsed and its
/// lines formatted in parallel on the current rayon pool, chunk by chunk,
/// and the chunks written in file order, so the files are the same
/// whatever the threads and chunks.
///
/// A row rejected for itself takes the other rows of its version with it
/// (`claim_has_rejected_row`, contract 5), as a run would: otherwise the
/// converted file would count part of that claim. Those rows can come
/// before the bad one, so when any rejected row names a version the files
/// are read a second time, knowing which versions to hold back.
pub fn convert(
    format: ClaimsFormat,
    files: &[PathBuf],
    out: &Path,
    how: Converting,
) -> Result<Converted, Error> {
    let rejects_path = rejects_path(out);
    refuse_inputs(files, &[out, rejects_path.as_path()])?;
    let parent = output_parent(out)?;
    let targets = Targets {
        out,
        rejects_path: &rejects_path,
        parent,
        how,
    };
    // A stream (FIFO, standard input) is spooled as it is read, so that a
    // second pass, and the raw text of held rows, read the spool.
    let mut spools = Spools::new(parent);
    how.progress.phase("converting claims");
    let mut pass = write_pass(format, files, None, &mut spools, &targets, &HashSet::new())?;
    if !pass.tainted.is_empty() {
        let tainted = std::mem::take(&mut pass.tainted);
        let again = std::mem::take(&mut pass.reread);
        how.progress
            .phase_reading_again("converting again, holding back the claims with rejected rows");
        pass = write_pass(format, files, Some(&again), &mut spools, &targets, &tainted)?;
    }
    persist(pass.lines_out, out)?;
    persist(pass.rejects_out, &rejects_path)?;
    Ok(pass.converted)
}

/// What one pass over the inputs wrote, staged beside the final names.
struct Pass {
    lines_out: BufWriter<StagedFile>,
    rejects_out: BufWriter<StagedFile>,
    converted: Converted,
    /// The versions a rejected row named.
    tainted: HashSet<VersionKey>,
    /// Where each input can be read again: itself, or its spool.
    reread: Vec<PathBuf>,
}

fn write_error(path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io { path, source }
}

/// Where and how a claims conversion writes.
struct Targets<'a> {
    out: &'a Path,
    rejects_path: &'a Path,
    parent: &'a Path,
    how: Converting<'a>,
}

/// Reads every input once (from `read_from`, where a first pass left it to
/// be read again), writing the lines of versions not in `held` and, per
/// file in row order, the rejected rows and the held versions' rows.
fn write_pass(
    format: ClaimsFormat,
    files: &[PathBuf],
    read_from: Option<&[PathBuf]>,
    spools: &mut Spools,
    targets: &Targets,
    held: &HashSet<VersionKey>,
) -> Result<Pass, Error> {
    let &Targets {
        out,
        rejects_path,
        parent,
        how,
    } = targets;
    let Converting {
        view,
        chunking,
        progress,
    } = how;
    let mut lines_out = staged(out, parent)?;
    let mut rejects_out = staged(rejects_path, parent)?;
    let header: Vec<Cell> = COLUMNS.iter().map(|c| Cell::Text(c)).collect();
    let mut converted = Converted {
        lines: 0,
        rejected: 0,
        after_cutoff: 0,
        rejects_path: rejects_path.to_owned(),
    };
    let mut tainted = HashSet::new();
    write_row(&mut lines_out, view, &header).map_err(write_error(out))?;
    rejects_out
        .write_all(REJECTS_HEADER)
        .map_err(write_error(rejects_path))?;
    let mut reread = Vec::with_capacity(files.len());
    for (index, path) in files.iter().enumerate() {
        let file = u32::try_from(index).unwrap_or(u32::MAX);
        let read_error = |source| claims::Error::Io {
            path: path.clone(),
            source,
        };
        let mut source = match read_from.and_then(|again| again.get(index)) {
            Some(again) => Source::open(again, None),
            None => Source::open(path, Some(spools)),
        }
        .map_err(read_error)?;
        // Opened with spools, every input can be read again.
        let again = source.reread_path().unwrap_or(path).to_path_buf();
        reread.push(again.clone());
        let format = match format.detect(&mut source)? {
            Detected::Claims(format) => format,
            Detected::NotClaims(what) => {
                if read_from.is_none() {
                    tracing::warn!("skipping {}: this is {what}", path.display());
                }
                continue;
            }
        };
        // Each chunk's lines are formatted where it is parsed, in
        // parallel; the chunks' text is written in file order.
        let fold = |chunk: &mut ChunkOut, outcome| chunk.add(outcome, held, view);
        let mut rejects: Vec<(u64, RejectReason, RawText)> = Vec::new();
        let merge = |chunk: ChunkOut, bytes| -> Result<(), Error> {
            progress.add_rows(chunk.rows, bytes);
            if let Some(source) = chunk.failure {
                return Err(write_error(out)(source));
            }
            lines_out.write_all(&chunk.text).map_err(write_error(out))?;
            converted.lines += chunk.lines;
            converted.after_cutoff += chunk.after_cutoff;
            tainted.extend(chunk.tainted);
            rejects.extend(chunk.rejects);
            Ok(())
        };
        let reading = Reading {
            file,
            as_of: None,
            chunking,
        };
        format.read_chunked(source, reading, ChunkOut::default, fold, merge)?;
        rejects.sort_by_key(|(row, _, _)| *row);
        let spots: Vec<(u64, u64)> = rejects
            .iter()
            .filter_map(|(row, _, raw)| raw.as_ref().err().map(|&offset| (*row, offset)))
            .collect();
        // In row order, as `again` is.
        let mut raws = format.raw_rows(&again, &spots)?.into_iter();
        for (row, reason, raw) in rejects {
            let raw = match raw {
                Ok(raw) => raw,
                Err(_) => raws.next().unwrap_or_default(),
            };
            converted.rejected += 1;
            let file = path.display().to_string();
            write_reject(&mut rejects_out, view, &file, row, reason.name(), &raw)
                .map_err(write_error(rejects_path))?;
        }
    }
    Ok(Pass {
        lines_out,
        rejects_out,
        converted,
        tainted,
        reread,
    })
}

/// A rejected row's text, or the byte offset to read it again from (a
/// held line keeps no text).
type RawText = Result<Box<[u8]>, u64>;

/// What one chunk of an input converts to: the canonical text of its
/// lines, and the rows set aside, with their row numbers.
#[derive(Default)]
struct ChunkOut {
    /// The chunk's converted lines, in file order.
    text: Vec<u8>,
    /// Lines in `text`.
    lines: u64,
    /// Rows read.
    rows: u64,
    after_cutoff: u64,
    /// Rows rejected for themselves, and rows of held versions.
    rejects: Vec<(u64, RejectReason, RawText)>,
    /// The versions a rejected row named.
    tainted: Vec<VersionKey>,
    /// Why a line could not be formatted; the rest of the chunk is then
    /// not written.
    failure: Option<io::Error>,
}

impl ChunkOut {
    /// Adds one row's outcome: a line written in `view` unless its
    /// version is `held`, or a row set aside.
    fn add(&mut self, outcome: RowOutcome, held: &HashSet<VersionKey>, view: CsvView) {
        self.rows += 1;
        match outcome {
            RowOutcome::Line(line) if !held.is_empty() && held.contains(&version_of(&line)) => {
                let (row, offset) = (line.source.row, line.source.offset);
                self.rejects
                    .push((row, RejectReason::ClaimHasRejectedRow, Err(offset)));
            }
            RowOutcome::Line(line) => {
                self.lines += 1;
                if self.failure.is_none() {
                    self.failure = write_line(&mut self.text, view, &line).err();
                }
            }
            RowOutcome::Rejected(row) => {
                self.tainted.extend(row.version);
                self.rejects.push((row.source.row, row.reason, Ok(row.raw)));
            }
            RowOutcome::AfterCutoff { .. } => self.after_cutoff += 1,
        }
    }
}

/// The version a line belongs to.
fn version_of(line: &ClaimLine) -> VersionKey {
    VersionKey {
        beneficiary_id: line.beneficiary_id.clone(),
        claim_id: line.claim_id.clone(),
        processed_date: line.processed_date,
        record_type: line.record_type,
    }
}
/// Converts beneficiaries files (read as `format`; `auto` detects each)
/// into the canonical monthly enrollment CSV `out` (contract 1.5: one row
/// per beneficiary and month, sorted by both), and the rows that cannot be
/// mapped or fail a check into `out.rejects.csv`, with file, row and
/// reason as `rejects.csv` lists them. A source row of several months
/// (an MBSF year) is accepted or rejected whole, as a run treats it, so
/// reconciling the converted file gives the same episodes.
pub fn convert_beneficiaries(
    format: BeneficiariesFormat,
    files: &[PathBuf],
    out: &Path,
    view: CsvView,
) -> Result<Converted, Error> {
    let rejects_path = rejects_path(out);
    refuse_inputs(files, &[out, rejects_path.as_path()])?;
    let parent = output_parent(out)?;
    let columns = beneficiaries::Columns::default();
    let enrollment = beneficiaries::load(files, 0, &columns, format)?;
    let mut rows_out = staged(out, parent)?;
    let mut rejects_out = staged(&rejects_path, parent)?;
    rows_out
        .write_all(CANONICAL_BENEFICIARY_COLUMNS.join(",").as_bytes())
        .and_then(|()| rows_out.write_all(b"\n"))
        .map_err(write_error(out))?;
    let mut ids: Vec<&String> = enrollment.enrollees.keys().collect();
    ids.sort();
    let mut months = 0;
    for id in ids {
        let enrollee = &enrollment.enrollees[id];
        let date = |d: Option<crate::model::Date>| d.map(|d| d.to_string()).unwrap_or_default();
        for (month, row) in &enrollee.months {
            let (month, birth, death) = (
                month.to_string(),
                date(enrollee.birth_date),
                date(enrollee.death_date),
            );
            let flags: Vec<&str> = CANONICAL_BENEFICIARY_COLUMNS[4..]
                .iter()
                .map(|flag| match row.flag(flag) {
                    Some(true) => "Y",
                    Some(false) => "N",
                    None => "",
                })
                .collect();
            // The id is text; the month and dates are figures, which the
            // Excel-safe view never alters; the flags are text.
            let mut cells = vec![
                Cell::Text(id),
                Cell::Figure(&month),
                Cell::Figure(&birth),
                Cell::Figure(&death),
            ];
            cells.extend(flags.iter().map(|f| Cell::Text(f)));
            write_row(&mut rows_out, view, &cells).map_err(write_error(out))?;
            months += 1;
        }
    }
    rejects_out
        .write_all(REJECTS_HEADER)
        .map_err(write_error(&rejects_path))?;
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut rejects = enrollment.rejects;
    rejects.sort_by(|a, b| (&names[a.file as usize], a.row).cmp(&(&names[b.file as usize], b.row)));
    for reject in &rejects {
        write_reject(
            &mut rejects_out,
            view,
            &names[reject.file as usize],
            reject.row,
            reject.reason.name(),
            &reject.record,
        )
        .map_err(write_error(&rejects_path))?;
    }
    persist(rows_out, out)?;
    persist(rejects_out, &rejects_path)?;
    Ok(Converted {
        lines: months,
        rejected: rejects.len() as u64,
        after_cutoff: 0,
        rejects_path,
    })
}

/// The columns of a converted beneficiaries file: the contract's, without
/// attributes (no source format here maps one).
pub const CANONICAL_BENEFICIARY_COLUMNS: [&str; 9] = beneficiaries::KNOWN;

/// Refuses to write `outputs` over one of `inputs`: it would be lost once
/// the conversion is renamed into place.
fn refuse_inputs(inputs: &[PathBuf], outputs: &[&Path]) -> Result<(), Error> {
    for written in outputs {
        let same = |input: &PathBuf| {
            let canonical = |p: &Path| std::fs::canonicalize(p).ok();
            canonical(written).is_some_and(|w| canonical(input) == Some(w))
        };
        if let Some(input) = inputs.iter().find(|input| same(input)) {
            return Err(Error::OverwritesInput {
                path: written.to_path_buf(),
                input: input.clone(),
            });
        }
    }
    Ok(())
}

/// The folder `out` is written into, created if needed.
fn output_parent(out: &Path) -> Result<&Path, Error> {
    let parent = crate::runtime::tunables::folder_beside(out);
    std::fs::create_dir_all(parent).map_err(|source| Error::Io {
        path: parent.to_owned(),
        source,
    })?;
    Ok(parent)
}

/// A file staged beside `path` in `parent` (same file system, so the final
/// rename is atomic); removed when dropped, that is on any error, and
/// registered so an interrupt removes it too (see [`StagedFile`]).
fn staged(path: &Path, parent: &Path) -> Result<BufWriter<StagedFile>, Error> {
    let name = path
        .file_name()
        .map_or_else(|| "converted".into(), |n| n.to_string_lossy().into_owned());
    StagedFile::new_in(parent, &name)
        .map(BufWriter::new)
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })
}

/// Moves a staged file to `path`.
fn persist(staged: BufWriter<StagedFile>, path: &Path) -> Result<(), Error> {
    let staged = staged
        .into_inner()
        .map_err(|e| write_error(path)(e.into_error()))?;
    staged.persist(path).map_err(write_error(path))
}
