//! Writing the five outputs (contract section 4), byte for byte: CSV with
//! minimal quoting and `\n` line ends, money with two decimals, and
//! `summary.json` in the contract's key order.
//!
//! Each table is described once ([`Table`]: its columns, what each holds,
//! and the function that hands its rows, as cells, to a [`RowSink`]): the
//! CSV writer and the typed writers (Parquet, Arrow, with the `parquet`
//! feature) write from the same rows, so they cannot disagree on a row or
//! its order. The tables of a true-up and of a scenario comparison are
//! described the same way beside the code that computes them
//! (`crate::runs`), and written by the same writers. Each writer takes any `io::Write`, so tests can point it at a
//! `Vec<u8>`; [`write_outputs`] puts the files in place atomically.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use rust_decimal::Decimal;

use crate::config::fingerprint::RunRecord;
use crate::engine::episodes::LedgerLine;
use crate::engine::pricing::Status;
use crate::engine::reconcile::Reconciliation;
use crate::engine::risk;
use crate::input::records::{needs_quotes, push_field};
use crate::model::money::{Money, plain};
use crate::model::warning::Warning;
use crate::model::{Date, IsoDate};
use crate::runtime::cleanup::{self, OwnerLock, TempDir};

use Cell::{Figure, Raw, Text};

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
    /// `--out` is a file (of `convert`) that exists, or its rejects file
    /// does.
    #[error("{path}: output file exists; expected a new file (use --force to replace it)")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// `--out` (of `convert`), or its rejects file, names a folder: no
    /// `--force` replaces a folder with a file.
    #[error("{path}: is a folder; expected the name of the file to write")]
    IsFolder {
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
    /// Parquet outputs asked of a build without the `parquet` feature.
    #[error("--output-format parquet: {0}")]
    WithoutParquet(#[from] crate::error::WithoutParquet),
    /// A file an output is copied from is not what this program writes
    /// ([`UnreadableSource`]).
    #[error(transparent)]
    Source(UnreadableSource),
}

/// What an output copied from an earlier run's file (`reprice` copying
/// its ledger and rejects) fails with when that file cannot be read as
/// this program wrote it: the run's data is at fault, not the write, so
/// the message names that file (and its row) rather than the output.
#[derive(Debug, thiserror::Error)]
#[error("{0}; expected the output of `episode-recon reconcile`")]
pub struct UnreadableSource(pub String);

impl UnreadableSource {
    /// `problem` (naming the file) as the `io::Error` a writer returns.
    pub fn io(problem: impl std::fmt::Display) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            UnreadableSource(problem.to_string()),
        )
    }
}

impl crate::error::Classify for Error {
    /// An `--out` the command cannot use is how it was asked; a write that
    /// fails is the environment's.
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::NotEmpty { .. }
            | Error::Exists { .. }
            | Error::IsFolder { .. }
            | Error::HoldsInput { .. } => ErrorKind::Usage,
            Error::Io { .. } => ErrorKind::Environment,
            Error::WithoutParquet(error) => error.kind(),
            Error::Source(_) => ErrorKind::InputData,
        }
    }
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

/// Refuses output files that exist, unless `force`: the files of a
/// command that writes files rather than a folder (`convert`), refused as
/// [`check_out_dir`] refuses a folder that is not empty, so no command
/// replaces earlier work silently. Called before the inputs are read.
pub fn check_out_files(files: &[&Path], force: bool) -> Result<(), Error> {
    // Whatever `force` says: it replaces a file, never a folder.
    if let Some(folder) = files.iter().find(|file| file.is_dir()) {
        return Err(Error::IsFolder {
            path: folder.to_path_buf(),
        });
    }
    if force {
        return Ok(());
    }
    match files.iter().find(|file| fs::symlink_metadata(file).is_ok()) {
        Some(file) => Err(Error::Exists {
            path: file.to_path_buf(),
        }),
        None => Ok(()),
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

/// How a run's tables are written: CSV files in a view (the contract's
/// outputs), or Parquet files (with the `parquet` feature), typed as
/// [`Table::columns`] say. `summary.json` is JSON either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// `episodes.csv` and the rest, in a view.
    Csv(CsvView),
    /// `episodes.parquet` and the rest: money Decimal128(38, 2), dates
    /// Date32, counts Int64, the rest text.
    Parquet,
}

impl OutputFormat {
    /// The extension of its table files.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Csv(_) => "csv",
            OutputFormat::Parquet => "parquet",
        }
    }

    /// The format `--output-format` names (`csv`, `parquet`), CSV in
    /// `view`; `None` for another name.
    pub fn parse(name: &str, view: CsvView) -> Option<OutputFormat> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Some(OutputFormat::Csv(view)),
            "parquet" => Some(OutputFormat::Parquet),
            _ => None,
        }
    }

    /// What every `summary.json` says of this format: `excel_safe` (true
    /// for the Excel-safe CSV view, left out otherwise) and
    /// `output_format` (`"parquet"`, left out for CSV), so a summary of
    /// exact CSV is as it was before either key.
    pub fn summary_keys(self) -> (bool, Option<&'static str>) {
        (
            self == OutputFormat::Csv(CsvView::ExcelSafe),
            (self == OutputFormat::Parquet).then_some("parquet"),
        )
    }

    /// The file name of `table` in this format (`episodes.parquet`).
    pub fn file_name<S>(self, table: &Table<'_, S>) -> String {
        format!("{}.{}", table.name, self.extension())
    }

    /// This format, or the error of a build that cannot write it.
    pub fn available(self) -> Result<OutputFormat, Error> {
        match self {
            OutputFormat::Parquet if !crate::error::PARQUET => {
                Err(crate::error::WithoutParquet.into())
            }
            other => Ok(other),
        }
    }
}

/// The CSV file of [`PARTICIPANTS`], written only when the run settles
/// participants (and read back from a run that did).
pub const PARTICIPANTS_FILE: &str = "participants.csv";

/// Writes every output into a temporary folder beside `out` and renames it
/// into place only when all are complete, so a failed run leaves nothing
/// that looks like a finished one. `view` is [`CsvView::Exact`] unless the
/// user asked for `--excel-safe`.
pub fn write_outputs(
    recon: &Reconciliation,
    out: &Path,
    force: bool,
    view: CsvView,
) -> Result<(), Error> {
    write_outputs_as(recon, out, force, OutputFormat::Csv(view))
}

