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
use crate::input::source::{self, Source, Spools};
use crate::model::outcome::{RejectReason, RowOutcome, RowView, VersionKey};
use crate::model::{ClaimLine, LineRef};
use crate::output::report::{self, Cell, CsvView, append_cell, write_reject, write_row};
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

/// What a conversion wrote: claim lines, or beneficiary months.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    /// `convert --claims`.
    Claims,
    /// `convert --beneficiaries`.
    Beneficiaries,
}

impl Converted {
    /// The line `convert` prints: how many `rows` were written from how
    /// many `files` to `out`, and where the rows that could not be used
    /// went.
    pub fn paragraph(&self, rows: Rows, files: usize, out: &Path) -> String {
        let (written, not_used) = match rows {
            Rows::Claims => ("claim lines", "could not be mapped"),
            Rows::Beneficiaries => ("beneficiary months", "could not be used"),
        };
        let see = if self.rejected > 0 {
            format!(" (see {})", self.rejects_path.display())
        } else {
            String::new()
        };
        format!(
            "Wrote {} {written} from {files} file(s) to {}; {} row(s) {not_used}{see}.",
            self.lines,
            out.display(),
            self.rejected,
        )
    }
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
    with_cells(&line.view(), |cells| {
        cells.map(|cell| {
            let mut text = Vec::new();
            // Appending to a `Vec` fails only if a `Display` does, and
            // none of a line's values does.
            let _ = append_cell(&mut text, &cell);
            String::from_utf8_lossy(&text).into_owned()
        })
    })
}

/// Hands the canonical cells of a line, in [`COLUMNS`] order, to `use_cells`:
/// each said to be text or a figure (ids and codes are text; the line
/// number, dates and the amount are figures, which the Excel-safe view
/// never alters). The one list of what a converted line holds; the cells
/// borrow the line, so writing one allocates nothing.
fn with_cells<R>(line: &LineRef<'_>, use_cells: impl FnOnce([Cell; 16]) -> R) -> R {
    use Cell::{Count, Date, Money, Text};
    let [provider_id, drg, principal_dx, hcpcs] =
        [line.provider_id, line.drg, line.principal_dx, line.hcpcs].map(Option::unwrap_or_default);
    use_cells([
        Text(&line.claim_id),
        Count(line.line_number),
        Text(&line.beneficiary_id),
        Text(&line.claim_type),
        Date(Some(line.from_date)),
        Date(Some(line.thru_date)),
        Money(Some(line.allowed)),
        Text(&line.record_type.code()),
        Date(Some(line.processed_date)),
        Date(Some(line.admission_date)),
        Date(Some(line.discharge_date)),
        Date(Some(line.line_date)),
        Text(&provider_id),
        Text(&drg),
        Text(&principal_dx),
        Text(&hcpcs),
    ])
}

/// Writes one converted line, its [`with_cells`], in `view`.
fn write_line(out: &mut dyn Write, view: CsvView, line: &LineRef<'_>) -> io::Result<()> {
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
/// before the bad one, so the inputs are converted first, with an index
/// of each converted line's row and version beside them; when a rejected
/// row named a version, a second pass copies the converted lines, holding
/// back those of the versions named. Formatting or parsing again is never
/// needed: the second pass reads the index, not the inputs, which would
/// take as long again (issue 16).
pub fn convert(
    format: ClaimsFormat,
    files: &[PathBuf],
    out: &Path,
    how: Converting,
) -> Result<Converted, Error> {
    let rejects_path = rejects_path(out);
    refuse_inputs(files, &[out, rejects_path.as_path()])?;
    let parent = output_parent(out)?;
    // A stream (FIFO, standard input) is spooled as it is read, so that the
    // raw text of held rows can be read again from the spool.
    let mut spools = Spools::new(parent);
    how.progress.phase("converting claims");
    let mut read = read_inputs(format, files, &mut spools, out, parent, how)?;
    if !read.tainted.is_empty() {
        how.progress
            .phase("holding back the claims with rejected rows");
        hold_back(&mut read, out, parent)?;
    }
    let mut rejects_out = staged(&rejects_path, parent)?;
    let rejected = write_set_aside(
        &mut read.inputs,
        files,
        how.view,
        &mut rejects_out,
        &rejects_path,
    )?;
    persist(read.lines_out, out)?;
    persist(rejects_out, &rejects_path)?;
    Ok(Converted {
        lines: read.lines,
        rejected,
        after_cutoff: read.after_cutoff,
        rejects_path,
    })
}

fn write_error(path: &Path) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io { path, source }
}

