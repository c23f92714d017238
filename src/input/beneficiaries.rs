//! Beneficiaries (contract 1.5): enrollment month by month, one row per
//! beneficiary and month, as CMS's Master Beneficiary Summary File holds it.
//!
//! Eligibility checks and risk factors read a beneficiary's months, so a
//! month that cannot be trusted must be *missing*, never guessed: a bad row
//! goes to `rejects.csv` like a claims row and "takes only its own month
//! down" (contract 5). The row checks run in the contract's order and the
//! first that fails is the row's reason; the checks that need all of a
//! beneficiary's rows run once every file is read, because several files
//! are one input and a beneficiary's months may be spread over them.
//!
//! A run holds millions of months, so the accepted rows are encoded, as
//! they are read, into the partitions the claims are routed to
//! ([`load_partitioned`]); past a memory budget they are handed to the
//! run to spill. The per-beneficiary checks then run one partition at a
//! time ([`Gather`]), when the run builds that partition, so no more than
//! a partition's enrollees are ever in memory. [`load`] is the same with
//! one partition, for callers that want every enrollee at once.
//!
//! Only what the definitions use is kept: the dates, the flags, and the
//! attribute columns risk factors name. A row's raw text is kept only when
//! the row is rejected by a row check; rows rejected by the per-beneficiary
//! checks are read again by offset, as claims are, so that an accepted row
//! costs no copy of its text.
//!
//! Enrollment in CMS's formats (`--beneficiaries-format`, see
//! [`crate::input::formats::enrollment`]) comes in as [`SourceRow`]s: one source
//! row mapped onto the canonical months it stands for. A canonical row is
//! read where it lies, field by field as the checks ask ([`CanonicalRow`]);
//! both are [`RowValues`], so the value checks ([`Shape::check`]) and the
//! per-beneficiary checks are the same for every format; a source row is
//! counted once and its months are accepted or rejected together.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Datelike;

use crate::runtime::codec::{Cursor, put_varint, unzigzag, zigzag};
use smallvec::SmallVec;

#[cfg(feature = "parquet")]
use crate::input::arrow::Pieces;
use crate::input::compressed::{self, Reopened};
use crate::input::formats::enrollment;
pub use crate::input::formats::enrollment::BeneficiariesFormat;
use crate::input::records::{HeaderProblem, Record, RecordReader, TextFields, find_columns};
use crate::input::source::Input;
use crate::model::outcome::RejectReason;
use crate::model::{Date, SeenDates, parse_date, same_bytes};

/// The columns with a meaning of their own, in the contract's order: the
/// two required ones, the two dates, then the five standard flags.
pub(crate) const KNOWN: [&str; 9] = [
    "beneficiary_id",
    "month",
    "birth_date",
    "death_date",
    "part_a",
    "part_b",
    "managed_care",
    "esrd",
    "dual",
];

/// `KNOWN[..REQUIRED]` must be in every header.
const REQUIRED: usize = 2;

/// `KNOWN[FIRST_FLAG..]` are the five flags every file may have.
const FIRST_FLAG: usize = 4;

/// What the definitions need from the beneficiaries files, so that only
/// that is checked and kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    /// Column names that `[eligibility]` `require`/`exclude` lists use
    /// besides the five standard flags: checked as flags where a file has
    /// them (contract 1.5: other columns are not flags unless eligibility
    /// names them). A name of a non-flag known column (`beneficiary_id`,
    /// `month`, `birth_date`, `death_date`) keeps its own meaning and is
    /// not made a flag; the definitions are where such a name is refused.
    pub extra_flags: Vec<String>,
    /// Column names that risk factors use: the only attributes kept.
    pub attributes: Vec<String>,
}

/// A calendar month, the unit of enrollment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// The year.
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// The month a date falls in.
    pub fn of(date: Date) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The month `months` before this one (`months_before` of eligibility
    /// counts back across year ends).
    pub fn minus(self, months: u32) -> Month {
        let index = i64::from(self.year) * 12 + i64::from(self.month) - 1 - i64::from(months);
        Month {
            // Beyond i32 years only for absurd inputs; clamped, not wrapped.
            year: i32::try_from(index.div_euclid(12)).unwrap_or(i32::MIN),
            // rem_euclid(12) is in 0..12, so the cast cannot truncate.
            month: index.rem_euclid(12) as u32 + 1,
        }
    }

    /// The month after this one.
    pub fn next(self) -> Month {
        if self.month >= 12 {
            Month {
                year: self.year.saturating_add(1),
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Parses the contract's `YYYY-MM` or `YYYYMM`, with a month 01 to 12.
    pub fn parse(text: &str) -> Option<Month> {
        let bytes = text.as_bytes();
        let (year, month) = match bytes.len() {
            7 if bytes[4] == b'-' => (&bytes[..4], &bytes[5..]),
            6 => (&bytes[..4], &bytes[4..]),
            _ => return None,
        };
        let digits = |s: &[u8]| -> Option<u32> {
            s.iter().try_fold(0u32, |acc, &b| {
                b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
            })
        };
        let year = i32::try_from(digits(year)?).ok()?;
        let month = digits(month)?;
        (1..=12).contains(&month).then_some(Month { year, month })
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The flags and attributes a run keeps of every month, by index: what
/// [`Columns`] asks for, resolved once per run, so that a month stores
/// only its values (a byte per flag, an interned text per attribute) and
/// a beneficiary's months take one allocation each rather than several
/// per month: a run holds millions of months.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Names {
    /// The five standard flags, then the extra flags the definitions name.
    flags: Vec<String>,
    /// The attributes asked for: each a flag (kept as `Y`/`N`) or a text
    /// of its own, by index among [`Names::texts`].
    attributes: Vec<(String, Attribute)>,
    /// How many attributes are texts.
    texts: usize,
    /// Every text attribute value read, once each; a month's text is an
    /// index into it, plus one (0 is no value).
    values: Vec<Box<str>>,
}

impl Names {
    /// What the run keeps, from what the definitions ask for. A name the
    /// definitions use as a flag that is one of the other known columns
    /// keeps its own meaning; a standard flag asked for as an attribute
    /// is kept as that flag's `Y`/`N`.
    fn of(columns: &Columns) -> Names {
        let mut flags: Vec<String> = KNOWN[FIRST_FLAG..]
            .iter()
            .map(|n| (*n).to_owned())
            .collect();
        for name in &columns.extra_flags {
            if !KNOWN.contains(&name.as_str()) && !flags.contains(name) {
                flags.push(name.clone());
            }
        }
        let mut attributes: Vec<(String, Attribute)> = Vec::new();
        let mut texts = 0;
        for name in &columns.attributes {
            if attributes.iter().any(|(n, _)| n == name) {
                continue;
            }
            let source = match flags.iter().position(|n| n == name) {
                Some(k) => Attribute::Flag(k),
                None => {
                    texts += 1;
                    Attribute::Text(texts - 1)
                }
            };
            attributes.push((name.clone(), source));
        }
        Names {
            flags,
            attributes,
            texts,
            values: Vec::new(),
        }
    }
}

/// A flag's value as a month stores it.
const ABSENT: u8 = 0;
const NO: u8 = 1;
const YES: u8 = 2;

/// One accepted month of a beneficiary: its flags and the attributes the
/// risk factors asked for.
#[derive(Clone, Copy, Debug)]
pub struct MonthRow<'a> {
    names: &'a Names,
    /// One code per flag of [`Names::flags`].
    flags: &'a [u8],
    /// One value per text attribute (see [`Names::values`]).
    texts: &'a [u32],
}

impl MonthRow<'_> {
    /// The flag `name`: `Some(true)` for `Y`, `Some(false)` for `N`, `None`
    /// when the value is empty, the column is absent or is not a flag
    /// column. Absent is not `Y` (contract 1.5), which callers decide.
    pub fn flag(&self, name: &str) -> Option<bool> {
        let k = self.names.flags.iter().position(|n| n == name)?;
        self.flag_at(k)
    }

    fn flag_at(&self, k: usize) -> Option<bool> {
        match self.flags.get(k).copied() {
            Some(YES) => Some(true),
            Some(NO) => Some(false),
            _ => None,
        }
    }

    /// The attribute `name` as trimmed text (`Y`/`N` for a flag column),
    /// `None` when empty, absent or not asked for in [`Columns`].
    pub fn attribute(&self, name: &str) -> Option<&str> {
        let (_, source) = self.names.attributes.iter().find(|(n, _)| n == name)?;
        match *source {
            Attribute::Flag(k) => self.flag_at(k).map(|yes| if yes { "Y" } else { "N" }),
            Attribute::Text(k) => {
                let value = usize::try_from(*self.texts.get(k)?).ok()?.checked_sub(1)?;
                self.names.values.get(value).map(|v| &**v)
            }
        }
    }
}

/// A beneficiary's accepted months, in month order, with their values
/// side by side (one allocation each, whatever the number of months).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Months {
    names: Arc<Names>,
    months: Box<[Month]>,
    /// `months.len() × names.flags.len()` codes.
    flags: Box<[u8]>,
    /// `months.len() × names.texts` values.
    texts: Box<[u32]>,
}

impl Months {
    /// The month `month`, when accepted.
    pub fn get(&self, month: &Month) -> Option<MonthRow<'_>> {
        let i = self.months.binary_search(month).ok()?;
        Some(self.row(i))
    }

    /// Whether `month` is accepted.
    pub fn contains_key(&self, month: &Month) -> bool {
        self.months.binary_search(month).is_ok()
    }

    /// The accepted months, in order.
    pub fn keys(&self) -> impl Iterator<Item = &Month> {
        self.months.iter()
    }

    /// Each accepted month with its row, in month order.
    pub fn iter(&self) -> impl Iterator<Item = (Month, MonthRow<'_>)> {
        (0..self.months.len()).map(|i| (self.months[i], self.row(i)))
    }

    /// How many months are accepted.
    pub fn len(&self) -> usize {
        self.months.len()
    }

    /// Whether no month is accepted.
    pub fn is_empty(&self) -> bool {
        self.months.is_empty()
    }

    /// The `i`-th month's row; `i < self.len()`.
    fn row(&self, i: usize) -> MonthRow<'_> {
        let (f, t) = (self.names.flags.len(), self.names.texts);
        MonthRow {
            names: &self.names,
            flags: self.flags.get(i * f..(i + 1) * f).unwrap_or_default(),
            texts: self.texts.get(i * t..(i + 1) * t).unwrap_or_default(),
        }
    }
}

/// A beneficiary's accepted enrollment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Enrollee {
    /// The birth date all its accepted rows agree on.
    pub birth_date: Option<Date>,
    /// The death date all its accepted rows agree on.
    pub death_date: Option<Date>,
    /// Its accepted months; a month not here is missing (never enrolled,
    /// or its row was rejected).
    pub months: Months,
}

/// A rejected beneficiaries row, as `rejects.csv` writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BeneficiaryReject {
    /// The file's index in the run (see [`load`]).
    pub file: u32,
    /// 1-based line on which the record starts.
    pub row: u64,
    /// The first check it failed.
    pub reason: RejectReason,
    /// The row as written, without its line end.
    pub record: Box<[u8]>,
}

/// Everything read from the beneficiaries files.
#[derive(Debug, Default)]
pub struct Beneficiaries {
    /// Accepted enrollment by `beneficiary_id`: all of it from [`load`];
    /// none from [`Enrollment::finish`] in a run, which uses each
    /// partition's as it builds it.
    pub enrollees: Enrollees,
    /// Rejected rows, sorted by `(file, row)`.
    pub rejects: Vec<BeneficiaryReject>,
    /// Data rows (source rows, whatever the format) read; always
    /// `accepted + rejects.len()`.
    pub read: u64,
    /// Rows whose months all became months of an enrollee (a canonical row
    /// is one month; an MBSF or DE-SynPUF row up to twelve).
    pub accepted: u64,
    /// `rejects` counted by reason.
    pub rejected_by_reason: BTreeMap<RejectReason, u64>,
    /// Every header column name of every file (trimmed), so the caller can
    /// check that each flag and factor a definition names exists somewhere
    /// (contract 1.4).
    pub columns_seen: BTreeSet<String>,
}