/// [`write_outputs`] with the tables in `format`, in this order:
/// [`EPISODES`], [`PROVIDERS`], [`LEDGER`], [`REJECTS`] (each named after
/// its table, with the extension of `format`), `summary.json`, and
/// [`PARTICIPANTS`] when the run settles participants.
pub fn write_outputs_as(
    recon: &Reconciliation,
    out: &Path,
    force: bool,
    format: OutputFormat,
) -> Result<(), Error> {
    let format = format.available()?;
    let mut files: Vec<OutputFile> = [&EPISODES, &PROVIDERS, &LEDGER, &REJECTS]
        .into_iter()
        .map(|table| table_file(recon, table, format))
        .collect();
    files.push(OutputFile::new("summary.json", move |w| {
        write_summary_as(recon, format, w)
    }));
    if recon.participants.is_some() {
        files.push(table_file(recon, &PARTICIPANTS, format));
    }
    write_folder(out, force, &files)
}

/// The file of `table` of `source` (a run, a true-up, a comparison) in
/// `format`, named after the table.
pub fn table_file<'a, S: Sync>(
    source: &'a S,
    table: &'a Table<'a, S>,
    format: OutputFormat,
) -> OutputFile<'a> {
    let name = format.file_name(table);
    match format {
        OutputFormat::Csv(view) => {
            OutputFile::new(name, move |w| write_csv(source, table, view, w))
        }
        #[cfg(feature = "parquet")]
        OutputFormat::Parquet => OutputFile::new(name, move |w| {
            crate::output::parquet::write_table(source, table, w)
        }),
        // [`OutputFormat::available`] refused it before.
        #[cfg(not(feature = "parquet"))]
        OutputFormat::Parquet => OutputFile::new(name, |_| {
            Err(io::Error::other(crate::error::WithoutParquet))
        }),
    }
}

/// Where an output file's content goes: a file being staged (sendable,
/// as a Parquet writer needs its output to be).
pub type Output<'w> = &'w mut (dyn Write + Send);

/// What produces the content of one output file.
/// Shared between threads: the files of a folder are written at once.
type WriteContent<'a> = Box<dyn Fn(Output<'_>) -> io::Result<()> + Send + Sync + 'a>;

/// One file of an output folder: its name and what writes it.
pub struct OutputFile<'a> {
    name: String,
    content: Content<'a>,
}

/// Where an output file's bytes come from.
enum Content<'a> {
    /// A function writes them.
    Written(WriteContent<'a>),
    /// They are those of this file, unchanged: copied by the file system
    /// (`fs::copy`: in the kernel, or by sharing blocks where the file
    /// system can), never through this process. A reprice copies the
    /// run's ledger, the largest output, this way (at 4M lines a reprice
    /// then took 0.05 to 0.06 s instead of 0.06 to 0.08 s).
    Same(&'a Path),
}

impl<'a> OutputFile<'a> {
    /// A file named `name` whose content `write` produces.
    pub fn new(
        name: impl Into<String>,
        write: impl Fn(Output<'_>) -> io::Result<()> + Send + Sync + 'a,
    ) -> Self {
        OutputFile {
            name: name.into(),
            content: Content::Written(Box::new(write)),
        }
    }

    /// A file copied from `source`, an output of this program holding
    /// `table`, in `format`. A CSV source is copied unchanged in the exact
    /// view, with its text fields neutralized in the Excel-safe one
    /// ([`copy_in_view`]), its rows typed in Parquet; a Parquet source
    /// (named `.parquet`) is copied unchanged as Parquet, and written as
    /// the CSV file its rows stand for in a CSV view. Named after the
    /// table.
    pub fn copy(source: &'a Path, table: &'a Table<'a>, format: OutputFormat) -> Self {
        let name = format.file_name(table);
        let parquet = source.extension().is_some_and(|e| e == "parquet");
        let content = match (parquet, format) {
            // Unchanged: copied by the file system, not through this
            // process.
            (true, OutputFormat::Parquet) => Content::Same(source),
            (false, OutputFormat::Csv(view)) if !view.is_excel_safe() => Content::Same(source),
            (false, OutputFormat::Csv(view)) => Content::Written(Box::new(move |w| {
                let mut input = io::BufReader::new(fs::File::open(source)?);
                copy_in_view(&mut input, &table.kinds(), view, w)
            })),
            #[cfg(feature = "parquet")]
            (false, OutputFormat::Parquet) => Content::Written(Box::new(move |w| {
                let mut input = io::BufReader::new(fs::File::open(source)?);
                crate::output::parquet::copy_csv(source, &mut input, table, w)
            })),
            #[cfg(feature = "parquet")]
            (true, OutputFormat::Csv(view)) => Content::Written(Box::new(move |w| {
                crate::output::parquet::copy_to_csv(source, table, view, w)
            })),
            #[cfg(not(feature = "parquet"))]
            (false, OutputFormat::Parquet) | (true, OutputFormat::Csv(_)) => {
                Content::Written(Box::new(|_| {
                    Err(io::Error::other(crate::error::WithoutParquet))
                }))
            }
        };
        OutputFile { name, content }
    }
}

/// Writes `files` into a staging folder beside `out`, then puts it in
/// place of `out` ([`replace_dir`]): every command's outputs appear whole
/// or not at all. `out` must be new or empty unless `force`.
pub fn write_folder(out: &Path, force: bool, files: &[OutputFile]) -> Result<(), Error> {
    check_out_dir(out, force, &[])?;
    let name = out_name(out);
    let parent = crate::runtime::tunables::folder_beside(out);
    fs::create_dir_all(parent).map_err(|source| Error::Io {
        path: parent.to_owned(),
        source,
    })?;
    // `.{name}.partial-{pid}-{n}`: registered for removal on interrupt,
    // locked as this process's while it lives, removed when dropped (on
    // any error).
    let staging =
        TempDir::new_in(parent, &format!("{name}.partial")).map_err(|source| Error::Io {
            path: parent.join(format!(".{name}.partial-{}", std::process::id())),
            source,
        })?;
    write_staged(files, staging.path())?;
    replace_dir(staging, out)
}

/// The file name of `out`, for the hidden names beside it.
fn out_name(out: &Path) -> String {
    out.file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned())
}

fn write_staged(files: &[OutputFile], staging: &Path) -> Result<(), Error> {
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source: io::Error| {
            let unreadable = source
                .get_ref()
                .and_then(|e| e.downcast_ref::<UnreadableSource>());
            match unreadable {
                Some(UnreadableSource(problem)) => Error::Source(UnreadableSource(problem.clone())),
                None => Error::Io { path, source },
            }
        }
    };
    // Each file on its own thread where there is one to spare: a
    // reprice's ledger copy (in the kernel) then overlaps the writing of
    // its episodes. The first error in file order is the one reported.
    let written: Vec<Result<(), Error>> = files
        .par_iter()
        .map(|file| {
            let path = staging.join(&file.name);
            match &file.content {
                Content::Written(write) => {
                    let mut out = BufWriter::new(fs::File::create(&path).map_err(io_error(&path))?);
                    write(&mut out)
                        .and_then(|()| out.flush())
                        .map_err(io_error(&path))
                }
                Content::Same(source) => {
                    fs::copy(source, &path).map(|_| ()).map_err(io_error(&path))
                }
            }
        })
        .collect();
    written.into_iter().collect()
}