/// A rejected row's text, or the byte offset to read it again from (a
/// held line keeps no text).
type RawText = Result<Box<[u8]>, u64>;

/// A row set aside for the rejects file: its row, why, and its text.
type SetAside = (u64, RejectReason, RawText);

/// One input as the conversion read it.
struct Input {
    /// Its claims format, `None` for a file `auto` found is not claims.
    format: Option<ClaimsFormat>,
    /// Where it can be read again: itself, or its spool.
    again: PathBuf,
    /// Its rows set aside, in no order.
    rejects: Vec<SetAside>,
}

/// What the first pass wrote and found.
struct Read {
    /// The converted lines, header first.
    lines_out: BufWriter<StagedFile>,
    /// The index of the lines in `lines_out`: see [`index_line`].
    index: BufWriter<StagedFile>,
    /// Lines in `lines_out`.
    lines: u64,
    after_cutoff: u64,
    /// The versions a rejected row named.
    tainted: HashSet<VersionKey>,
    inputs: Vec<Input>,
}

/// Reads every input once, writing its lines to a file staged for `out`
/// with their [`index_line`]s beside, and keeping its rows set aside.
fn read_inputs(
    format: ClaimsFormat,
    files: &[PathBuf],
    spools: &mut Spools,
    out: &Path,
    parent: &Path,
    how: Converting,
) -> Result<Read, Error> {
    let Converting {
        view,
        chunking,
        progress,
    } = how;
    let mut lines_out = staged(out, parent)?;
    let mut index = staged(&out.with_extension("index"), parent)?;
    let (mut lines, mut after_cutoff) = (0, 0);
    let mut tainted = HashSet::new();
    let mut inputs = Vec::with_capacity(files.len());
    let header: Vec<Cell> = COLUMNS.iter().map(|c| Cell::Text(c)).collect();
    write_row(&mut lines_out, view, &header).map_err(write_error(out))?;
    for (position, path) in files.iter().enumerate() {
        let file = u32::try_from(position).unwrap_or(u32::MAX);
        let mut source = Source::open(path, Some(spools)).map_err(|source| claims::Error::Io {
            path: path.clone(),
            source,
        })?;
        // Opened with spools, every input can be read again.
        let again = source.reread_path().unwrap_or(path).to_path_buf();
        let format = match format.detect(&mut source)? {
            Detected::Claims(format) => format,
            Detected::NotClaims(what) => {
                tracing::warn!("skipping {}: this is {what}", path.display());
                inputs.push(Input {
                    format: None,
                    again,
                    rejects: Vec::new(),
                });
                continue;
            }
        };
        // Each chunk's lines are formatted where it is parsed, in
        // parallel; the chunks' text is written in file order.
        let fold = |chunk: &mut ChunkOut, outcome: RowView<'_>| chunk.add(outcome, file, view);
        let mut rejects = Vec::new();
        let merge = |chunk: ChunkOut, bytes| -> Result<(), Error> {
            progress.add_rows(chunk.rows, bytes);
            if let Some(source) = chunk.failure {
                return Err(write_error(out)(source));
            }
            lines_out.write_all(&chunk.text).map_err(write_error(out))?;
            index.write_all(&chunk.index).map_err(write_error(out))?;
            lines += chunk.lines;
            after_cutoff += chunk.after_cutoff;
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
        inputs.push(Input {
            format: Some(format),
            again,
            rejects,
        });
    }
    Ok(Read {
        lines_out,
        index,
        lines,
        after_cutoff,
        tainted,
        inputs,
    })
}
/// What one chunk of an input converts to: the canonical text of its
/// lines, their index, and the rows set aside.
#[derive(Default)]
struct ChunkOut {
    /// The chunk's converted lines, in file order.
    text: Vec<u8>,
    /// An [`index_line`] for each line in `text`.
    index: Vec<u8>,
    /// Lines in `text`.
    lines: u64,
    /// Rows read.
    rows: u64,
    after_cutoff: u64,
    /// Rows rejected for themselves.
    rejects: Vec<SetAside>,
    /// The versions they named.
    tainted: Vec<VersionKey>,
    /// Why a line could not be formatted; the rest of the chunk is then
    /// not written.
    failure: Option<io::Error>,
}

impl ChunkOut {
    /// Adds one row's outcome, of input `file`: a line written in `view`
    /// and indexed, or a row set aside.
    fn add(&mut self, outcome: RowView<'_>, file: u32, view: CsvView) {
        self.rows += 1;
        match outcome {
            RowOutcome::Line(line) => {
                if self.failure.is_some() {
                    return;
                }
                let start = self.text.len();
                self.failure = write_line(&mut self.text, view, &line).err();
                let length = (self.text.len() - start) as u64;
                self.lines += 1;
                index_line(&mut self.index, file, &line, length);
            }
            RowOutcome::Rejected(row) => {
                self.tainted.extend(row.version);
                self.rejects.push((row.source.row, row.reason, Ok(row.raw)));
            }
            RowOutcome::AfterCutoff { .. } => self.after_cutoff += 1,
        }
    }
}

/// Appends a version's key to `out`, as the index holds it: compared as
/// bytes, equal exactly when the versions are.
fn version_bytes(
    out: &mut Vec<u8>,
    beneficiary_id: &str,
    claim_id: &str,
    processed_date: crate::model::Date,
    record_type: crate::model::RecordType,
) {
    use chrono::Datelike;
    out.extend_from_slice(record_type.code().as_bytes());
    out.extend_from_slice(&processed_date.num_days_from_ce().to_le_bytes());
    out.extend_from_slice(&(beneficiary_id.len() as u64).to_le_bytes());
    out.extend_from_slice(beneficiary_id.as_bytes());
    out.extend_from_slice(claim_id.as_bytes());
}

/// The bytes before an index entry's version key: input, row, byte
/// offset, length of the converted line, length of the key.
const INDEX_HEAD: usize = 4 + 8 * 4;

/// Appends one converted line's index entry: the input and row it came
/// from (its byte offset, to find its raw text again), how many bytes it
/// took in the converted file, and its version ([`version_bytes`]). The
/// second pass reads these beside the converted lines.
fn index_line(index: &mut Vec<u8>, file: u32, line: &LineRef<'_>, length: u64) {
    let start = index.len();
    index.extend_from_slice(&file.to_le_bytes());
    index.extend_from_slice(&line.source.row.to_le_bytes());
    index.extend_from_slice(&line.source.offset.to_le_bytes());
    index.extend_from_slice(&length.to_le_bytes());
    index.extend_from_slice(&0u64.to_le_bytes());
    let key = index.len();
    version_bytes(
        index,
        line.beneficiary_id,
        line.claim_id,
        line.processed_date,
        line.record_type,
    );
    let key_length = (index.len() - key) as u64;
    index[key - 8..key].copy_from_slice(&key_length.to_le_bytes());
    debug_assert_eq!(key - start, INDEX_HEAD);
}

/// The second pass: copies the converted lines but those of the `tainted`
/// versions, which are set aside for the rejects file of their input.
fn hold_back(read: &mut Read, out: &Path, parent: &Path) -> Result<(), Error> {
    use std::io::{BufRead, BufReader, Read as _};
    let failed = write_error(out);
    let tainted: HashSet<Vec<u8>> = read
        .tainted
        .iter()
        .map(|v| {
            let mut key = Vec::new();
            version_bytes(
                &mut key,
                &v.beneficiary_id,
                &v.claim_id,
                v.processed_date,
                v.record_type,
            );
            key
        })
        .collect();
    let open = |staged: &mut BufWriter<StagedFile>| -> io::Result<BufReader<std::fs::File>> {
        staged.flush()?;
        Ok(BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(staged.get_ref().path())?,
        ))
    };
    let mut copy = || -> io::Result<(BufWriter<StagedFile>, u64)> {
        let mut converted = open(&mut read.lines_out)?;
        let mut index = open(&mut read.index)?;
        let mut kept = BufWriter::new(StagedFile::new_in(parent, &staged_name(out))?);
        let mut text = Vec::new();
        // The header.
        converted.read_until(b'\n', &mut text)?;
        kept.write_all(&text)?;
        let (mut head, mut key) = ([0u8; INDEX_HEAD], Vec::new());
        let mut held = 0;
        while !index.fill_buf()?.is_empty() {
            index.read_exact(&mut head)?;
            let number = |at: usize| {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&head[at..at + 8]);
                u64::from_le_bytes(bytes)
            };
            let mut file = [0u8; 4];
            file.copy_from_slice(&head[..4]);
            let (row, offset, length, key_length) = (number(4), number(12), number(20), number(28));
            key.resize(usize::try_from(key_length).map_err(io::Error::other)?, 0);
            index.read_exact(&mut key)?;
            text.resize(usize::try_from(length).map_err(io::Error::other)?, 0);
            converted.read_exact(&mut text)?;
            if !tainted.contains(&key) {
                kept.write_all(&text)?;
                continue;
            }
            held += 1;
            let input = usize::try_from(u32::from_le_bytes(file)).map_err(io::Error::other)?;
            let held_row = (row, RejectReason::ClaimHasRejectedRow, Err(offset));
            match read.inputs.get_mut(input) {
                Some(input) => input.rejects.push(held_row),
                None => return Err(io::Error::other("the index names an input not read")),
            }
        }
        Ok((kept, held))
    };
    let (kept, held) = copy().map_err(failed)?;
    read.lines_out = kept;
    read.lines -= held;
    Ok(())
}