/// A beneficiaries file that cannot be read at all: the run stops.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A folder given does not name the files it should.
    #[error(transparent)]
    Folder(#[from] crate::input::folders::FolderError),
    /// The file or folder could not be read.
    #[error("{path}: cannot read beneficiaries file: {source}")]
    Io {
        /// The file as given.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// Standard input, a pipe or another stream named as beneficiaries:
    /// their file is read twice (its rows, then the text of those
    /// rejected), which a stream allows only once (RULES 46b).
    #[error(
        "{}: cannot read beneficiaries from {what}: their file is read twice (its rows, then the text of the rejected ones); write them to a file and give that",
        path.display()
    )]
    Stream {
        /// The input as given.
        path: PathBuf,
        /// What it is: standard input, or a pipe or device.
        what: &'static str,
    },
    /// The header cannot be used (at row 0, a table's schema).
    #[error("{path}: {}: {problem}", crate::input::claims::header_place(*row))]
    Header {
        /// The file as given.
        path: PathBuf,
        /// The header's line.
        row: u64,
        /// What is wrong and what was expected.
        problem: String,
    },
    /// A Parquet file cannot be read.
    #[error(transparent)]
    Parquet(#[from] crate::input::formats::ParquetError),
    /// Accepted rows could not be spilled past the memory limit.
    #[error("cannot spill beneficiaries rows: {source}")]
    Spill {
        /// What the spill said (it names its file).
        source: io::Error,
    },
    /// Rows this run encoded did not decode: a bug.
    #[error("internal error reading back beneficiaries rows: {problem}")]
    Internal {
        /// What was wrong, and where.
        problem: String,
    },
}

/// The names of the columns the run reads of a beneficiaries table
/// (Parquet): the contract's, and the flags and attributes the
/// definitions name; the others are not decoded.
#[cfg(feature = "parquet")]
fn reads_column(columns: &Columns, name: &str) -> bool {
    KNOWN.contains(&name)
        || columns.extra_flags.iter().any(|n| n == name)
        || columns.attributes.iter().any(|n| n == name)
}

/// A problem of the Parquet file at `path` (met by the reader the claims
/// share, which says only `Io` and `Parquet`) as a beneficiaries file's.
#[cfg(feature = "parquet")]
fn from_parquet(path: &Path) -> impl Fn(crate::input::claims::Error) -> Error + '_ {
    use crate::input::claims::Error as Claims;
    use crate::input::formats::ParquetError;
    move |error| match error {
        Claims::Io { source, .. } => Error::Io {
            path: path.to_owned(),
            source,
        },
        Claims::Parquet(error) => Error::Parquet(error),
        other => Error::Parquet(ParquetError::Unreadable {
            path: path.to_owned(),
            problem: other.to_string(),
        }),
    }
}

/// Reads and checks the beneficiaries files `paths` (already expanded, see
/// [`BeneficiariesFormat::expand`]) as one input, each in `format` (for
/// [`BeneficiariesFormat::Auto`], the format its header names), and runs
/// the per-beneficiary checks on the whole: every beneficiary's enrollment
/// in memory at once. The file index of `paths[i]` is `first_file + i`, so
/// that rejects share one numbering with the claims files before them.
/// Every data row ends up either accepted (its months are an enrollee's)
/// or in `rejects`. A run reads with [`load_partitioned`] instead, holding
/// one partition's enrollees at a time.
pub fn load(
    inputs: &[Input],
    first_file: u32,
    columns: &Columns,
    format: BeneficiariesFormat,
) -> Result<Beneficiaries, Error> {
    let mut keep = |_: &mut [Vec<u8>]| Ok(());
    let routing = Routing {
        partitions: 1,
        route: &|_| 0,
        budget: u64::MAX,
        overflow: &mut keep,
    };
    let mut enrollment = load_partitioned(inputs, first_file, columns, format, routing)?;
    let mut gather = enrollment.gather();
    for part in std::mem::take(&mut enrollment.parts) {
        gather
            .add(&part)
            .map_err(|problem| Error::Internal { problem })?;
    }
    enrollment.finish(inputs, gather.settle())
}

/// Where [`load_partitioned`] puts the rows it accepts: partitions, as the
/// claims are routed, so that a partition's enrollment is settled and used
/// when the partition is built and only then; and a memory budget past
/// which the partitions' encoded rows are handed to `overflow` (which
/// spills them) and forgotten.
pub struct Routing<'a> {
    /// How many partitions.
    pub partitions: usize,
    /// The partition of a beneficiary, below `partitions`.
    pub route: &'a dyn Fn(&str) -> usize,
    /// Bytes the partitions' buffers may take before `overflow` takes
    /// their rows.
    pub budget: u64,
    /// Takes every partition's encoded rows and frees their buffers; each
    /// buffer holds whole rows, to be read back with [`Gather::add`].
    pub overflow: &'a mut dyn FnMut(&mut [Vec<u8>]) -> io::Result<()>,
}

impl fmt::Debug for Routing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Routing")
            .field("partitions", &self.partitions)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

/// Reads and checks the beneficiaries files as [`load`] does, but leaves
/// the accepted rows, encoded, in the partitions of `routing` (or with its
/// overflow) for the per-beneficiary checks: [`Enrollment::gather`] per
/// partition, then [`Enrollment::finish`].
pub fn load_partitioned(
    inputs: &[Input],
    first_file: u32,
    columns: &Columns,
    format: BeneficiariesFormat,
    routing: Routing<'_>,
) -> Result<Enrollment, Error> {
    let mut loader = Loader {
        intake: Intake::new(columns, routing),
        columns_seen: BTreeSet::new(),
        formats: Vec::new(),
    };
    for (i, input) in inputs.iter().enumerate() {
        let file = file_index(first_file, i);
        // Without the `parquet` feature every input is a file.
        #[cfg_attr(
            not(feature = "parquet"),
            allow(clippy::infallible_destructuring_match)
        )]
        let path = match input {
            Input::File(path) => path,
            // A table held in memory is read as a Parquet file is.
            #[cfg(feature = "parquet")]
            Input::Table(table) => {
                loader.formats.push(BeneficiariesFormat::Parquet);
                loader.read_table(&**table, file, columns)?;
                loader.intake.check()?;
                continue;
            }
        };
        refuse_stream(format, path)?;
        let resolved = format.of_file(path)?;
        loader.formats.push(resolved);
        match resolved {
            BeneficiariesFormat::Canonical | BeneficiariesFormat::Auto => {
                loader.read_file(path, file, columns)?;
            }
            #[cfg(feature = "parquet")]
            BeneficiariesFormat::Parquet => {
                let parquet = crate::input::formats::parquet::ParquetFile::open(path)
                    .map_err(from_parquet(path))?;
                loader.read_table(&parquet, file, columns)?;
            }
            #[cfg(not(feature = "parquet"))]
            BeneficiariesFormat::Parquet => {
                return Err(crate::input::formats::ParquetError::WithoutParquet {
                    path: path.to_owned(),
                }
                .into());
            }
            other => {
                let Loader {
                    columns_seen,
                    intake,
                    ..
                } = &mut loader;
                let mut sink = |outcome: SourceOutcome| intake.take(file, &outcome);
                let seen = enrollment::read_file(other, path, columns, &mut sink)?;
                columns_seen.extend(seen);
            }
        }
        loader.intake.check()?;
    }
    let Intake {
        parts,
        rejects,
        read,
        accepted_empty,
        names,
        ..
    } = loader.intake;
    Ok(Enrollment {
        parts,
        names: Arc::new(names),
        rejects,
        read,
        accepted_empty,
        columns_seen: loader.columns_seen,
        formats: loader.formats,
        first_file,
        columns: columns.clone(),
    })
}

/// [`Error::Stream`] for any of `paths` (folders expanded) that `format`
/// would open twice and that cannot be: see [`refuse_stream`]. A command
/// calls it before it reads anything, claims included; [`load`] and
/// [`load_partitioned`] call it again, file by file, for every caller.
pub fn refuse_streams(format: BeneficiariesFormat, paths: &[PathBuf]) -> Result<(), Error> {
    paths
        .iter()
        .try_for_each(|path| refuse_stream(format, path))
}

/// [`Error::Stream`] for `-` (standard input, which no beneficiaries
/// reader takes), and for a pipe (`<(...)`) or a device given in a format
/// that opens its input twice (the canonical CSV and Parquet, and `auto`,
/// which opens a file to tell its format and again to read it). RIF,
/// SynPUF and CCLF files are opened once, so a pipe of them is read as
/// before (their rejected rows' text is read again only when there are
/// some). A path that cannot be looked at is left to opening it, which
/// says why in its own words.
fn refuse_stream(format: BeneficiariesFormat, path: &Path) -> Result<(), Error> {
    use BeneficiariesFormat::{Auto, Canonical, Parquet};
    let what = if path.as_os_str() == "-" {
        "standard input"
    } else if !matches!(format, Auto | Canonical | Parquet) {
        return Ok(());
    } else {
        match std::fs::metadata(path) {
            Ok(metadata) if !metadata.is_file() => "a pipe or device",
            _ => return Ok(()),
        }
    };
    Err(Error::Stream {
        path: path.to_owned(),
        what,
    })
}

/// The run's index of the `i`-th file; saturates rather than wraps for an
/// impossible number of files.
fn file_index(first_file: u32, i: usize) -> u32 {
    first_file.saturating_add(u32::try_from(i).unwrap_or(u32::MAX))
}

/// Where a source row is, to report it and to read its text again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Spot {
    file: u32,
    row: u64,
    offset: u64,
}

/// One month of a source row that passed the row checks, waiting for its
/// beneficiary's other rows. The months of one source row share its spot,
/// and stand or fall together.
#[derive(Debug)]
struct Candidate {
    spot: Spot,
    month: Month,
    birth_date: Option<Date>,
    death_date: Option<Date>,
    /// Where its values are in [`Gather`]'s arenas: the `at`-th month
    /// taken.
    at: usize,
}

/// A value of a source row as its format reads it, before the row checks
/// decide what to make of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field<T> {
    /// Nothing there: an empty field, or a column the file does not have.
    Absent,
    /// A value the format could map.
    Value(T),
    /// Something the format cannot map (an unknown code, an unreadable
    /// year or date): the row check of this field rejects the row.
    Unreadable,
}

impl<T> Field<T> {
    /// `Ok(None)` when absent, `Ok(Some)` for a value, `Err(())` when
    /// unreadable.
    fn known(self) -> Result<Option<T>, ()> {
        match self {
            Field::Absent => Ok(None),
            Field::Value(value) => Ok(Some(value)),
            Field::Unreadable => Err(()),
        }
    }
}

/// A canonical flag's text (`Y`, `N` in any case, or nothing) as a field.
pub(crate) fn flag_field(text: &str) -> Field<bool> {
    match text {
        "" => Field::Absent,
        "Y" | "y" => Field::Value(true),
        "N" | "n" => Field::Value(false),
        _ => Field::Unreadable,
    }
}

/// The flags of one month as a format reads them: inline up to 16 (the
/// five standard flags and a few a definition adds), so that checking a
/// row allocates nothing; the enrollment join costs little only if its
/// hundreds of thousands of rows do not each visit the allocator.
pub(crate) type MonthFlags = SmallVec<[Field<bool>; 16]>;

/// The months a source row holds: one for a canonical row, inline; up to
/// twelve for a yearly summary, allocated once for the year's months
/// (inline room for twelve would make every row a large value to move).
pub(crate) type RowMonths = SmallVec<[MappedMonth; 1]>;