/// Puts the complete `staging` folder in place of `out`, replacing an
/// existing (empty, or `--force`d) one so that no kill, at any moment,
/// leaves a mixture that looks like a run: `out` is first moved aside
/// whole ([`set_aside`]), the staged folder renamed in ([`move_in`]), and
/// only then the old one removed ([`remove_set_aside`]). Each step is one
/// rename or one removal of a hidden folder; what a killed process leaves
/// between them is put right by the next run
/// ([`cleanup::remove_leftovers`](crate::runtime::cleanup::remove_leftovers)).
fn replace_dir(staging: TempDir, out: &Path) -> Result<(), Error> {
    let io_error = |source| Error::Io {
        path: out.to_owned(),
        source,
    };
    let aside = set_aside_path(out, std::process::id());
    let set_aside = set_aside(out, &aside).map_err(io_error)?;
    if let Err(error) = move_in(staging.path(), out) {
        // Put the earlier run back: the failed replacement changed nothing.
        if set_aside.is_some() {
            let _ = fs::rename(&aside, out);
        }
        return Err(io_error(error));
    }
    staging.keep();
    if let Some(lock) = set_aside {
        remove_set_aside(&aside, lock);
    }
    Ok(())
}

/// Where [`set_aside`] moves `out` for process `pid`: hidden, beside it.
pub fn set_aside_path(out: &Path, pid: u32) -> PathBuf {
    crate::runtime::tunables::folder_beside(out).join(cleanup::set_aside_name(&out_name(out), pid))
}

/// First step of a replacement: locks `out` as this process's and renames
/// it to `aside`; `None` when `out` does not exist (nothing to replace).
/// The lock follows the folder, so the next run knows it is in use until
/// this process has removed it or died.
pub fn set_aside(out: &Path, aside: &Path) -> io::Result<Option<OwnerLock>> {
    if fs::symlink_metadata(out).is_err() {
        return Ok(None);
    }
    let lock = OwnerLock::try_lock(out)?.ok_or_else(|| {
        io::Error::other("another process is replacing or setting aside this folder")
    })?;
    // One of this process id's, which this process is not using: left by a
    // dead process that had the same id.
    if fs::symlink_metadata(aside).is_ok() {
        fs::remove_dir_all(aside)?;
    }
    fs::rename(out, aside)?;
    Ok(Some(lock))
}

/// Second step: renames the complete staged folder to `out`, which does
/// not exist (it was set aside, or never was).
pub fn move_in(staging: &Path, out: &Path) -> io::Result<()> {
    fs::rename(staging, out)
}

/// Last step: removes the folder set aside, then lets go of its lock. A
/// failure is only logged: the new outputs are in place, and the next run
/// removes what is left.
pub fn remove_set_aside(aside: &Path, lock: OwnerLock) {
    if let Err(error) = fs::remove_dir_all(aside) {
        tracing::warn!(
            "cannot remove {}, the folder replaced: {error}",
            aside.display()
        );
    }
    drop(lock);
}

/// How the CSV outputs are written.
///
/// The contract's outputs are exact (section 4): ids, codes and rejected
/// records are written as read, so runs compare with `cmp` and can be read
/// back. A spreadsheet, though, takes a cell starting with `=`, `+`, `-` or
/// `@` for a formula, so an id such as `=HYPERLINK(...)` in a claims file
/// would run when a hospital opens `ledger.csv` in Excel. The Excel-safe
/// view (`--excel-safe`) is for those people: it alters text fields, and
/// only text fields, so that none is read as a formula; a run written so is
/// no longer exact and is not read back (RULES 33f).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CsvView {
    /// Every field as the contract says: the default.
    #[default]
    Exact,
    /// Text fields that a spreadsheet would take for a formula get a
    /// leading `'` ([`needs_neutralizing`]); figures never change.
    ExcelSafe,
}

impl CsvView {
    /// The view `--excel-safe` asks for.
    pub fn excel_safe(on: bool) -> CsvView {
        if on {
            CsvView::ExcelSafe
        } else {
            CsvView::Exact
        }
    }

    /// Whether this is the Excel-safe view.
    pub fn is_excel_safe(self) -> bool {
        self == CsvView::ExcelSafe
    }
}

/// The first characters that make a spreadsheet read a cell as a formula:
/// `=`, `+`, `-`, `@`, and TAB and CR, which some spreadsheets skip before
/// one of those (OWASP, "CSV Injection").
pub const FORMULA_STARTS: [u8; 6] = *b"=+-@\t\r";

/// The prefix the Excel-safe view puts before such a field: a spreadsheet
/// shows the rest as text and does not display the quote itself.
pub const NEUTRALIZING_PREFIX: &[u8] = b"'";

/// Whether the Excel-safe view prefixes the text field `text`: the one
/// place that decides, for every writer and for copied files alike.
pub fn needs_neutralizing(text: &[u8]) -> bool {
    text.first().is_some_and(|b| FORMULA_STARTS.contains(b))
}

/// What a column holds, which decides whether the Excel-safe view may
/// alter it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Text from an input or a setting.
    Text,
    /// A figure the engine formats.
    Figure,
}