/// Writes each input's rows set aside to `out` (staged for `out_path`),
/// in row order, input after input: the raw text of held rows is read
/// again from where the input can be. Returns how many were written.
fn write_set_aside(
    inputs: &mut [Input],
    files: &[PathBuf],
    view: CsvView,
    out: &mut BufWriter<StagedFile>,
    out_path: &Path,
) -> Result<u64, Error> {
    let failed = |source| write_error(out_path)(source);
    report::write_header(out, &report::REJECTS).map_err(failed)?;
    let mut written = 0;
    for (input, path) in inputs.iter_mut().zip(files) {
        let Some(format) = input.format else { continue };
        let mut rejects = std::mem::take(&mut input.rejects);
        rejects.sort_by_key(|(row, _, _)| *row);
        let spots: Vec<(u64, u64)> = rejects
            .iter()
            .filter_map(|(row, _, raw)| raw.as_ref().err().map(|&offset| (*row, offset)))
            .collect();
        // In row order, as `again` is.
        let again = source::Input::File(input.again.clone());
        let mut raws = format.raw_rows(&again, &spots)?.into_iter();
        let file = path.display().to_string();
        for (row, reason, raw) in rejects {
            let raw = match raw {
                Ok(raw) => raw,
                Err(_) => raws.next().unwrap_or_default(),
            };
            written += 1;
            write_reject(out, view, &file, row, reason.name(), &raw).map_err(failed)?;
        }
    }
    Ok(written)
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
    let enrollment =
        beneficiaries::load(&source::Input::files(files.to_vec()), 0, &columns, format)?;
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
        for (month, row) in enrollee.months.iter() {
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
    report::write_header(&mut rejects_out, &report::REJECTS).map_err(write_error(&rejects_path))?;
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
    StagedFile::new_in(parent, &staged_name(path))
        .map(BufWriter::new)
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })
}

/// The name a file staged for `path` is made from: its own.
fn staged_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "converted".into(), |n| n.to_string_lossy().into_owned())
}

/// Moves a staged file to `path`.
fn persist(staged: BufWriter<StagedFile>, path: &Path) -> Result<(), Error> {
    let staged = staged
        .into_inner()
        .map_err(|e| write_error(path)(e.into_error()))?;
    staged.persist(path).map_err(write_error(path))
}