/// A row's text attributes, inline for the few a definition names.
pub(crate) type RowTexts<'a> = SmallVec<[&'a str; 4]>;

/// One month that a source row holds, as its format maps it.
#[derive(Clone, Debug)]
pub(crate) struct MappedMonth {
    /// The month.
    pub month: Month,
    /// One value per flag of the file's [`Shape`], in its order.
    pub flags: MonthFlags,
}

/// One source row mapped onto the canonical model (contract 1.5): a
/// beneficiary, its dates, and the months the row holds (one for a
/// canonical row, up to twelve for a yearly summary). Every format hands
/// its rows to [`Shape::check`] in this form, so the contract's row checks
/// exist once, whatever the format.
#[derive(Clone, Debug)]
pub(crate) struct SourceRow<'a> {
    /// Trimmed, case kept; empty is `missing_field`.
    pub beneficiary_id: &'a str,
    /// The field the row's months come from (a canonical `month`, a
    /// summary's reference year): absent is `missing_field`, unreadable
    /// `bad_month`, whether or not the row holds any month; `months` is
    /// read only when it is a value.
    pub period: Field<()>,
    /// The birth date.
    pub birth_date: Field<Date>,
    /// The death date.
    pub death_date: Field<Date>,
    /// The months the row holds.
    pub months: RowMonths,
    /// The values of the text attributes of the file's [`Shape`], in its
    /// order: the same in every month of the row.
    pub texts: RowTexts<'a>,
}

/// A source row that passed the row checks: its dates, its months with
/// their flags (one code per flag of the run's [`Names`], month after
/// month), and its text attributes (the same in every month).
#[derive(Debug)]
pub(crate) struct Checked<'r> {
    beneficiary_id: &'r str,
    birth_date: Option<Date>,
    death_date: Option<Date>,
    /// Inline for a canonical row, as [`RowMonths`].
    months: SmallVec<[Month; 1]>,
    /// Inline for a canonical row of up to 16 flags.
    flags: SmallVec<[u8; 16]>,
    /// One per text attribute of the run, empty for no value.
    texts: RowTexts<'r>,
}

/// What one source row became, handed from a format's reader to the
/// loader: the row checks' verdict, with the row's place and text.
#[derive(Debug)]
pub(crate) struct SourceOutcome<'r> {
    /// 1-based line on which the row starts.
    pub line: u64,
    /// Byte offset of the row, to read its text again.
    pub offset: u64,
    /// The row as written, without its line end.
    pub raw: &'r [u8],
    /// The row's dates and months, or the first row check it failed.
    pub checked: Result<Checked<'r>, RejectReason>,
}

/// Where an attribute's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attribute {
    /// The flag at this index of [`Names::flags`], kept as `Y`/`N`.
    Flag(usize),
    /// The text attribute at this index (of [`Names::texts`]).
    Text(usize),
}

/// What one file's rows hold beyond the beneficiary, month and dates,
/// resolved from its header once: where its flags and text attributes go
/// among the run's [`Names`].
#[derive(Debug)]
pub(crate) struct Shape {
    /// How many flags the run keeps.
    run_flags: usize,
    /// How many text attributes the run keeps.
    run_texts: usize,
    /// For each flag the file gives (the standard ones, then the extra
    /// flags the definitions name that the file has), its index among the
    /// run's flags.
    flag_slots: Vec<Option<usize>>,
    /// For each of [`SourceRow::texts`], its index among the run's text
    /// attributes.
    text_slots: Vec<usize>,
}

/// A [`Shape`] with where its columns are in the file's header.
#[derive(Debug)]
pub(crate) struct ShapePlan {
    /// The shape.
    pub shape: Shape,
    /// Header positions of the extra flags, which follow the standard flags
    /// in [`Shape`] order; the format reads their text as canonical flags.
    pub extra_flag_columns: Vec<usize>,
    /// Header positions of the text attributes, in [`SourceRow::texts`]
    /// order.
    pub text_columns: Vec<usize>,
}

impl Shape {
    /// The shape of a file whose header is `names` and that gives the
    /// standard flags `standard` (canonical names, in [`KNOWN`] order). A
    /// column the caller relies on must be unambiguous: a name asked for
    /// that the header holds twice is the `Err`. Columns nobody asked for
    /// may repeat, as extra claims columns may.
    pub(crate) fn plan(
        standard: &[&'static str],
        names: &[&str],
        columns: &Columns,
    ) -> Result<ShapePlan, String> {
        let position = |name: &str| -> Result<Option<usize>, String> {
            let mut hits = names.iter().enumerate().filter(|(_, n)| **n == name);
            let first = hits.next().map(|(i, _)| i);
            match hits.next() {
                Some(_) => Err(name.to_owned()),
                None => Ok(first),
            }
        };
        let run = Names::of(columns);
        let mut flags: Vec<&str> = standard.to_vec();
        let mut extra_flag_columns = Vec::new();
        for name in &columns.extra_flags {
            // Standard flags are in already; the other known columns are
            // not flags whatever a definition says.
            if KNOWN.contains(&name.as_str()) || flags.contains(&name.as_str()) {
                continue;
            }
            if let Some(i) = position(name)? {
                flags.push(name);
                extra_flag_columns.push(i);
            }
        }
        let mut asked: Vec<&str> = Vec::new();
        let mut text_slots = Vec::new();
        let mut text_columns = Vec::new();
        for name in &columns.attributes {
            if asked.contains(&name.as_str()) {
                continue;
            }
            asked.push(name);
            // A flag's attribute is read from the flag's code.
            if flags.contains(&name.as_str()) || KNOWN[FIRST_FLAG..].contains(&name.as_str()) {
                continue;
            }
            let slot = run.attributes.iter().find_map(|(n, source)| match source {
                Attribute::Text(t) if n == name => Some(*t),
                _ => None,
            });
            // A run's flag the file does not have is no text either.
            if let Some(slot) = slot
                && let Some(i) = position(name)?
            {
                text_slots.push(slot);
                text_columns.push(i);
            }
        }
        let flag_slots = flags
            .iter()
            .map(|name| run.flags.iter().position(|n| n == name))
            .collect();
        Ok(ShapePlan {
            shape: Shape {
                run_flags: run.flags.len(),
                run_texts: run.texts,
                flag_slots,
                text_slots,
            },
            extra_flag_columns,
            text_columns,
        })
    }

    /// The row checks of contract 1.5 that look at values, in its order,
    /// over all the months of `row` (the first check that fails in any
    /// month names the row): `missing_field` (beneficiary or month),
    /// `bad_month`, `bad_date` (birth or death date), `bad_flag`. The
    /// record-level checks (`bad_csv`, `bad_field_count`, `bad_encoding`)
    /// come before, in the format's reader.
    pub(crate) fn check<'r>(
        &self,
        row: &mut impl RowValues<'r>,
    ) -> Result<Checked<'r>, RejectReason> {
        use RejectReason::*;
        let beneficiary_id = row.beneficiary_id();
        let period = row.period();
        if beneficiary_id.is_empty() || period == Field::Absent {
            return Err(MissingField);
        }
        if period == Field::Unreadable {
            return Err(BadMonth);
        }
        let birth_date = row.birth_date().known().map_err(|()| BadDate)?;
        let death_date = row.death_date().known().map_err(|()| BadDate)?;
        let count = row.month_count();
        let mut months = SmallVec::with_capacity(count);
        let mut flags = SmallVec::from_elem(ABSENT, count * self.run_flags);
        for m in 0..count {
            let base = m * self.run_flags;
            for j in 0..row.flag_count(m) {
                let code = match row.flag(m, j).known().map_err(|()| BadFlag)? {
                    None => ABSENT,
                    Some(false) => NO,
                    Some(true) => YES,
                };
                if let Some(slot) = self.flag_slots.get(j).copied().flatten()
                    && let Some(kept) = flags.get_mut(base + slot)
                {
                    *kept = code;
                }
            }
            months.push(row.month(m));
        }
        let mut texts: RowTexts = SmallVec::from_elem("", self.run_texts);
        for (k, &slot) in self.text_slots.iter().enumerate().take(row.text_count()) {
            if let Some(kept) = texts.get_mut(slot) {
                *kept = row.text(k);
            }
        }
        Ok(Checked {
            beneficiary_id,
            birth_date,
            death_date,
            months,
            flags,
            texts,
        })
    }
}

/// A source row's values as the row checks ([`Shape::check`]) ask for
/// them, one at a time. A format that maps its rows first hands over a
/// [`SourceRow`]; the canonical reader reads each value from the record's
/// fields when it is asked for ([`CanonicalRow`]), so that a canonical row
/// (the common case, a million a run) costs no copy of its values on its
/// way to the checks, while the checks stay one piece of code.
pub(crate) trait RowValues<'r> {
    /// Trimmed, case kept; empty is `missing_field`.
    fn beneficiary_id(&self) -> &'r str;
    /// As [`SourceRow::period`].
    fn period(&self) -> Field<()>;
    /// The birth date.
    fn birth_date(&mut self) -> Field<Date>;
    /// The death date.
    fn death_date(&mut self) -> Field<Date>;
    /// How many months the row holds; asked only when the period is a
    /// value.
    fn month_count(&self) -> usize;
    /// The `m`-th month, `m < month_count()`.
    fn month(&self, m: usize) -> Month;
    /// How many flags the `m`-th month gives, in the [`Shape`]'s order.
    fn flag_count(&self, m: usize) -> usize;
    /// The `j`-th flag of the `m`-th month.
    fn flag(&self, m: usize, j: usize) -> Field<bool>;
    /// How many text attributes the row gives, in the [`Shape`]'s order.
    fn text_count(&self) -> usize;
    /// The `k`-th text attribute.
    fn text(&self, k: usize) -> &'r str;
}

impl<'r> RowValues<'r> for SourceRow<'r> {
    fn beneficiary_id(&self) -> &'r str {
        self.beneficiary_id
    }

    fn period(&self) -> Field<()> {
        self.period
    }

    fn birth_date(&mut self) -> Field<Date> {
        self.birth_date
    }

    fn death_date(&mut self) -> Field<Date> {
        self.death_date
    }

    fn month_count(&self) -> usize {
        self.months.len()
    }

    // Past the counts, which the one caller (`Shape::check`) keeps to,
    // these give a placeholder rather than a panic: never reached.
    fn month(&self, m: usize) -> Month {
        self.months
            .get(m)
            .map_or(Month { year: 0, month: 1 }, |mapped| mapped.month)
    }

    fn flag_count(&self, m: usize) -> usize {
        self.months.get(m).map_or(0, |mapped| mapped.flags.len())
    }

    fn flag(&self, m: usize, j: usize) -> Field<bool> {
        self.months
            .get(m)
            .and_then(|mapped| mapped.flags.get(j))
            .copied()
            .unwrap_or(Field::Unreadable)
    }

    fn text_count(&self) -> usize {
        self.texts.len()
    }

    fn text(&self, k: usize) -> &'r str {
        self.texts.get(k).copied().unwrap_or_default()
    }
}

/// Where the columns sit in one canonical file's header, resolved once.
#[derive(Debug)]
struct Layout {
    width: usize,
    beneficiary_id: usize,
    month: usize,
    birth_date: Option<usize>,
    death_date: Option<usize>,
    /// Header positions of the flags, in [`Shape`] order.
    flag_columns: Vec<usize>,
    /// Header positions of the text attributes, in [`Shape`] order.
    text_columns: Vec<usize>,
    shape: Shape,
}