/// One value of a CSV row. Every column must say which it is (there is no
/// conversion into a cell), because the Excel-safe view alters text and
/// must never alter a figure: a negative amount `-12.50` starts with `-`
/// as a formula does.
#[derive(Clone, Copy)]
pub enum Cell<'a> {
    /// Text from an input or a setting: ids, codes, names, periods, tracks,
    /// reasons, file paths, column labels.
    Text(&'a dyn std::fmt::Display),
    /// Text as bytes, written as it is, as one field: a rejected row's
    /// record (which may not be UTF-8), or a string in hand that needs no
    /// formatting (the ledger's ids and codes).
    Raw(&'a [u8]),
    /// A figure the engine formats itself: multipliers, prices, quality
    /// scores, and whatever has no variant of its own below.
    Figure(&'a dyn std::fmt::Display),
    /// An amount, or an empty field for `None`: a figure.
    Money(Option<Money>),
    /// A date, or an empty field for `None`: a figure.
    Date(Option<Date>),
    /// A count or a row or line number: a figure.
    Count(u64),
}

impl Cell<'_> {
    /// Text or figure.
    pub fn kind(&self) -> Kind {
        match self {
            Cell::Text(_) | Cell::Raw(_) => Kind::Text,
            Cell::Figure(_) | Cell::Money(_) | Cell::Date(_) | Cell::Count(_) => Kind::Figure,
        }
    }

    /// Appends a money, date or count cell's text to `row` without `fmt`,
    /// and says whether it did: the commonest figures of a row, whose
    /// `Display` through a formatter cost several times their digits
    /// (callgrind, a reprice's `episodes.csv`). Their text never needs
    /// quoting or a prefix: digits, `-` and `.` only, and a figure.
    fn append_figure(&self, row: &mut Vec<u8>) -> bool {
        match *self {
            Cell::Money(amount) => {
                if let Some(amount) = amount {
                    row.extend_from_slice(amount.text(&mut [0; 48]));
                }
            }
            Cell::Date(date) => {
                if let Some(date) = date {
                    match IsoDate(date).text() {
                        Some(text) => row.extend_from_slice(&text),
                        None => return false,
                    }
                }
            }
            Cell::Count(count) => {
                row.extend_from_slice(itoa::Buffer::new().format(count).as_bytes())
            }
            Cell::Text(_) | Cell::Raw(_) | Cell::Figure(_) => return false,
        }
        true
    }
}

/// The prefix a field of `kind` holding `text` gets in `view`.
fn prefix_for(view: CsvView, kind: Kind, text: &[u8]) -> &'static [u8] {
    if view.is_excel_safe() && kind == Kind::Text && needs_neutralizing(text) {
        NEUTRALIZING_PREFIX
    } else {
        b""
    }
}

/// A row being put together, as [`std::fmt::Write`]: a cell's value is
/// formatted straight into it.
struct Appending<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Appending<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

/// About the bytes of a row, to make room for one at once.
const ROW_BYTES: usize = 192;

/// Writes one CSV row, each field quoted only where needed and, in the
/// Excel-safe view, each text field that a spreadsheet would take for a
/// formula prefixed.
///
/// The row is put together in memory, each value formatted in place, and
/// written with one call: `convert` writes millions of rows, and a call on
/// `out` per field, and a copy of each value, were a third of its time
/// (issue 16). A value is moved only in the rare case it must be quoted
/// or prefixed.
pub fn write_row(out: &mut dyn Write, view: CsvView, cells: &[Cell]) -> io::Result<()> {
    let mut row = Vec::with_capacity(ROW_BYTES);
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            row.push(b',');
        }
        if cell.append_figure(&mut row) {
            continue;
        }
        match cell {
            Cell::Raw(bytes) => push_field(&mut row, prefix_for(view, cell.kind(), bytes), bytes),
            _ => {
                let start = row.len();
                append_cell(&mut row, cell)?;
                let prefix = prefix_for(view, cell.kind(), &row[start..]);
                if !prefix.is_empty() || needs_quotes(&row[start..]) {
                    let text = row.split_off(start);
                    push_field(&mut row, prefix, &text);
                }
            }
        }
    }
    row.push(b'\n');
    out.write_all(&row)
}

/// Appends the text of `cell` to `row` as the exact view has it, unquoted:
/// what a CSV field holds, and what a typed table reads its values from.
pub(crate) fn append_cell(row: &mut Vec<u8>, cell: &Cell) -> io::Result<()> {
    if cell.append_figure(row) {
        return Ok(());
    }
    let display = |row: &mut Vec<u8>, value: &dyn std::fmt::Display| {
        std::fmt::write(&mut Appending(row), format_args!("{value}")).map_err(io::Error::other)
    };
    match *cell {
        Cell::Raw(bytes) => row.extend_from_slice(bytes),
        Cell::Text(value) | Cell::Figure(value) => display(row, value)?,
        // Only a date beyond the years `IsoDate::text` writes is left here.
        Cell::Date(date) => display(row, &Optional(date.map(IsoDate)))?,
        Cell::Money(_) | Cell::Count(_) => {}
    }
    Ok(())
}

/// Copies a CSV file this program wrote exactly (a run's `ledger.csv` or
/// `rejects.csv`) into `view`, its columns being `kinds`: the header as it
/// is, and in the Excel-safe view each text field that needs it prefixed,
/// byte for byte as [`write_row`] would have written it. The file's own
/// quoting is kept, so nothing is unquoted and quoted again: a field is
/// found by counting quotes (doubled inside a quoted field, so a record
/// ends at the first line end after an even number).
pub fn copy_in_view(
    input: &mut dyn io::BufRead,
    kinds: &[Kind],
    view: CsvView,
    out: &mut dyn Write,
) -> io::Result<()> {
    if !view.is_excel_safe() {
        return io::copy(input, out).map(|_| ());
    }
    let mut record = Vec::new();
    let mut header = true;
    loop {
        record.clear();
        let mut quotes = 0;
        loop {
            let start = record.len();
            if input.read_until(b'\n', &mut record)? == 0 {
                break;
            }
            quotes += record[start..].iter().filter(|&&b| b == b'"').count();
            if quotes % 2 == 0 {
                break;
            }
        }
        if record.is_empty() {
            return Ok(());
        }
        if std::mem::take(&mut header) {
            out.write_all(&record)?;
            continue;
        }
        let body = record.strip_suffix(b"\n").unwrap_or(&record);
        let mut in_quotes = false;
        let mut start = 0;
        let mut column = 0;
        for end in 0..=body.len() {
            match body.get(end) {
                Some(b'"') => {
                    in_quotes = !in_quotes;
                    continue;
                }
                Some(b',') if !in_quotes => {}
                Some(_) => continue,
                None => {}
            }
            let raw = &body[start..end];
            let kind = kinds.get(column).copied().unwrap_or(Kind::Text);
            if column > 0 {
                out.write_all(b",")?;
            }
            match raw.strip_prefix(b"\"") {
                // Quoted: the value starts after the opening quote (a
                // doubled quote there is a value starting with `"`, which
                // is no formula).
                Some(inner) => {
                    out.write_all(b"\"")?;
                    out.write_all(prefix_for(view, kind, inner))?;
                    out.write_all(inner)?;
                }
                None => {
                    out.write_all(prefix_for(view, kind, raw))?;
                    out.write_all(raw)?;
                }
            }
            start = end + 1;
            column += 1;
        }
        if body.len() < record.len() {
            out.write_all(b"\n")?;
        }
    }
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

/// What a column of an output table holds: how a typed table (Parquet,
/// Arrow) types it, and whether the Excel-safe view may alter it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// Text from an input or a setting: ids, codes, names, reasons.
    Text,
    /// Money, with two decimals.
    Money,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// A count, a line or row number.
    Integer,
    /// A figure with a precision of its own (a risk multiplier, a target
    /// price or quality score as read): text in a typed table too, so that
    /// no digit is lost to a fixed scale.
    Decimal,
}

impl ColumnType {
    /// Text or figure, for the Excel-safe view.
    pub fn kind(self) -> Kind {
        match self {
            ColumnType::Text => Kind::Text,
            _ => Kind::Figure,
        }
    }
}

/// Where the rows of an output table go: a CSV file ([`write_csv`]), or a
/// typed table (Parquet, Arrow: `crate::output::arrow`).
pub trait RowSink {
    /// One row: its cells in the table's column order.
    fn row(&mut self, cells: &[Cell]) -> io::Result<()>;
}

/// The rows of an output table of `S`, in the contract's order, to a sink.
pub type TableRows<S> = fn(&S, &mut dyn RowSink) -> io::Result<()>;

/// One output table: its name, its columns and what they hold, and its
/// rows, from a source `S`: a run's tables (contract section 4) from its
/// [`Reconciliation`], a true-up's from the true-up, a comparison's from
/// its scenarios. The one description every format writes from: a CSV
/// file's header and cells, and a typed table's schema. The columns of a
/// run's tables are fixed (`'static`); a comparison has one per scenario.
pub struct Table<'c, S = Reconciliation> {
    /// Its file name without the extension (`episodes`).
    pub name: &'c str,
    /// Its columns, in order, and what each holds.
    pub columns: &'c [(&'c str, ColumnType)],
    /// Its rows.
    pub rows: TableRows<S>,
}

impl<S> Table<'_, S> {
    /// The CSV header: the column names joined by commas.
    pub fn header(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(name, _)| *name).collect();
        names.join(",")
    }

    /// Text or figure, column by column.
    pub fn kinds(&self) -> Vec<Kind> {
        self.columns
            .iter()
            .map(|(_, column)| column.kind())
            .collect()
    }

    /// Whether `cells` are a row of this table: one per column, text in
    /// its text columns and figures elsewhere (checked in debug builds by
    /// every sink, so a writer and its table cannot drift apart).
    pub fn fits(&self, cells: &[Cell]) -> bool {
        cells.len() == self.columns.len()
            && cells
                .iter()
                .zip(self.columns)
                .all(|(cell, (_, column))| cell.kind() == column.kind())
    }
}

impl<S> std::fmt::Debug for Table<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("name", &self.name)
            .field("columns", &self.columns)
            .finish_non_exhaustive()
    }
}

/// The rows of one CSV file, each written as [`write_row`] writes it.
pub(crate) struct CsvRows<'w, S> {
    out: &'w mut dyn Write,
    view: CsvView,
    table: &'w Table<'w, S>,
}

impl<'w, S> CsvRows<'w, S> {
    /// The rows of `table` to `out` in `view`, after its header
    /// ([`write_header_in`]).
    #[cfg(feature = "parquet")]
    pub(crate) fn new(out: &'w mut dyn Write, view: CsvView, table: &'w Table<'w, S>) -> Self {
        CsvRows { out, view, table }
    }
}

impl<S> RowSink for CsvRows<'_, S> {
    fn row(&mut self, cells: &[Cell]) -> io::Result<()> {
        debug_assert!(self.table.fits(cells), "{}", self.table.name);
        write_row(self.out, self.view, cells)
    }
}

/// Writes the header row of `table`.
pub fn write_header<S>(out: &mut dyn Write, table: &Table<'_, S>) -> io::Result<()> {
    write_header_in(out, CsvView::Exact, table)
}

/// Writes the header row of `table` in `view`: its column names are text,
/// quoted and neutralized as any (a comparison's are file paths; a run's
/// need neither, so its header is the names joined by commas).
pub fn write_header_in<S>(
    out: &mut dyn Write,
    view: CsvView,
    table: &Table<'_, S>,
) -> io::Result<()> {
    let names: Vec<Cell> = table.columns.iter().map(|(name, _)| Text(name)).collect();
    write_row(out, view, &names)
}

/// Writes `table` of `source` as a CSV file in `view`: its header, then
/// its rows.
pub fn write_csv<S>(
    source: &S,
    table: &Table<'_, S>,
    view: CsvView,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_header_in(out, view, table)?;
    (table.rows)(source, &mut CsvRows { out, view, table })
}

use ColumnType::{Date as DateColumn, Decimal as DecimalColumn, Integer, Money as MoneyColumn};

/// `episodes.csv`.
pub const EPISODES: Table<'static> = Table {
    name: "episodes",
    columns: &[
        ("episode_id", ColumnType::Text),
        ("episode_type", ColumnType::Text),
        ("beneficiary_id", ColumnType::Text),
        ("provider_id", ColumnType::Text),
        ("anchor_claim_id", ColumnType::Text),
        ("price_group", ColumnType::Text),
        ("start_date", DateColumn),
        ("end_date", DateColumn),
        ("period", ColumnType::Text),
        ("status", ColumnType::Text),
        ("claim_lines", Integer),
        ("actual_amount", MoneyColumn),
        ("capped_amount", MoneyColumn),
        ("target_amount", MoneyColumn),
        ("gain_loss", MoneyColumn),
        ("cancel_reason", ColumnType::Text),
        ("risk_levels", ColumnType::Text),
        ("risk_multiplier", DecimalColumn),
        ("target_price", DecimalColumn),
    ],
    rows: episode_rows,
};

/// `providers.csv`.
pub const PROVIDERS: Table<'static> = Table {
    name: "providers",
    columns: &[
        ("provider_id", ColumnType::Text),
        ("episode_type", ColumnType::Text),
        ("period", ColumnType::Text),
        ("episodes", Integer),
        ("target_total", MoneyColumn),
        ("actual_total", MoneyColumn),
        ("capped_total", MoneyColumn),
        ("gain_loss_total", MoneyColumn),
        ("limit", ColumnType::Text),
        ("reconciliation_amount", MoneyColumn),
    ],
    rows: provider_rows,
};

/// `ledger.csv`.
pub const LEDGER: Table<'static> = Table {
    name: "ledger",
    columns: &[
        ("episode_id", ColumnType::Text),
        ("claim_id", ColumnType::Text),
        ("line_number", Integer),
        ("claim_type", ColumnType::Text),
        ("allowed_amount", MoneyColumn),
        ("included_amount", MoneyColumn),
        ("disposition", ColumnType::Text),
        ("provider_id", ColumnType::Text),
        ("service_date", DateColumn),
    ],
    rows: ledger_rows,
};

/// `rejects.csv` (and `convert`'s rejects file): the record is text,
/// judged as one field (a spreadsheet shows it in one cell).
pub const REJECTS: Table<'static> = Table {
    name: "rejects",
    columns: &[
        ("file", ColumnType::Text),
        ("row", Integer),
        ("reason", ColumnType::Text),
        ("record", ColumnType::Text),
    ],
    rows: reject_rows,
};