impl Layout {
    fn resolve(
        record: &Record,
        path: &Path,
        columns: &Columns,
        seen: &mut BTreeSet<String>,
    ) -> Result<Layout, Error> {
        let row = record.line();
        let header_error = |problem: String| Error::Header {
            path: path.to_owned(),
            row,
            problem,
        };
        let not_utf8 = || header_error("the header row is not UTF-8".into());
        let twice = |column: &str| {
            header_error(format!(
                "column `{column}` is named twice in the header; expected each column once"
            ))
        };
        let found = find_columns(record, &KNOWN).map_err(|problem| match problem {
            HeaderProblem::Encoding => not_utf8(),
            HeaderProblem::Duplicate(column) => twice(column),
        })?;
        let names = record
            .iter()
            .map(std::str::from_utf8)
            .collect::<Result<Vec<&str>, _>>()
            .map_err(|_| not_utf8())?;
        seen.extend(names.iter().map(|name| (*name).to_owned()));
        let required = |k: usize| {
            found[k].ok_or_else(|| {
                header_error(format!(
                    "missing required column `{}` (the header must name {})",
                    KNOWN[k],
                    KNOWN[..REQUIRED].join(", ")
                ))
            })
        };
        let beneficiary_id = required(0)?;
        let month = required(1)?;
        let standard: Vec<(&'static str, usize)> = KNOWN[FIRST_FLAG..]
            .iter()
            .zip(&found[FIRST_FLAG..])
            .filter_map(|(name, index)| index.map(|i| (*name, i)))
            .collect();
        let names_only: Vec<&'static str> = standard.iter().map(|(n, _)| *n).collect();
        let plan = Shape::plan(&names_only, &names, columns).map_err(|name| twice(&name))?;
        let mut flag_columns: Vec<usize> = standard.iter().map(|(_, i)| *i).collect();
        flag_columns.extend(plan.extra_flag_columns);
        Ok(Layout {
            width: record.len(),
            beneficiary_id,
            month,
            birth_date: found[2],
            death_date: found[3],
            flag_columns,
            text_columns: plan.text_columns,
            shape: plan.shape,
        })
    }

    /// The record-level row checks, then the value checks on the record's
    /// fields as a row of one month.
    fn check<'r>(
        &self,
        record: &'r Record,
        dates: &mut SeenDates,
    ) -> Result<Checked<'r>, RejectReason> {
        use RejectReason::*;
        if !record.is_complete() {
            return Err(BadCsv);
        }
        if record.len() != self.width {
            return Err(BadFieldCount);
        }
        let Some(fields) = record.text() else {
            return Err(BadEncoding);
        };
        let month = match fields.get(self.month).unwrap_or_default() {
            "" => None,
            given => Some(Month::parse(given)),
        };
        self.shape.check(&mut CanonicalRow {
            layout: self,
            fields,
            month,
            dates,
        })
    }
}

/// A canonical record's fields as the row checks read them: one month,
/// each value read from its field when the checks ask for it.
struct CanonicalRow<'r, 'a> {
    layout: &'a Layout,
    fields: TextFields<'r>,
    /// The `month` field: `None` when empty, `Some(None)` when it is not
    /// a month.
    month: Option<Option<Month>>,
    dates: &'a mut SeenDates,
}

impl<'r> CanonicalRow<'r, '_> {
    fn field(&self, column: usize) -> &'r str {
        self.fields.get(column).unwrap_or_default()
    }

    fn date(&mut self, column: Option<usize>) -> Field<Date> {
        match column.map_or("", |i| self.field(i)) {
            "" => Field::Absent,
            given => self
                .dates
                .parse(given.as_bytes(), parse_date)
                .map_or(Field::Unreadable, Field::Value),
        }
    }
}

impl<'r> RowValues<'r> for CanonicalRow<'r, '_> {
    fn beneficiary_id(&self) -> &'r str {
        self.field(self.layout.beneficiary_id)
    }

    fn period(&self) -> Field<()> {
        match self.month {
            None => Field::Absent,
            Some(None) => Field::Unreadable,
            Some(Some(_)) => Field::Value(()),
        }
    }

    fn birth_date(&mut self) -> Field<Date> {
        self.date(self.layout.birth_date)
    }

    fn death_date(&mut self) -> Field<Date> {
        self.date(self.layout.death_date)
    }

    fn month_count(&self) -> usize {
        usize::from(matches!(self.month, Some(Some(_))))
    }

    fn month(&self, _: usize) -> Month {
        // Asked only when `month_count` is 1, so the month is there.
        self.month.flatten().unwrap_or(Month { year: 0, month: 1 })
    }

    fn flag_count(&self, _: usize) -> usize {
        self.layout.flag_columns.len()
    }

    fn flag(&self, _: usize, j: usize) -> Field<bool> {
        self.layout
            .flag_columns
            .get(j)
            .map_or(Field::Absent, |&i| flag_field(self.field(i)))
    }

    fn text_count(&self) -> usize {
        self.layout.text_columns.len()
    }

    fn text(&self, k: usize) -> &'r str {
        self.layout
            .text_columns
            .get(k)
            .map_or("", |&i| self.field(i))
    }
}

/// The state between the files of one input.
struct Loader<'a> {
    intake: Intake<'a>,
    columns_seen: BTreeSet<String>,
    /// Each file's resolved format, to read rejected rows again.
    formats: Vec<BeneficiariesFormat>,
}

/// The rows taken so far: the accepted ones encoded into their
/// beneficiary's partition (a run holds millions of months, so an
/// accepted row costs its values' bytes and no allocation of its own),
/// and the rejects.
struct Intake<'a> {
    routing: Routing<'a>,
    /// Encoded rows per partition (see [`encode_row`]).
    parts: Vec<Vec<u8>>,
    /// Each partition's last row, which the next is encoded against
    /// while the partition's bytes are not emptied by a spill.
    last_rows: Vec<LastRow>,
    /// Bytes `parts` have room for (what they take of memory), against
    /// the routing's budget; the overflow frees them.
    held: u64,
    rejects: Vec<BeneficiaryReject>,
    read: u64,
    /// Source rows that passed the row checks holding no month: accepted
    /// at once, as no later check can concern them.
    accepted_empty: u64,
    /// What the run keeps of a month, and the text values seen.
    names: Names,
    /// Each text value's index in `names.values`.
    interned: rustc_hash::FxHashMap<Box<str>, u32>,
    /// The first failure of `routing.overflow`; nothing is spilled after
    /// it, and the load stops with it at the end of the file.
    failed: Option<io::Error>,
    /// The last row's beneficiary and partition: a beneficiary's months
    /// come row after row, so most rows route without hashing.
    last_route: (String, usize),
    /// One row's text values, interned, its room kept from row to row.
    text_ids: Vec<u32>,
    /// The birth and death dates read, by text: a beneficiary's rows
    /// repeat them.
    dates: SeenDates,
}

impl<'a> Intake<'a> {
    fn new(columns: &Columns, routing: Routing<'a>) -> Intake<'a> {
        Intake {
            parts: vec![Vec::new(); routing.partitions.max(1)],
            last_rows: vec![LastRow::default(); routing.partitions.max(1)],
            routing,
            held: 0,
            rejects: Vec::new(),
            read: 0,
            accepted_empty: 0,
            names: Names::of(columns),
            interned: rustc_hash::FxHashMap::default(),
            failed: None,
            last_route: (String::new(), 0),
            text_ids: Vec::new(),
            dates: SeenDates::default(),
        }
    }

    /// A text attribute's value as a month stores it: 0 for none, else
    /// one more than its index among the values seen.
    fn intern(&mut self, text: &str) -> u32 {
        if text.is_empty() {
            return 0;
        }
        if let Some(&id) = self.interned.get(text) {
            return id;
        }
        self.names.values.push(text.into());
        // More distinct values than u32 can count would not fit in memory
        // as months either; saturating keeps this total.
        let id = u32::try_from(self.names.values.len()).unwrap_or(u32::MAX);
        self.interned.insert(text.into(), id);
        id
    }

    /// Whether `id` (as [`Intake::intern`] gives it) stands for `text`.
    fn is_value(&self, id: u32, text: &str) -> bool {
        match id.checked_sub(1) {
            None => text.is_empty(),
            Some(index) => self
                .names
                .values
                .get(index as usize)
                .is_some_and(|value| **value == *text),
        }
    }

    /// Checks one record of a canonical file laid out as `layout` and
    /// takes its outcome.
    fn take_record(&mut self, layout: &Layout, file: u32, record: &Record) {
        let outcome = SourceOutcome {
            line: record.line(),
            offset: record.offset(),
            raw: record.raw(),
            checked: layout.check(record, &mut self.dates),
        };
        self.take(file, &outcome);
    }

    /// Counts one source row and files its months under its beneficiary's
    /// partition, or its reject with its text.
    fn take(&mut self, file: u32, outcome: &SourceOutcome) {
        self.read += 1;
        let checked = match &outcome.checked {
            Ok(checked) => checked,
            Err(reason) => {
                let reason = *reason;
                self.rejects.push(BeneficiaryReject {
                    file,
                    row: outcome.line,
                    reason,
                    record: outcome.raw.into(),
                });
                return;
            }
        };
        if checked.months.is_empty() {
            self.accepted_empty += 1;
            return;
        }
        let spot = Spot {
            file,
            row: outcome.line,
            offset: outcome.offset,
        };
        // A beneficiary's rows repeat its values: the previous row's id
        // for the same attribute is tried before the table.
        let mut texts = std::mem::take(&mut self.text_ids);
        texts.resize(checked.texts.len(), 0);
        for (id, text) in texts.iter_mut().zip(&checked.texts) {
            if !self.is_value(*id, text) {
                *id = self.intern(text);
            }
        }
        let id = checked.beneficiary_id;
        if self.last_route.0.is_empty() || !same_bytes(self.last_route.0.as_bytes(), id.as_bytes())
        {
            let slot = (self.routing.route)(id).min(self.parts.len() - 1);
            self.last_route.0.clear();
            self.last_route.0.push_str(id);
            self.last_route.1 = slot;
        }
        let slot = self.last_route.1;
        let part = &mut self.parts[slot];
        let room = part.capacity();
        let row = Row {
            spot,
            checked,
            texts: &texts,
        };
        encode_row(part, &mut self.last_rows[slot], &row);
        self.text_ids = texts;
        self.held += (part.capacity() - room) as u64;
        if self.held > self.routing.budget && self.failed.is_none() {
            if let Err(error) = (self.routing.overflow)(&mut self.parts) {
                self.failed = Some(error);
            }
            self.held = self.parts.iter().map(|p| p.capacity() as u64).sum();
        }
    }

    /// The overflow's failure, once a file is read.
    fn check(&mut self) -> Result<(), Error> {
        match self.failed.take() {
            Some(source) => Err(Error::Spill { source }),
            None => Ok(()),
        }
    }
}

/// One accepted source row, as [`encode_row`] takes it.
struct Row<'a, 'r> {
    spot: Spot,
    checked: &'a Checked<'r>,
    /// Its text values, interned.
    texts: &'a [u32],
}

/// What a row is encoded against: the one before it in the same bytes.
#[derive(Clone, Copy, Debug, Default)]
struct LastRow {
    /// Where its id's bytes are.
    id: (usize, usize),
    row: u64,
    offset: u64,
    dates: (Option<Date>, Option<Date>),
    /// Its last month, as [`month_number`].
    month: i64,
}

/// Row header bit: the beneficiary is the previous row's.
const SAME_ID: u8 = 1;
/// Row header bit: the birth and death dates are the previous row's.
const SAME_DATES: u8 = 2;

/// Months counted from year 0, so consecutive months differ by one.
fn month_number(month: Month) -> i64 {
    i64::from(month.year) * 12 + i64::from(month.month) - 1
}

/// An optional date as a number: 0 for none, else one more than its
/// zigzagged day from the common era.
fn date_number(date: Option<Date>) -> u128 {
    date.map_or(0, |d| zigzag(i128::from(d.num_days_from_ce())) + 1)
}

/// Appends one accepted source row to `out`, against the row before it in
/// `out` (`last`, when `out` is not empty): a header byte saying whether
/// the beneficiary and the dates are the previous row's, the id unless
/// it is, the spot (file, and row and offset as differences), the two
/// dates unless they are the same, the number of months, each month as a
/// difference from the one before, the months' flags (the run's flags
/// each), and the row's text values (interned). Numbers are LEB128
/// ([`crate::runtime::codec`]): a beneficiary's twelve monthly rows take
/// some 13 bytes each after the first. Private to one run, like the
/// claims' encoding; [`Gather::add`] reads it back.
fn encode_row(out: &mut Vec<u8>, last: &mut LastRow, row: &Row<'_, '_>) {
    let fresh = out.is_empty();
    let previous = if fresh { LastRow::default() } else { *last };
    let id = row.checked.beneficiary_id.as_bytes();
    let same_id = !fresh && same_bytes(&out[previous.id.0..previous.id.0 + previous.id.1], id);
    let dates = (row.checked.birth_date, row.checked.death_date);
    let same_dates = !fresh && previous.dates == dates;
    out.push(u8::from(same_id) * SAME_ID + u8::from(same_dates) * SAME_DATES);
    let id_at = if same_id {
        previous.id
    } else {
        put_varint(out, id.len() as u128);
        let at = (out.len(), id.len());
        out.extend_from_slice(id);
        at
    };
    let spot = row.spot;
    put_varint(out, u128::from(spot.file));
    // Wrapping differences are exact for any two u64.
    put_varint(
        out,
        zigzag(i128::from(spot.row.wrapping_sub(previous.row) as i64)),
    );
    put_varint(
        out,
        zigzag(i128::from(spot.offset.wrapping_sub(previous.offset) as i64)),
    );
    if !same_dates {
        put_varint(out, date_number(dates.0));
        put_varint(out, date_number(dates.1));
    }
    put_varint(out, row.checked.months.len() as u128);
    let mut month = previous.month;
    for next in &row.checked.months {
        let number = month_number(*next);
        put_varint(out, zigzag(i128::from(number - month)));
        month = number;
    }
    out.extend_from_slice(&row.checked.flags);
    for text in row.texts {
        put_varint(out, u128::from(*text));
    }
    *last = LastRow {
        id: id_at,
        row: spot.row,
        offset: spot.offset,
        dates,
        month,
    };
}

/// The loaded enrollment before the per-beneficiary checks: every row
/// read is counted, the rejected ones kept with their text, and the
/// accepted ones encoded by partition (those the routing's overflow did
/// not take).
#[derive(Debug)]
pub struct Enrollment {
    /// Each partition's encoded rows still in memory, to be handed to
    /// [`Gather::add`] after the ones the overflow took.
    pub parts: Vec<Vec<u8>>,
    names: Arc<Names>,
    rejects: Vec<BeneficiaryReject>,
    read: u64,
    accepted_empty: u64,
    /// Every header column name of every file (trimmed), so the caller can
    /// check that each flag and factor a definition names exists somewhere
    /// (contract 1.4).
    pub columns_seen: BTreeSet<String>,
    formats: Vec<BeneficiariesFormat>,
    first_file: u32,
    /// The columns a Parquet file's rejected rows are made of.
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    columns: Columns,
}

impl Enrollment {
    /// An empty gathering of one partition's rows.
    pub fn gather(&self) -> Gather {
        Gather {
            names: Arc::clone(&self.names),
            candidates: rustc_hash::FxHashMap::default(),
            flags: Vec::new(),
            texts: Vec::new(),
            months: 0,
            row_months: Vec::new(),
        }
    }