/// `participants.csv`, written only with `--participants`.
pub const PARTICIPANTS: Table<'static> = Table {
    name: "participants",
    columns: &[
        ("provider_id", ColumnType::Text),
        ("period", ColumnType::Text),
        ("track", ColumnType::Text),
        ("quality_score", DecimalColumn),
        ("episodes", Integer),
        ("target_total", MoneyColumn),
        ("capped_total", MoneyColumn),
        ("reconciliation_amount", MoneyColumn),
        ("quality_adjusted_amount", MoneyColumn),
        ("limit", ColumnType::Text),
        ("net_payment_reconciliation_amount", MoneyColumn),
    ],
    rows: participant_rows,
};

/// A target price as `episodes.csv` writes it: the value as read, with at
/// least two decimals and no trailing zeros beyond (`17500` is `17500.00`,
/// `1.2500` is `1.25`, `1.005` stays). Formatted where it is written, not
/// into a `String` of its own per episode.
struct TargetPriceText(Decimal);

impl std::fmt::Display for TargetPriceText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut price = self.0.normalize();
        if price.scale() < 2 {
            price.rescale(2);
        }
        price.fmt(f)
    }
}

/// `episodes.csv`.
pub fn write_episodes(
    recon: &Reconciliation,
    view: CsvView,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_csv(recon, &EPISODES, view, out)
}

fn episode_rows(recon: &Reconciliation, out: &mut dyn RowSink) -> io::Result<()> {
    for episode in &recon.episodes {
        let e = &episode.figures;
        let canceled = e.cancel.is_some();
        // Strings in hand are given as bytes, not through `Display`: a
        // reprice writes little else (see `ledger_rows`).
        out.row(&[
            Raw(e.episode_id.as_bytes()),
            Raw(recon.types[e.episode_type].id.as_bytes()),
            Raw(e.beneficiary_id.as_bytes()),
            Raw(e.provider_id.as_bytes()),
            Raw(e.anchor_claim_id.as_bytes()),
            Raw(e.price_group.as_bytes()),
            Cell::Date(Some(e.start)),
            Cell::Date(Some(e.end)),
            Raw(episode.period.as_bytes()),
            Raw(episode.status().name().as_bytes()),
            Cell::Count(e.claim_lines),
            Cell::Money((!canceled).then_some(e.actual)),
            Cell::Money(episode.capped),
            Cell::Money(episode.priced.map(|p| p.target)),
            Cell::Money(episode.priced.map(|p| p.gain_loss)),
            Raw(e.cancel.as_ref().map_or("", |c| c.name()).as_bytes()),
            Text(&Optional(e.risk_levels.as_deref().map(risk::format_levels))),
            Figure(&Optional(episode.risk_multiplier.as_ref().map(plain))),
            Figure(&Optional(episode.target_price.map(TargetPriceText))),
        ])?;
    }
    Ok(())
}

/// `participants.csv`, written only with `--participants`.
pub fn write_participants(
    recon: &Reconciliation,
    view: CsvView,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_csv(recon, &PARTICIPANTS, view, out)
}

fn participant_rows(recon: &Reconciliation, out: &mut dyn RowSink) -> io::Result<()> {
    let Some(settled) = &recon.participants else {
        return Ok(());
    };
    for p in &settled.rows {
        out.row(&[
            Text(&p.provider_id),
            Text(&p.period),
            Text(&p.track),
            // Read as a decimal in [0, 100], written as read.
            Figure(&p.quality_score),
            Cell::Count(p.episodes),
            Cell::Money(Some(p.target_total)),
            Cell::Money(Some(p.capped_total)),
            Cell::Money(Some(p.reconciliation_amount)),
            Cell::Money(Some(p.quality_adjusted_amount)),
            Text(&p.limit.name()),
            Cell::Money(Some(p.net_payment_reconciliation_amount)),
        ])?;
    }
    Ok(())
}

/// `providers.csv`.
pub fn write_providers(
    recon: &Reconciliation,
    view: CsvView,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_csv(recon, &PROVIDERS, view, out)
}

fn provider_rows(recon: &Reconciliation, out: &mut dyn RowSink) -> io::Result<()> {
    for p in &recon.providers {
        out.row(&[
            Raw(p.provider_id.as_bytes()),
            Raw(recon.types[p.episode_type].id.as_bytes()),
            Raw(p.period.as_bytes()),
            Cell::Count(p.episodes),
            Cell::Money(Some(p.target_total)),
            Cell::Money(Some(p.actual_total)),
            Cell::Money(Some(p.capped_total)),
            Cell::Money(Some(p.gain_loss_total)),
            Raw(p.limit.name().as_bytes()),
            Cell::Money(Some(p.reconciliation_amount)),
        ])?;
    }
    Ok(())
}

/// `ledger.csv`.
pub fn write_ledger(recon: &Reconciliation, view: CsvView, out: &mut dyn Write) -> io::Result<()> {
    write_csv(recon, &LEDGER, view, out)
}

fn ledger_rows(recon: &Reconciliation, out: &mut dyn RowSink) -> io::Result<()> {
    // The texts of a ledger row are strings in hand: given as bytes, they
    // are written as they are, not through `Display` (the ledger is the
    // longest file, written on one thread while the others are done).
    let mut write_line = |episode_id: &String, line: &LedgerLine| {
        out.row(&[
            Raw(episode_id.as_bytes()),
            Raw(line.claim_id.as_bytes()),
            Cell::Count(line.line_number),
            Raw(line.claim_type.code().as_bytes()),
            Cell::Money(Some(line.allowed)),
            Cell::Money(Some(line.included)),
            Raw(line.disposition.name().as_bytes()),
            Raw(line.provider_id.as_deref().unwrap_or_default().as_bytes()),
            Cell::Date(Some(line.service_date)),
        ])
    };
    if recon.ledgers.is_empty() {
        // A run priced again from another's outputs: its ledger is that
        // run's file, copied as it is.
        return Ok(());
    }
    let mut ledgers = recon.ledgers.reader();
    let mut lines = Vec::new();
    // Episodes sharing an id (RULES 19b) are adjacent; their lines are
    // merged, so the file stays sorted by its key. Each episode's own lines
    // already are.
    for same_id in recon
        .episodes
        .chunk_by(|a, b| a.figures.episode_id == b.figures.episode_id)
    {
        // `chunk_by` yields no empty group.
        let episode_id = &same_id[0].figures.episode_id;
        lines.clear();
        for _ in same_id {
            if !ledgers.next_episode(&mut lines)? {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the ledger holds fewer episodes than the run",
                ));
            }
        }
        if same_id.len() > 1 {
            lines.sort_by(|a, b| (&a.claim_id, a.line_number).cmp(&(&b.claim_id, b.line_number)));
        }
        for line in &lines {
            write_line(episode_id, line)?;
        }
    }
    Ok(())
}

/// `rejects.csv`.
pub fn write_rejects(recon: &Reconciliation, view: CsvView, out: &mut dyn Write) -> io::Result<()> {
    write_csv(recon, &REJECTS, view, out)
}

fn reject_rows(recon: &Reconciliation, out: &mut dyn RowSink) -> io::Result<()> {
    for reject in &recon.rejects {
        let file = &recon.files[reject.file as usize];
        let reason = reject.reason.name();
        out.row(&reject_cells(file, &reject.row, &reason, &reject.record))?;
    }
    Ok(())
}

/// The cells of one row of a rejects file; `record` is kept as the file
/// had it, its bytes kept even when they are not UTF-8 (RULES 3).
fn reject_cells<'a>(
    file: &'a dyn std::fmt::Display,
    row: &'a u64,
    reason: &'a dyn std::fmt::Display,
    record: &'a [u8],
) -> [Cell<'a>; 4] {
    [Text(file), Figure(row), Text(reason), Raw(record)]
}

/// One row of a rejects file in `view` (`convert` writes its rejects
/// file row by row).
pub fn write_reject(
    out: &mut dyn Write,
    view: CsvView,
    file: &str,
    row: u64,
    reason: &str,
    record: &[u8],
) -> io::Result<()> {
    let file: &dyn std::fmt::Display = &file;
    let reason: &dyn std::fmt::Display = &reason;
    let cells = reject_cells(file, &row, reason, record);
    CsvRows {
        out,
        view,
        table: &REJECTS,
    }
    .row(&cells)
}

/// Money as the summary writes it: a string with two decimals.
fn text(money: Money) -> String {
    money.to_string()
}

#[derive(Serialize)]
struct Summary {
    as_of: Option<String>,
    rows: Breakdown<u64>,
    amounts: Breakdown<String>,
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
    /// Added after `run`: what the run read but most likely was not meant
    /// (RULES 48); absent when there is none, so a run without any is as
    /// before.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<WarningEntry>,
    /// `true` when the CSV outputs were written with `--excel-safe` (their
    /// text altered, so the run is not read back); absent otherwise, so an
    /// exact run's summary is as before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    excel_safe: bool,
    /// `"parquet"` when the tables were written as Parquet (the run is then
    /// read back from them, RULES 52); absent for CSV, so a CSV run's
    /// summary is as before.
    #[serde(skip_serializing_if = "Option::is_none")]
    output_format: Option<&'static str>,
}

/// A warning as every `summary.json` lists it.
#[derive(Serialize)]
pub struct WarningEntry {
    kind: &'static str,
    file: String,
    detail: String,
}

impl WarningEntry {
    /// The entry of `warning`.
    pub fn of(warning: &Warning) -> WarningEntry {
        WarningEntry {
            kind: warning.kind.name(),
            file: warning.file.clone(),
            detail: warning.detail.clone(),
        }
    }
}