    /// The accounting of every row once each partition's rows are
    /// `settled` (merged), with the rows the per-beneficiary checks
    /// rejected read again for their text (of a Parquet file, made of the
    /// columns it was read with). `inputs` are those it was loaded from.
    pub fn finish(self, inputs: &[Input], settled: SettledPart) -> Result<Beneficiaries, Error> {
        let SettledPart {
            enrollees,
            mut late,
            accepted,
        } = settled;
        let mut rejects = self.rejects;
        late.sort_unstable();
        for group in late.chunk_by(|a, b| a.0.file == b.0.file) {
            let file = group[0].0.file;
            let spots: Vec<(u64, u64)> = group.iter().map(|(s, _)| (s.row, s.offset)).collect();
            let index = file.checked_sub(self.first_file).map(|i| i as usize);
            let input = index.and_then(|i| inputs.get(i));
            let format = index.and_then(|i| self.formats.get(i)).copied();
            let raw = match input {
                #[cfg(feature = "parquet")]
                Some(Input::Table(table)) => table_rows(&**table, &spots, &self.columns)?,
                Some(Input::File(path)) if format == Some(BeneficiariesFormat::Rif) => {
                    lines_at(path, &spots)?
                }
                #[cfg(feature = "parquet")]
                Some(Input::File(path)) if format == Some(BeneficiariesFormat::Parquet) => {
                    let parquet = crate::input::formats::parquet::ParquetFile::open(path)
                        .map_err(from_parquet(path))?;
                    table_rows(&parquet, &spots, &self.columns)?
                }
                Some(Input::File(path)) => raw_rows(path, &spots)?,
                // Not reachable: every spot's file is one of `inputs`.
                None => vec![Box::default(); spots.len()],
            };
            for ((spot, reason), record) in group.iter().zip(raw) {
                rejects.push(BeneficiaryReject {
                    file: spot.file,
                    row: spot.row,
                    reason: *reason,
                    record,
                });
            }
        }
        rejects.sort_by_key(|r| (r.file, r.row));
        let mut rejected_by_reason = BTreeMap::new();
        for reject in &rejects {
            *rejected_by_reason.entry(reject.reason).or_insert(0) += 1;
        }
        Ok(Beneficiaries {
            enrollees,
            rejects,
            read: self.read,
            accepted: self.accepted_empty + accepted,
            rejected_by_reason,
            columns_seen: self.columns_seen,
        })
    }
}

/// One partition's accepted rows, decoded and filed by beneficiary with
/// their values in arenas, waiting for the per-beneficiary checks.
#[derive(Debug)]
pub struct Gather {
    names: Arc<Names>,
    /// By beneficiary; looked up once a row, so with a fast hash (the
    /// order is never seen: every output is sorted).
    candidates: rustc_hash::FxHashMap<String, Vec<Candidate>>,
    /// The flags of every month taken, `names.flags.len()` each.
    flags: Vec<u8>,
    /// The text attributes of every month taken, `names.texts` each.
    texts: Vec<u32>,
    /// Months taken so far.
    months: usize,
    /// One row's months before they are filed, its room kept from row
    /// to row: a vector a row was an allocation a row (a quarter of
    /// gathering's instructions, callgrind).
    row_months: Vec<Candidate>,
}

/// An optional date as [`date_number`] wrote it.
fn date_of(cursor: &mut Cursor<'_>) -> Result<Option<Date>, String> {
    match cursor.varint()? {
        0 => Ok(None),
        number => {
            let days = unzigzag(u128::from(number - 1));
            let days = i64::try_from(days).unwrap_or(i64::MAX);
            Ok(Some(cursor.date(days)?))
        }
    }
}

/// The months reserved for the first beneficiary when its first row is
/// taken (later ones get the average so far).
const MONTHS_RESERVED: usize = 12;

impl Gather {
    /// Files every row encoded in `bytes` (whole rows, as the routing's
    /// partitions held them) under its beneficiary.
    pub fn add(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut cursor = Cursor::new(bytes);
        let (f, t) = (self.names.flags.len(), self.names.texts);
        let mut last: Option<(&str, Option<Date>, Option<Date>)> = None;
        let (mut row, mut offset, mut month) = (0u64, 0u64, 0i64);
        // The months of the rows since the beneficiary last changed, filed
        // together: a beneficiary's rows come one after another, so this
        // looks each up once rather than once a row.
        let mut months = std::mem::take(&mut self.row_months);
        while !cursor.is_done() {
            let header_at = cursor.at();
            let header = cursor.u8()?;
            if header & SAME_ID == 0
                && let Some((previous, ..)) = last
            {
                self.file(previous, &mut months);
            }
            let id = match (header & SAME_ID, last) {
                (0, _) => std::str::from_utf8(cursor.bytes()?).map_err(|_| {
                    format!("byte {header_at}: an enrollment row's id is not UTF-8")
                })?,
                (_, Some((id, ..))) => id,
                (_, None) => return Err(format!("byte {header_at}: no row before to repeat")),
            };
            let file = cursor.narrow::<u32>("file")?;
            // Differences wrap, as they were taken.
            row = row.wrapping_add(cursor.difference()? as u64);
            offset = offset.wrapping_add(cursor.difference()? as u64);
            let spot = Spot { file, row, offset };
            let (birth_date, death_date) = match (header & SAME_DATES, last) {
                (0, _) => (date_of(&mut cursor)?, date_of(&mut cursor)?),
                (_, Some((_, birth, death))) => (birth, death),
                (_, None) => return Err(format!("byte {header_at}: no row before to repeat")),
            };
            last = Some((id, birth_date, death_date));
            let count = cursor.narrow::<usize>("months")?;
            let first = self.months;
            months.reserve(count.min(bytes.len()));
            for i in 0..count {
                month = month.saturating_add(cursor.difference()?);
                let at = cursor.at();
                let year = i32::try_from(month.div_euclid(12))
                    .map_err(|_| format!("byte {at}: month {month} out of range"))?;
                months.push(Candidate {
                    spot,
                    // 1 to 12.
                    month: Month {
                        year,
                        month: month.rem_euclid(12) as u32 + 1,
                    },
                    birth_date,
                    death_date,
                    at: first + i,
                });
            }
            self.flags
                .extend_from_slice(cursor.take(count.saturating_mul(f))?);
            let start = self.texts.len();
            for _ in 0..t {
                self.texts.push(cursor.narrow::<u32>("text value")?);
            }
            for _ in 1..count {
                self.texts.extend_from_within(start..start + t);
            }
            if count == 0 {
                self.texts.truncate(start);
            }
            self.months += count;
        }
        if let Some((id, ..)) = last {
            self.file(id, &mut months);
        }
        self.row_months = months;
        Ok(())
    }

    /// Files the `months` of some rows under `beneficiary_id`, leaving
    /// `months` empty.
    fn file(&mut self, beneficiary_id: &str, months: &mut Vec<Candidate>) {
        let taken = months.len();
        match self.candidates.get_mut(beneficiary_id) {
            Some(rows) => rows.append(months),
            None => {
                // Room at once for as many months as the beneficiaries so
                // far have had on average (a year before any): files give
                // most beneficiaries the same span, so this usually fits
                // exactly, where growing 1, 2, 4, 8, 16 would copy each
                // beneficiary's months four times and leave room unused.
                let average = match self.candidates.len() {
                    0 => MONTHS_RESERVED,
                    seen => (self.months - taken).div_ceil(seen),
                };
                let mut rows = Vec::with_capacity(taken.max(average));
                rows.append(months);
                self.candidates.insert(beneficiary_id.to_owned(), rows);
            }
        }
    }