#[derive(Serialize)]
struct Breakdown<T> {
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
fn summary(recon: &Reconciliation, format: OutputFormat) -> Summary {
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
            counts.count(episode.status());
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
        episodes.count(episode.status());
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
        rows: Breakdown {
            read: a.read.rows,
            rejected: a.rejected.rows,
            after_cutoff: a.after_cutoff.rows,
            void: a.void.rows,
            superseded: a.superseded.rows,
            final_action: a.final_action.rows,
            adds_up: rows_add_up,
        },
        amounts: Breakdown {
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
        warnings: recon.warnings.iter().map(WarningEntry::of).collect(),
        excel_safe: format.summary_keys().0,
        output_format: format.summary_keys().1,
    }
}

/// `summary.json`.
pub fn write_summary(recon: &Reconciliation, view: CsvView, out: &mut dyn Write) -> io::Result<()> {
    write_summary_as(recon, OutputFormat::Csv(view), out)
}

/// `summary.json` of a run whose tables are written in `format`.
pub fn write_summary_as(
    recon: &Reconciliation,
    format: OutputFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_json(out, &summary(recon, format))
}

/// Writes a JSON document as every summary is written: two-space indent,
/// keys in declaration order, a final line end.
pub fn write_json(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// Whether the run's accounting adds up (the summary's `check`).
pub fn check(recon: &Reconciliation) -> bool {
    summary(recon, OutputFormat::Csv(CsvView::Exact)).check
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder's files and their contents, hidden entries included.
    fn listing(dir: &Path) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let text = fs::read_to_string(e.path()).unwrap_or_else(|_| "<folder>".into());
                (e.file_name().into_string().unwrap(), text)
            })
            .collect();
        files.sort();
        files
    }

    /// A `--force`d replacement killed after each of its steps: once the
    /// next run has removed what the dead process left, `--out` is the
    /// earlier run whole or the new one whole, never a mixture, never
    /// missing, and nothing hidden is left.
    #[cfg(unix)]
    #[test]
    fn a_replacement_killed_after_any_step_leaves_one_whole_run() {
        let dead = crate::runtime::cleanup::dead_pid();
        let old = [("episodes.csv", "old"), ("participants.csv", "old")];
        let new = [("episodes.csv", "new"), ("ledger.csv", "new")];
        let as_listing = |files: &[(&str, &str)]| -> Vec<(String, String)> {
            files
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect()
        };
        for steps in 0..=3 {
            let parent = tempfile::tempdir().unwrap();
            let out = parent.path().join("run");
            fs::create_dir(&out).unwrap();
            for (name, text) in old {
                fs::write(out.join(name), text).unwrap();
            }
            // Staged whole, by the dead process.
            let staging = parent.path().join(format!(".run.partial-{dead}-0"));
            fs::create_dir(&staging).unwrap();
            for (name, text) in new {
                fs::write(staging.join(name), text).unwrap();
            }
            let aside = set_aside_path(&out, dead);
            assert_eq!(aside, parent.path().join(format!(".run.replaced-{dead}")));
            if steps >= 1 {
                // The lock is dropped at the end of the step: the process died.
                let lock = set_aside(&out, &aside).unwrap().unwrap();
                if steps >= 2 {
                    move_in(&staging, &out).unwrap();
                }
                if steps >= 3 {
                    remove_set_aside(&aside, lock);
                }
            }
            crate::runtime::cleanup::remove_leftovers(parent.path());
            let expected = if steps >= 2 { &new[..] } else { &old[..] };
            assert_eq!(listing(&out), as_listing(expected), "after {steps} step(s)");
            assert_eq!(
                listing(parent.path()),
                [("run".to_owned(), "<folder>".to_owned())],
                "after {steps} step(s)"
            );
        }
    }

    /// Replacing a folder with `force` leaves the new outputs only, and no
    /// staging or set-aside folder.
    #[test]
    fn a_forced_write_replaces_the_folder_whole() {
        let parent = tempfile::tempdir().unwrap();
        let out = parent.path().join("run");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("participants.csv"), "old").unwrap();
        let files = [OutputFile::new("episodes.csv", |w| w.write_all(b"new"))];
        assert!(matches!(
            write_folder(&out, false, &files),
            Err(Error::NotEmpty { .. })
        ));
        write_folder(&out, true, &files).unwrap();
        assert_eq!(
            listing(&out),
            [("episodes.csv".to_owned(), "new".to_owned())]
        );
        assert_eq!(
            listing(parent.path()),
            [("run".to_owned(), "<folder>".to_owned())]
        );
    }

    /// The files of a folder are written at once, but when several fail
    /// the error reported is the first file's, whichever thread failed
    /// first, and nothing is put in place.
    #[test]
    fn the_first_files_error_is_reported_and_nothing_written() {
        let parent = tempfile::tempdir().unwrap();
        let out = parent.path().join("run");
        let fail = |what: &'static str| move |_: Output<'_>| Err(io::Error::other(what));
        let files = [
            OutputFile::new("episodes.csv", |w| w.write_all(b"fine")),
            OutputFile::new("providers.csv", fail("first")),
            OutputFile::new("ledger.csv", fail("second")),
            OutputFile::new("rejects.csv", fail("third")),
        ];
        for _ in 0..20 {
            match write_folder(&out, false, &files) {
                Err(Error::Io { path, source }) => {
                    assert!(path.ends_with("providers.csv"), "{path:?}");
                    assert_eq!(source.to_string(), "first");
                }
                other => panic!("expected the providers file's error, got {other:?}"),
            }
            assert_eq!(listing(parent.path()), []);
        }
    }

    fn row_in(view: CsvView, cells: &[Cell]) -> String {
        let mut out = Vec::new();
        write_row(&mut out, view, cells).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Money, dates and counts written without `fmt` read as their
    /// `Display` does, in either view: a negative amount is a figure, never
    /// prefixed, and `None` is an empty field.
    #[test]
    fn typed_figures_write_as_their_display() {
        let date = Date::from_ymd_opt(2026, 3, 9).unwrap();
        let amounts = [
            Money::from_cents(-1250),
            Money::ZERO,
            Money::from_cents(i128::MIN),
        ];
        for view in [CsvView::Exact, CsvView::ExcelSafe] {
            for amount in amounts {
                let typed = [
                    Cell::Money(Some(amount)),
                    Cell::Date(Some(date)),
                    Cell::Count(42),
                ];
                let shown = [Figure(&amount), Figure(&IsoDate(date)), Figure(&42u64)];
                assert_eq!(row_in(view, &typed), row_in(view, &shown));
            }
            assert_eq!(row_in(view, &[Cell::Money(None), Cell::Date(None)]), ",\n");
        }
        // A year past 9999 is left to chrono, as `IsoDate` leaves it.
        let far = Date::from_ymd_opt(10000, 1, 29).unwrap();
        assert_eq!(
            row_in(CsvView::Exact, &[Cell::Date(Some(far))]),
            row_in(CsvView::Exact, &[Figure(&IsoDate(far))])
        );
    }

    /// Every formula start is neutralized in text and left alone in
    /// figures, and nothing changes in the exact view.
    #[test]
    fn excel_safe_prefixes_text_and_never_figures() {
        let hostile = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tX", "\rX"];
        for text in hostile {
            let cells = [Text(&text), Figure(&"-12.50"), Raw(text.as_bytes())];
            let exact = row_in(CsvView::Exact, &cells);
            let safe = row_in(CsvView::ExcelSafe, &cells);
            let quoted = |t: &str| {
                if t.contains('\r') {
                    format!("\"{t}\"")
                } else {
                    t.to_owned()
                }
            };
            assert_eq!(exact, format!("{0},-12.50,{0}\n", quoted(text)));
            assert_eq!(
                safe,
                format!("{0},-12.50,{0}\n", quoted(&format!("'{text}")))
            );
        }
        let harmless = [Text(&"B1"), Text(&"'=x"), Text(&""), Figure(&"-1")];
        assert_eq!(
            row_in(CsvView::ExcelSafe, &harmless),
            row_in(CsvView::Exact, &harmless)
        );
    }

    /// The quote goes inside the CSV quoting, so a spreadsheet sees it as
    /// the cell's first character.
    #[test]
    fn excel_safe_prefix_goes_inside_the_quotes() {
        let cells = [Text(&"=HYPERLINK(\"x\"),1")];
        assert_eq!(
            row_in(CsvView::ExcelSafe, &cells),
            "\"'=HYPERLINK(\"\"x\"\"),1\"\n"
        );
        // Between other fields, which stay as they were.
        let cells = [
            Figure(&7),
            Text(&"=a,b"),
            Text(&"@c"),
            Figure(&"-1,5"),
            Text(&"d"),
        ];
        assert_eq!(row_in(CsvView::Exact, &cells), "7,\"=a,b\",@c,\"-1,5\",d\n");
        assert_eq!(
            row_in(CsvView::ExcelSafe, &cells),
            "7,\"'=a,b\",'@c,\"-1,5\",d\n"
        );
    }

    /// Copying an exact file into the Excel-safe view gives what the
    /// writer gives in that view, byte for byte; the exact view copies.
    #[test]
    fn copy_in_view_equals_writing_in_view() {
        let rows: [[&str; 4]; 5] = [
            ["=f.csv", "2", "bad_amount", "=1+1,1,B1,-3.00"],
            ["f.csv", "3", "bad_date", "\"=HYPERLINK(\"\"x\"\")\",1"],
            ["f.csv", "4", "bad_date", "\rX,\"a\nb\""],
            ["f.csv", "5", "bad_date", "-2+3"],
            ["f.csv", "6", "bad_date", ""],
        ];
        let write = |view| {
            let mut out = Vec::new();
            write_header(&mut out, &REJECTS).unwrap();
            for [file, row, reason, record] in rows {
                let row: u64 = row.parse().unwrap();
                write_reject(&mut out, view, file, row, reason, record.as_bytes()).unwrap();
            }
            out
        };
        let (exact, safe) = (write(CsvView::Exact), write(CsvView::ExcelSafe));
        assert_ne!(exact, safe);
        for (view, expected) in [(CsvView::Exact, &exact), (CsvView::ExcelSafe, &safe)] {
            let mut copied = Vec::new();
            copy_in_view(&mut exact.as_slice(), &REJECTS.kinds(), view, &mut copied).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&copied),
                String::from_utf8_lossy(expected)
            );
        }
    }
}