    /// The per-beneficiary checks of every beneficiary gathered.
    pub fn settle(self) -> SettledPart {
        let Gather {
            names,
            candidates,
            flags,
            texts,
            ..
        } = self;
        let values = Values {
            names,
            flags,
            texts,
        };
        let mut settled = SettledPart {
            enrollees: Enrollees::with_capacity_and_hasher(candidates.len(), Default::default()),
            ..SettledPart::default()
        };
        for (beneficiary_id, rows) in candidates {
            if let Some((enrollee, rows)) = settle(rows, &values, &mut settled.late) {
                settled.accepted += rows;
                settled.enrollees.insert(beneficiary_id, enrollee);
            }
        }
        settled
    }
}

/// Accepted enrollment by `beneficiary_id` (trimmed, case kept, as the
/// claims compare it). Looked up once per beneficiary with claims, so with
/// a fast hash; the order is never seen.
pub type Enrollees = rustc_hash::FxHashMap<String, Enrollee>;

/// What the per-beneficiary checks made of some partitions' rows.
#[derive(Debug, Default)]
pub struct SettledPart {
    /// The accepted enrollment.
    pub enrollees: Enrollees,
    /// The rows rejected, with why.
    late: Vec<(Spot, RejectReason)>,
    /// Source rows accepted.
    accepted: u64,
}

impl SettledPart {
    /// Adds `other`'s rejects and counts (not its enrollees, which a run
    /// drops once its partition is built).
    pub fn merge_counts(&mut self, other: SettledPart) {
        self.late.extend(other.late);
        self.accepted += other.accepted;
    }
}

impl Loader<'_> {
    fn read_file(&mut self, path: &Path, file: u32, columns: &Columns) -> Result<(), Error> {
        let io_error = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let input = compressed::open(path).map_err(io_error)?;
        let mut reader = RecordReader::new(BufReader::with_capacity(1 << 20, input));
        let mut record = Record::default();
        if !reader.read(&mut record).map_err(io_error)? {
            return Err(Error::Header {
                path: path.to_owned(),
                row: 1,
                problem: format!(
                    "expected a header row naming {}, found an empty file",
                    KNOWN[..REQUIRED].join(", ")
                ),
            });
        }
        let layout = Layout::resolve(&record, path, columns, &mut self.columns_seen)?;
        while reader.read(&mut record).map_err(io_error)? {
            self.intake.take_record(&layout, file, &record);
        }
        Ok(())
    }

    /// Reads one table of the canonical columns (a Parquet file, or a
    /// table held in memory): its header is its column names, and each row
    /// a record made of its values, checked as a CSV row
    /// ([`crate::input::arrow`]). Its pieces are read in turn: the
    /// enrollment is read as one task beside the claims.
    #[cfg(feature = "parquet")]
    fn read_table(
        &mut self,
        input: &impl Pieces,
        file: u32,
        columns: &Columns,
    ) -> Result<(), Error> {
        let path = input.name();
        let table = table_of(input, columns)?;
        let layout = Layout::resolve(&table.header(), path, columns, &mut self.columns_seen)?;
        let intake = &mut self.intake;
        let read = input.each_record(&table, |record| {
            intake.take_record(&layout, file, record);
            Ok::<(), std::convert::Infallible>(())
        });
        let Ok(()) = read.map_err(from_parquet(path))?;
        Ok(())
    }
}

/// One beneficiary's months that passed the row checks -> its enrollment
/// and how many source rows it holds, with the source rows the contract's
/// per-beneficiary checks reject added to `late` (once each): every row
/// holding a month given twice, then all remaining rows when they disagree
/// on the dates (an empty date is a value: which row would be right cannot
/// be known, so none is trusted).
///
/// A source row's months stand or fall together: a yearly summary row
/// with one repeated month is rejected whole, as a canonical row is, so
/// that every source row is either accepted or rejected and
/// `read = accepted + rejected` counts rows of the files as given.
fn settle(
    mut rows: Vec<Candidate>,
    values: &Values,
    late: &mut Vec<(Spot, RejectReason)>,
) -> Option<(Enrollee, u64)> {
    rows.sort_unstable_by_key(|c| (c.month, c.spot));
    // Sorted vectors rather than sets: this runs once per beneficiary,
    // and most have no repeated month at all.
    let mut repeated: Vec<Spot> = rows
        .windows(2)
        .filter(|pair| pair[0].month == pair[1].month)
        .flat_map(|pair| [pair[0].spot, pair[1].spot])
        .collect();
    repeated.sort_unstable();
    repeated.dedup();
    late.extend(repeated.iter().map(|s| (*s, RejectReason::DuplicateMonth)));
    let mut kept = rows;
    if !repeated.is_empty() {
        kept.retain(|c| repeated.binary_search(&c.spot).is_err());
    }
    let mut spots: Vec<Spot> = kept.iter().map(|c| c.spot).collect();
    spots.sort_unstable();
    spots.dedup();
    let first = kept.first()?;
    let dates = (first.birth_date, first.death_date);
    if kept.iter().any(|c| (c.birth_date, c.death_date) != dates) {
        late.extend(
            spots
                .iter()
                .map(|s| (*s, RejectReason::InconsistentBeneficiary)),
        );
        return None;
    }
    let enrollee = Enrollee {
        birth_date: dates.0,
        death_date: dates.1,
        months: values.months(&kept),
    };
    Some((enrollee, spots.len() as u64))
}

/// Every month's values, as [`Gather`] gathered them, with the run's names.
struct Values {
    names: Arc<Names>,
    flags: Vec<u8>,
    texts: Vec<u32>,
}

impl Values {
    /// The months of `kept` (sorted by month, each once) with their
    /// values copied out of the arenas.
    fn months(&self, kept: &[Candidate]) -> Months {
        let (f, t) = (self.names.flags.len(), self.names.texts);
        let mut flags = Vec::with_capacity(kept.len() * f);
        let mut texts = Vec::with_capacity(kept.len() * t);
        for c in kept {
            // `at` counts the months taken, whose values were all stored.
            flags.extend_from_slice(self.flags.get(c.at * f..(c.at + 1) * f).unwrap_or_default());
            texts.extend_from_slice(self.texts.get(c.at * t..(c.at + 1) * t).unwrap_or_default());
        }
        Months {
            names: Arc::clone(&self.names),
            months: kept.iter().map(|c| c.month).collect(),
            flags: flags.into(),
            texts: texts.into(),
        }
    }
}

/// The columns of a beneficiaries table (Parquet, or held in memory) that
/// its rows are made of: those the run reads.
#[cfg(feature = "parquet")]
fn table_of(input: &impl Pieces, columns: &Columns) -> Result<crate::input::arrow::Table, Error> {
    crate::input::arrow::Table::of(&input.schema(), |name| reads_column(columns, name)).map_err(
        |problem| Error::Header {
            path: input.name().to_owned(),
            row: 0,
            problem,
        },
    )
}

/// The records at `spots` of a table (Parquet, or held in memory), found
/// by their offset (the row's 0-based index) and made as its reader made
/// them.
#[cfg(feature = "parquet")]
fn table_rows(
    input: &impl Pieces,
    spots: &[(u64, u64)],
    columns: &Columns,
) -> Result<Vec<Box<[u8]>>, Error> {
    let table = table_of(input, columns)?;
    let offsets: Vec<u64> = spots.iter().map(|&(_, offset)| offset).collect();
    crate::input::arrow::records_at(input, &table, &offsets).map_err(from_parquet(input.name()))
}

/// The lines at `spots` of a file without quoting (one row a line).
fn lines_at(path: &Path, spots: &[(u64, u64)]) -> Result<Vec<Box<[u8]>>, Error> {
    let io_error = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut input = Reopened::open(path).map_err(io_error)?;
    crate::input::records::lines_at(&mut input, spots.iter().map(|&(_, offset)| offset))
        .map_err(io_error)
}

/// The raw text of the records at `spots` (`(line, offset)`, sorted) of one
/// file, read again by seeking to each.
fn raw_rows(path: &Path, spots: &[(u64, u64)]) -> Result<Vec<Box<[u8]>>, Error> {
    let io_error = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut input = Reopened::open(path).map_err(io_error)?;
    let mut record = Record::default();
    let mut out = Vec::with_capacity(spots.len());
    for &(line, offset) in spots {
        input.seek(SeekFrom::Start(offset)).map_err(io_error)?;
        let mut reader = RecordReader::resume(&mut input, offset, line);
        // A file cut short since the first read gives an empty text rather
        // than another row's.
        let found = reader.read(&mut record).map_err(io_error)?;
        out.push(if found {
            record.raw().into()
        } else {
            Box::default()
        });
    }
    Ok(out)
}

impl crate::error::Classify for Error {
    /// The input data the user named.
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::Io { source, .. } => ErrorKind::reading(ErrorKind::InputData, source),
            Error::Folder(error) => error.kind(),
            Error::Parquet(error) => error.kind(),
            Error::Spill { .. } => ErrorKind::Environment,
            Error::Internal { .. } => ErrorKind::Internal,
            // How the input was given, not what it holds.
            Error::Stream { .. } => ErrorKind::Usage,
            _ => ErrorKind::InputData,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "beneficiary_id,month,birth_date,death_date,part_a,part_b,managed_care,esrd,dual\n";

    /// Loads `files` (written as b0.csv, b1.csv, ...) with file indexes from
    /// `first_file`; errors have the folder replaced by `DIR`. Checks that
    /// every row is counted exactly once.
    /// `files` written into `dir` as b0.csv, b1.csv, ...
    fn write_files(dir: &Path, files: &[&[u8]]) -> Vec<PathBuf> {
        files
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let path = dir.join(format!("b{i}.csv"));
                std::fs::write(&path, text).unwrap();
                path
            })
            .collect()
    }

    fn load_files(
        files: &[&[u8]],
        first_file: u32,
        columns: &Columns,
    ) -> Result<Beneficiaries, String> {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_files(dir.path(), files);
        let loaded = load(
            &Input::files(paths),
            first_file,
            columns,
            BeneficiariesFormat::Canonical,
        )
        .map_err(|e| {
            e.to_string()
                .replace(&dir.path().display().to_string(), "DIR")
        })?;
        assert_eq!(loaded.read, loaded.accepted + loaded.rejects.len() as u64);
        let months: usize = loaded.enrollees.values().map(|e| e.months.len()).sum();
        assert_eq!(loaded.accepted, months as u64);
        let counted: u64 = loaded.rejected_by_reason.values().sum();
        assert_eq!(counted, loaded.rejects.len() as u64);
        Ok(loaded)
    }

    fn load_one(text: &str, columns: &Columns) -> Beneficiaries {
        load_files(&[text.as_bytes()], 0, columns).unwrap()
    }

    fn reasons(loaded: &Beneficiaries) -> Vec<(u32, u64, &'static str)> {
        loaded
            .rejects
            .iter()
            .map(|r| (r.file, r.row, r.reason.name()))
            .collect()
    }

    fn month(text: &str) -> Month {
        Month::parse(text).unwrap()
    }

    fn date(text: &str) -> Date {
        parse_date(text.as_bytes()).unwrap()
    }

    #[test]
    fn row_checks_name_the_first_failure() {
        let mut text = HEADER.as_bytes().to_vec();
        let rows: [&[u8]; 19] = [
            b"B1,2026-01,1950-01-01,,Y,Y,N,N,N\n",
            b"B2,2026-01,1950-01-01\n",
            b"B3,2026-01,\xff,,Y,Y,N,N,N\n",
            b",2026-01,,,Y,Y,N,N,N\n",
            b"B4,,,,Y,Y,N,N,N\n",
            b"B5,2026-13,,,Y,Y,N,N,N\n",
            b"B5,2026-1,,,Y,Y,N,N,N\n",
            b"B5,202600,,,Y,Y,N,N,N\n",
            b"B5,2026/01,,,Y,Y,N,N,N\n",
            b"B6,2026-01,1950-02-30,,Y,Y,N,N,N\n",
            b"B6,2026-01,,2026-1-5,Y,Y,N,N,N\n",
            b"B7,2026-01,,,Y,Yes,N,N,N\n",
            b"B7,2026-02,,,Y,Y,N,N,1\n",
            // Two failures: the earlier check names the row.
            b"B8,2026-13,,,Y,X,N,N,N\n",
            b"B8,2026-01,1950-02-30,,X,Y,N,N,N\n",
            b"B8,,1950-02-30,,X,Y,N,N,N\n",
            b"B8,2026-01,,,X,Y\n",
            b"B9,202602,19500101,,y,n,,,\n",
            b"B10,\"2026-03\n",
        ];
        for row in rows {
            text.extend_from_slice(row);
        }
        let loaded = load_files(&[&text], 0, &Columns::default()).unwrap();
        assert_eq!(
            reasons(&loaded),
            [
                (0, 3, "bad_field_count"),
                (0, 4, "bad_encoding"),
                (0, 5, "missing_field"),
                (0, 6, "missing_field"),
                (0, 7, "bad_month"),
                (0, 8, "bad_month"),
                (0, 9, "bad_month"),
                (0, 10, "bad_month"),
                (0, 11, "bad_date"),
                (0, 12, "bad_date"),
                (0, 13, "bad_flag"),
                (0, 14, "bad_flag"),
                (0, 15, "bad_month"),
                (0, 16, "bad_date"),
                (0, 17, "missing_field"),
                (0, 18, "bad_field_count"),
                (0, 20, "bad_csv"),
            ]
        );
        assert_eq!((loaded.read, loaded.accepted), (19, 2));
        assert_eq!(&*loaded.rejects[10].record, b"B7,2026-01,,,Y,Yes,N,N,N");
        assert_eq!(&*loaded.rejects[16].record, b"B10,\"2026-03");
        assert_eq!(loaded.rejected_by_reason[&RejectReason::BadMonth], 5);
        let b9 = &loaded.enrollees["B9"];
        assert_eq!(b9.birth_date, Some(date("1950-01-01")));
        assert_eq!(
            b9.months.keys().copied().collect::<Vec<_>>(),
            [Month {
                year: 2026,
                month: 2
            }]
        );
    }

    #[test]
    fn bom_crlf_and_blank_lines_keep_row_numbers() {
        let loaded = load_one(
            "\u{feff}beneficiary_id,month\r\n\r\nB1,2026-01\r\n\r\nB1,2026-02x\r\n",
            &Columns::default(),
        );
        assert_eq!(reasons(&loaded), [(0, 5, "bad_month")]);
        assert_eq!(&*loaded.rejects[0].record, b"B1,2026-02x");
        assert!(
            loaded.enrollees["B1"]
                .months
                .contains_key(&month("2026-01"))
        );
    }

    /// Loads `files` as a run does: routed into `partitions` by the id's
    /// last byte, every row handed to the overflow (a budget of nothing),
    /// then each partition gathered from its spilled blocks and settled.
    fn load_spilled(
        dir: &Path,
        files: &[&[u8]],
        partitions: usize,
        columns: &Columns,
    ) -> Beneficiaries {
        let inputs = Input::files(write_files(dir, files));
        let mut spilled: Vec<Vec<Vec<u8>>> = vec![Vec::new(); partitions];
        let mut overflow = |parts: &mut [Vec<u8>]| {
            for (blocks, part) in spilled.iter_mut().zip(parts) {
                if !part.is_empty() {
                    blocks.push(std::mem::take(part));
                }
            }
            Ok(())
        };
        let route = |id: &str| usize::from(id.bytes().last().unwrap_or(0)) % partitions;
        let routing = Routing {
            partitions,
            route: &route,
            budget: 0,
            overflow: &mut overflow,
        };
        let mut enrollment =
            load_partitioned(&inputs, 0, columns, BeneficiariesFormat::Canonical, routing).unwrap();
        let mut all = SettledPart::default();
        let mut enrollees = Enrollees::default();
        for (blocks, tail) in spilled.iter().zip(std::mem::take(&mut enrollment.parts)) {
            let mut gather = enrollment.gather();
            for block in blocks.iter().chain([&tail]) {
                gather.add(block).unwrap();
            }
            let mut settled = gather.settle();
            enrollees.extend(std::mem::take(&mut settled.enrollees));
            all.merge_counts(settled);
        }
        let mut loaded = enrollment.finish(&inputs, all).unwrap();
        loaded.enrollees = enrollees;
        loaded
    }

    #[test]
    fn partitioned_and_spilled_rows_settle_as_one_load() {
        let columns = Columns {
            extra_flags: vec!["frail".into()],
            attributes: vec!["region".into(), "dual".into()],
        };
        let first = "beneficiary_id,month,birth_date,death_date,part_a,dual,frail,region\n\
             B1,2026-01,1940-01-01,,Y,N,Y,north\nB1,2026-02,1950-01-01,,Y,Y,,south\n\
             B2,2026-01,1960-01-01,,Y,N,N,\nB3,2026-01,1961-01-01,,Y,N,N,west\n\
             B3,2026-02,1962-01-01,,Y,N,N,west\nB4,2026-13,,,Y,N,N,x\n";
        let second = "beneficiary_id,month,birth_date,region\nB1,2026-01,1950-01-01,north\nB1,2026-03,1950-01-01,\nB2,2026-02,1960-01-01,east\n";
        let files = [first.as_bytes(), second.as_bytes()];
        let dir = tempfile::tempdir().unwrap();
        let whole = load_spilled(dir.path(), &files, 1, &columns);
        assert_eq!(
            reasons(&whole),
            [
                (0, 2, "duplicate_month"),
                (0, 5, "inconsistent_beneficiary"),
                (0, 6, "inconsistent_beneficiary"),
                (0, 7, "bad_month"),
                (1, 2, "duplicate_month"),
            ]
        );
        assert_eq!((whole.read, whole.accepted), (9, 4));
        // As `load` has it, nothing spilled.
        let plain = load_files(&files, 0, &columns).unwrap();
        assert_eq!(plain.enrollees, whole.enrollees);
        assert_eq!(plain.rejects, whole.rejects);
        for partitions in [2, 3, 7] {
            let split = load_spilled(dir.path(), &files, partitions, &columns);
            assert_eq!(split.enrollees, whole.enrollees, "{partitions} partitions");
            assert_eq!(split.rejects, whole.rejects, "{partitions} partitions");
            assert_eq!((split.read, split.accepted), (whole.read, whole.accepted));
        }
        let b2 = &whole.enrollees["B2"];
        let february = b2.months.get(&month("2026-02")).unwrap();
        assert_eq!(february.attribute("region"), Some("east"));
        assert_eq!(february.flag("frail"), None);
        assert_eq!(
            b2.months.get(&month("2026-01")).unwrap().attribute("dual"),
            Some("N")
        );
    }

    #[test]
    fn rows_cut_short_are_an_error_not_a_panic() {
        let columns = Columns::default();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.csv");
        // A second row of the same beneficiary and dates (encoded against
        // the first), then another beneficiary.
        let rows = [
            "B1,2026-01,1940-01-01,,Y,Y,N,N,N",
            "B1,2026-02,1940-01-01,,Y,Y,N,N,N",
            "B22,2026-01,1960-05-01,2026-03-04,Y,Y,N,N,N",
        ];
        let load = |text: String| {
            std::fs::write(&path, text).unwrap();
            load_partitioned(
                &Input::files([path.clone()]),
                0,
                &columns,
                BeneficiariesFormat::Canonical,
                Routing {
                    partitions: 1,
                    route: &|_| 0,
                    budget: u64::MAX,
                    overflow: &mut |_| Ok(()),
                },
            )
            .unwrap()
        };
        let first = load(format!("{HEADER}{}\n", rows[0])).parts[0].len();
        let two = load(format!("{HEADER}{}\n{}\n", rows[0], rows[1])).parts[0].len();
        // A byte each for the header, file, row, offset, count of months
        // and month, and the 5 flags.
        assert_eq!(two - first, 11, "{first} bytes for the first row");
        let enrollment = load(format!("{HEADER}{}\n", rows.join("\n")));
        let encoded = &enrollment.parts[0];
        let mut whole = 0;
        for cut in 0..encoded.len() {
            let mut gather = enrollment.gather();
            // Whole rows decode; a row cut anywhere is an error.
            if gather.add(&encoded[..cut]).is_ok() {
                whole += 1;
            }
        }
        assert_eq!(whole, 3, "no rows, then one, then two");
        let mut gather = enrollment.gather();
        gather.add(encoded).unwrap();
        assert_eq!(gather.settle().accepted, 3);
    }

    #[test]
    fn every_row_of_a_repeated_month_is_rejected_across_files() {
        let first = format!(
            "{HEADER}B1,2026-01,1940-01-01,,Y,Y,N,N,N\nB1,2026-02,1950-01-01,,Y,Y,N,N,N\nB2,2026-01,1960-01-01,,Y,Y,N,N,N\n"
        );
        // Another column order, no death_date column, CRLF, a blank line.
        let second = "month,beneficiary_id,birth_date\r\n\r\n202601,B1,1950-01-01\r\n2026-03,B1,19500101\r\n2026-01,\" B1\",1950-01-01\r\n";
        let loaded = load_files(
            &[first.as_bytes(), second.as_bytes()],
            3,
            &Columns::default(),
        )
        .unwrap();
        // The repeated month's rows go, and with them the 1940 birth date
        // that would otherwise have made B1 inconsistent.
        assert_eq!(
            reasons(&loaded),
            [
                (3, 2, "duplicate_month"),
                (4, 3, "duplicate_month"),
                (4, 5, "duplicate_month"),
            ]
        );
        assert_eq!(
            &*loaded.rejects[0].record,
            b"B1,2026-01,1940-01-01,,Y,Y,N,N,N"
        );
        assert_eq!(&*loaded.rejects[1].record, b"202601,B1,1950-01-01");
        assert_eq!(&*loaded.rejects[2].record, b"2026-01,\" B1\",1950-01-01");
        let b1 = &loaded.enrollees["B1"];
        assert_eq!(
            b1.months.keys().map(Month::to_string).collect::<Vec<_>>(),
            ["2026-02", "2026-03"]
        );
        assert_eq!(b1.birth_date, Some(date("1950-01-01")));
        assert_eq!(
            b1.months.get(&month("2026-02")).unwrap().flag("part_a"),
            Some(true)
        );
        assert_eq!(
            b1.months.get(&month("2026-03")).unwrap().flag("part_a"),
            None
        );
        assert_eq!(loaded.enrollees["B2"].months.len(), 1);
        assert_eq!((loaded.read, loaded.accepted), (6, 3));
    }

    #[test]
    fn disagreeing_dates_reject_all_remaining_rows() {
        let loaded = load_one(
            "beneficiary_id,month,birth_date,death_date\n\
             B1,2026-01,1950-01-01,\n\
             B1,2026-02,19500101,\n\
             B2,2026-01,1950-01-01,\n\
             B2,2026-02,,\n\
             B3,2026-01,1950-01-01,\n\
             B3,2026-02,1950-01-01,2026-03-01\n\
             B4,2026-01,1950-01-01,\n\
             B4,2026-01,1960-01-01,\n\
             B4,2026-02,1950-01-01,\n\
             B4,2026-03,1950-01-02,\n\
             B5,2026-01,1950-01-01,\n\
             B5,2026-01,1960-01-01,\n\
             B5,2026-02,1970-01-01,2026-02-10\n\
             B6,2026-01,1950-01-01,x\n\
             B6,2026-02,1950-01-01,\n",
            &Columns::default(),
        );
        assert_eq!(
            reasons(&loaded),
            [
                (0, 4, "inconsistent_beneficiary"),
                (0, 5, "inconsistent_beneficiary"),
                (0, 6, "inconsistent_beneficiary"),
                (0, 7, "inconsistent_beneficiary"),
                (0, 8, "duplicate_month"),
                (0, 9, "duplicate_month"),
                (0, 10, "inconsistent_beneficiary"),
                (0, 11, "inconsistent_beneficiary"),
                (0, 12, "duplicate_month"),
                (0, 13, "duplicate_month"),
                (0, 15, "bad_date"),
            ]
        );
        assert_eq!(&*loaded.rejects[1].record, b"B2,2026-02,,");
        let mut ids: Vec<&str> = loaded.enrollees.keys().map(String::as_str).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["B1", "B5", "B6"]);
        assert_eq!(loaded.enrollees["B1"].months.len(), 2);
        let b5 = &loaded.enrollees["B5"];
        assert_eq!(
            (b5.birth_date, b5.death_date),
            (Some(date("1970-01-01")), Some(date("2026-02-10")))
        );
        // A row rejected by a row check does not count against the others.
        assert_eq!(loaded.enrollees["B6"].death_date, None);
        assert_eq!((loaded.read, loaded.accepted), (15, 4));
        assert_eq!(
            loaded.rejected_by_reason[&RejectReason::InconsistentBeneficiary],
            6
        );
    }

    #[test]
    fn flags_are_normalized_and_only_asked_attributes_kept() {
        let columns = Columns {
            extra_flags: vec![],
            attributes: vec!["dual".into(), "hcc_count".into(), "nowhere".into()],
        };
        let loaded = load_one(
            "beneficiary_id,month,part_a,dual,hcc_count,region,esrd\n \
             B1 ,2026-01, y ,n, 3 ,NE,\n\
             B1,2026-02,N,Y,,NE,Y\n\
             b1,2026-01,,,,,\n",
            &columns,
        );
        assert!(loaded.rejects.is_empty());
        let b1 = &loaded.enrollees["B1"];
        let january = b1.months.get(&month("2026-01")).unwrap();
        assert_eq!(january.flag("part_a"), Some(true));
        assert_eq!(january.flag("dual"), Some(false));
        assert_eq!(january.flag("esrd"), None);
        assert_eq!(january.flag("managed_care"), None);
        assert_eq!(january.attribute("dual"), Some("N"));
        assert_eq!(january.attribute("hcc_count"), Some("3"));
        assert_eq!(january.attribute("region"), None);
        assert_eq!(january.attribute("nowhere"), None);
        let february = b1.months.get(&month("2026-02")).unwrap();
        assert_eq!(february.flag("part_a"), Some(false));
        assert_eq!(february.flag("esrd"), Some(true));
        assert_eq!(february.attribute("dual"), Some("Y"));
        assert_eq!(february.attribute("hcc_count"), None);
        // Identifiers keep their case: `b1` is someone else.
        assert_eq!(loaded.enrollees["b1"].months.len(), 1);
        assert_eq!(
            loaded.columns_seen.iter().collect::<Vec<_>>(),
            [
                "beneficiary_id",
                "dual",
                "esrd",
                "hcc_count",
                "month",
                "part_a",
                "region"
            ]
        );
    }

    #[test]
    fn an_extra_column_is_a_flag_only_when_named() {
        let text = "beneficiary_id,month,hospice,part_a\nB1,2026-01,X,Y\nB1,2026-02,y,Y\n";
        let plain = load_one(text, &Columns::default());
        assert!(plain.rejects.is_empty());
        assert_eq!(
            plain.enrollees["B1"]
                .months
                .get(&month("2026-02"))
                .unwrap()
                .flag("hospice"),
            None
        );

        let columns = Columns {
            extra_flags: vec![
                "hospice".into(),
                "part_a".into(),
                "not_in_file".into(),
                "birth_date".into(),
            ],
            attributes: vec!["hospice".into()],
        };
        let named = load_one(text, &columns);
        assert_eq!(reasons(&named), [(0, 2, "bad_flag")]);
        let february = named.enrollees["B1"].months.get(&month("2026-02")).unwrap();
        assert_eq!(february.flag("hospice"), Some(true));
        assert_eq!(february.flag("part_a"), Some(true));
        assert_eq!(february.attribute("hospice"), Some("Y"));
    }

    #[test]
    fn header_problems_are_fatal_and_name_file_row_and_column() {
        let none = Columns::default();
        let error = |files: &[&str], columns: &Columns| {
            let files: Vec<&[u8]> = files.iter().map(|f| f.as_bytes()).collect();
            load_files(&files, 0, columns).unwrap_err()
        };
        assert_eq!(
            error(&["beneficiary_id,birth_date\nB1,1950-01-01\n"], &none),
            "DIR/b0.csv: row 1: missing required column `month` (the header must name beneficiary_id, month)"
        );
        assert_eq!(
            error(&[HEADER, "\n\nmonth\n"], &none),
            "DIR/b1.csv: row 3: missing required column `beneficiary_id` (the header must name beneficiary_id, month)"
        );
        assert_eq!(
            error(&["beneficiary_id,month,part_a, part_a\n"], &none),
            "DIR/b0.csv: row 1: column `part_a` is named twice in the header; expected each column once"
        );
        let hcc = Columns {
            extra_flags: vec![],
            attributes: vec!["hcc".into()],
        };
        let twice = "beneficiary_id,month,hcc,hcc\nB1,2026-01,1,2\n";
        assert_eq!(
            error(&[twice], &hcc),
            "DIR/b0.csv: row 1: column `hcc` is named twice in the header; expected each column once"
        );
        // Nobody asked for it: repeating it is harmless.
        assert_eq!(load_one(twice, &none).accepted, 1);
        for empty in ["", "\n\r\n"] {
            assert_eq!(
                error(&[empty], &none),
                "DIR/b0.csv: row 1: expected a header row naming beneficiary_id, month, found an empty file"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.csv");
        let e = load(&[missing.into()], 0, &none, BeneficiariesFormat::Canonical).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("none.csv: cannot read beneficiaries file: "),
            "{e}"
        );
    }

    /// `examples/04-team-settlement/beneficiaries.csv` of the contract.
    const EXAMPLE_04: &str = "\
beneficiary_id,month,birth_date,death_date,part_a,part_b,managed_care,esrd,dual
B1,2025-12,1947-09-15,,Y,Y,N,N,Y
B1,2026-01,1947-09-15,,Y,Y,N,N,Y
B1,2026-02,1947-09-15,,Y,Y,N,N,Y
B1,2026-03,1947-09-15,,Y,Y,N,N,Y
B1,2026-04,1947-09-15,,Y,Y,N,N,Y
B1,2026-05,1947-09-15,,Y,Y,N,N,Y
B1,2026-06,1947-09-15,,Y,Y,N,N,Y
B1,2026-07,1947-09-15,,Y,Y,N,N,Y
B1,2026-08,1947-09-15,,Y,Y,N,N,Y
B1,2026-09,1947-09-15,,Y,Y,N,N,Y
B1,2026-10,1947-09-15,,Y,Y,N,N,Y
B1,2026-11,1947-09-15,,Y,Y,N,N,Y
B1,2026-12,1947-09-15,,Y,Y,N,N,Y
B2,2025-12,1959-11-30,,Y,Y,N,N,N
B2,2026-01,1959-11-30,,Y,Y,N,N,N
B2,2026-02,1959-11-30,,Y,Y,N,N,N
B2,2026-03,1959-11-30,,Y,Y,N,N,N
B2,2026-04,1959-11-30,,Y,Y,Y,N,N
B2,2026-05,1959-11-30,,Y,Y,N,N,N
B2,2026-06,1959-11-30,,Y,Y,N,N,N
B2,2026-07,1959-11-30,,Y,Y,N,N,N
B2,2026-08,1959-11-30,,Y,Y,N,N,N
B2,2026-09,1959-11-30,,Y,Y,N,N,N
B2,2026-10,1959-11-30,,Y,Y,N,N,N
B2,2026-11,1959-11-30,,Y,Y,N,N,N
B2,2026-12,1959-11-30,,Y,Y,N,N,N
B3,2025-12,1936-05-20,2026-06-03,Y,Y,N,N,N
B3,2026-01,1936-05-20,2026-06-03,Y,Y,N,N,N
B3,2026-02,1936-05-20,2026-06-03,Y,Y,N,N,N
B3,2026-03,1936-05-20,2026-06-03,Y,Y,N,N,N
B3,2026-04,1936-05-20,2026-06-03,Y,Y,N,N,N
B3,2026-05,1936-05-20,2026-06-03,Y,Y,N,N,N
B3,2026-06,1936-05-20,2026-06-03,Y,Y,N,N,N
B4,2025-12,1951-01-12,,Y,Y,N,N,N
B4,2026-01,1951-01-12,,Y,Y,N,N,N
B4,2026-02,1951-01-12,,Y,Y,N,N,N
B4,2026-03,1951-01-12,,Y,Y,N,N,N
B4,2026-04,1951-01-12,,Y,Y,N,N,N
B4,2026-05,1951-01-12,,Y,Y,N,N,N
B4,2026-06,1951-01-12,,Y,Y,N,N,N
B4,2026-07,1951-01-12,,Y,Y,N,N,N
B4,2026-08,1951-01-12,,Y,Y,N,N,N
B4,2026-09,1951-01-12,,Y,Y,N,N,N
B4,2026-10,1951-01-12,,Y,Y,N,N,N
B4,2026-11,1951-01-12,,Y,Y,N,N,N
B4,2026-12,1951-01-12,,Y,Y,N,N,N
B4,2027-01,1951-01-12,,Y,Y,N,U,N
";

    #[test]
    fn the_contract_example_has_one_bad_flag() {
        // What the example's definitions name: LEJR's risk factor `dual`.
        let columns = Columns {
            extra_flags: vec![],
            attributes: vec!["dual".into()],
        };
        let loaded = load_one(EXAMPLE_04, &columns);
        assert_eq!(reasons(&loaded), [(0, 48, "bad_flag")]);
        assert_eq!(
            &*loaded.rejects[0].record,
            b"B4,2027-01,1951-01-12,,Y,Y,N,U,N"
        );
        assert_eq!((loaded.read, loaded.accepted), (47, 46));
        assert_eq!(loaded.enrollees.len(), 4);
        assert_eq!(loaded.enrollees["B4"].months.len(), 13);
        assert_eq!(loaded.enrollees["B3"].death_date, Some(date("2026-06-03")));
        let b2 = &loaded.enrollees["B2"];
        assert_eq!(
            b2.months
                .get(&month("2026-04"))
                .unwrap()
                .flag("managed_care"),
            Some(true)
        );
        assert_eq!(
            b2.months
                .get(&month("2026-05"))
                .unwrap()
                .flag("managed_care"),
            Some(false)
        );
        let b1 = &loaded.enrollees["B1"];
        assert_eq!(
            b1.months.get(&month("2025-12")).unwrap().attribute("dual"),
            Some("Y")
        );
        assert_eq!(b1.birth_date, Some(date("1947-09-15")));
    }

    #[test]
    fn months_parse_count_back_and_print() {
        assert_eq!(
            month("2026-01"),
            Month {
                year: 2026,
                month: 1
            }
        );
        assert_eq!(
            month("202612"),
            Month {
                year: 2026,
                month: 12
            }
        );
        for bad in [
            "2026-00", "202613", "2026-1", "26-01", "2026-011", "2026_01", "+02601", "",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad:?}");
        }
        let march = month("2026-03");
        assert_eq!(march.minus(0), march);
        assert_eq!(march.minus(2).to_string(), "2026-01");
        assert_eq!(march.minus(3).to_string(), "2025-12");
        assert_eq!(march.minus(15).to_string(), "2024-12");
        assert_eq!(month("2026-01").minus(12).to_string(), "2025-01");
        assert_eq!(Month::of(date("2026-02-28")), month("2026-02"));
        assert_eq!(
            Month {
                year: 987,
                month: 1
            }
            .to_string(),
            "0987-01"
        );
        assert!(month("2025-12") < month("2026-01"));
    }

    #[test]
    fn a_folder_is_its_csv_files_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.csv", "a.csv", "c.txt"] {
            std::fs::write(dir.path().join(name), HEADER).unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.csv")).unwrap();
        let single = dir.path().join("c.txt");
        let expand = |paths: &[PathBuf]| BeneficiariesFormat::Canonical.expand(paths);
        let files = expand(&[dir.path().to_owned(), single.clone()]).unwrap();
        assert_eq!(
            files,
            [dir.path().join("a.csv"), dir.path().join("b.csv"), single]
        );
        let empty = tempfile::tempdir().unwrap();
        let e = expand(&[empty.path().to_owned()]).unwrap_err();
        assert!(
            e.to_string().contains("the folder holds no *.csv file"),
            "{e}"
        );
    }
}
