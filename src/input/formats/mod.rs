//! Claims input formats other than the canonical CSV of the contract.
//!
//! Each format reader maps its source rows onto the same
//! [`crate::model::outcome::RowOutcome`]s the canonical reader produces: one outcome
//! per data row, a [`crate::model::ClaimLine`] in normal form or a reject
//! with one of the contract's reasons, so the rest of the engine (final
//! action, episodes, the summary's "nothing is lost" table) does not know
//! which format a row came from. The field-by-field mappings, with their
//! CMS sources, are in `docs/INPUT-FORMATS.md`.
//!
//! - [`rif`]: the CMS research identifiable files (RIF/CCW), all seven
//!   claim kinds, pipe-delimited.
//! - [`synpuf`]: the CMS DE-SynPUF public use files (inpatient,
//!   outpatient, carrier), one wide row per claim.
//! - [`cclf`]: the Claim and Claim Line Feed files ACOs and model
//!   participants receive (Part A header and revenue centres, Part B physician,
//!   DME), delimited or fixed width.
//! - [`enrollment`]: beneficiaries (enrollment months) from the MBSF base
//!   segment (RIF) and the DE-SynPUF beneficiary summary, mapped onto the
//!   canonical monthly rows that [`crate::input::beneficiaries`] checks.
//! - `parquet` (feature `parquet`): Parquet files of the canonical
//!   columns, claims and beneficiaries, read as Arrow tables
//!   ([`crate::input::arrow`]).

pub mod cclf;
pub mod enrollment;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod rif;
pub mod synpuf;

/// The first bytes of every Parquet file (Apache Parquet, "File Format"),
/// by which `auto` knows one, with or without the `parquet` feature.
pub const PARQUET_MAGIC: &[u8] = b"PAR1";

/// A Parquet input (or a table held in memory), claims or beneficiaries,
/// that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    /// Not a Parquet file, a damaged one, or one in a codec this build
    /// does not read.
    #[error("{path}: cannot read the Parquet file: {problem}")]
    Unreadable {
        /// The file as given.
        path: PathBuf,
        /// What the Parquet reader said.
        problem: String,
    },
    /// A table held in memory whose stream of batches failed (the
    /// producer's error, as it gave it).
    #[error("{name}: cannot read the table's batches: {problem}")]
    Stream {
        /// The table's name (`<claims table>`).
        name: PathBuf,
        /// What the stream said.
        problem: String,
    },
    /// This build cannot read Parquet (the `parquet` feature is off).
    #[error("{path}: {}", crate::error::WithoutParquet)]
    WithoutParquet {
        /// The file as given.
        path: PathBuf,
    },
}

impl crate::error::Classify for ParquetError {
    /// The file is the user's input data; the build is how they asked.
    fn kind(&self) -> crate::error::ErrorKind {
        match self {
            ParquetError::Unreadable { .. } | ParquetError::Stream { .. } => {
                crate::error::ErrorKind::InputData
            }
            ParquetError::WithoutParquet { .. } => crate::error::WithoutParquet.kind(),
        }
    }
}

use std::fmt;
use std::path::{Path, PathBuf};

use crate::input::claims;
use crate::input::driver::{self, Chunking, Reading, io_error};
use crate::input::source::{Input, Opened, Source, Spools};
use crate::model::Date;
use crate::model::outcome::{RowOutcome, RowView, keep_owned};

/// The column names of a header line, as format detection compares them:
/// split on `|` when the line holds one, else on `,`; without a byte-order
/// mark, quotes and surrounding blanks.
pub(crate) fn header_names(header: &str) -> impl Iterator<Item = &str> {
    let header = header.strip_prefix('\u{feff}').unwrap_or(header);
    let line = header.lines().next().unwrap_or_default();
    let delimiter = if line.contains('|') { '|' } else { ',' };
    line.split(delimiter)
        .map(|name| name.trim().trim_matches('"').trim())
}

/// Whether a header line names `wanted`, compared without case.
pub(crate) fn names_column(header: &str, wanted: &str) -> bool {
    header_names(header).any(|name| name.eq_ignore_ascii_case(wanted))
}

/// What `auto` makes of a file from its first line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detected {
    /// Claims of this format (never [`ClaimsFormat::Auto`]).
    Claims(ClaimsFormat),
    /// A file that CMS extracts ship beside claims but that holds none
    /// (beneficiary summaries, drug events, counts): what it is, and what
    /// to do with it.
    NotClaims(&'static str),
}

/// The files of CMS extracts that are not claims, by a column only they
/// name (the claims formats' headers were tried first), and what they are.
const NOT_CLAIMS: [(&str, &str); 5] = [
    (
        "PDE_ID",
        "a Part D drug event file (Part D is outside the episodes)",
    ),
    (
        "BENE_BIRTH_DT",
        "a beneficiary summary file: give it with --beneficiaries",
    ),
    (
        "BENE_DOB",
        "a beneficiary demographics file (CCLF8): give it with --beneficiaries",
    ),
    (
        "birth_date",
        "a beneficiaries file: give it with --beneficiaries",
    ),
    (
        "CARRIER_CLAIMS",
        "an extract's claim counts summary, not claims",
    ),
];

/// An input opened for reading by [`ClaimsFormat::open`].
#[derive(Debug)]
pub struct Opening {
    /// The input, for [`ClaimsFormat::read_chunked`].
    pub opened: Opened,
    /// What it holds.
    pub detected: Detected,
    /// Where its rows are found again once it is read
    /// ([`ClaimsFormat::raw_rows`]); `None` for a stream opened without
    /// spools.
    pub reread: Option<Input>,
}

/// The claims formats the engine reads, chosen with `--claims-format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClaimsFormat {
    /// The contract's CSV, one row per claim line.
    #[default]
    Canonical,
    /// CMS research files (RIF/CCW), pipe-delimited.
    Rif,
    /// CMS DE-SynPUF inpatient, outpatient and carrier files.
    Synpuf,
    /// CMS Claim and Claim Line Feed files (CCLF1, CCLF2, CCLF5, CCLF6), delimited or fixed width.
    Cclf,
    /// Parquet files with the canonical columns, and tables held in memory
    /// (read with the `parquet` feature; without it, named so that the
    /// error can say how to build).
    Parquet,
    /// Detect each file's format from its header (a Parquet file from its
    /// first bytes).
    Auto,
}

impl ClaimsFormat {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ClaimsFormat::Canonical => "canonical",
            ClaimsFormat::Rif => "rif",
            ClaimsFormat::Synpuf => "synpuf",
            ClaimsFormat::Cclf => "cclf",
            ClaimsFormat::Parquet => "parquet",
            ClaimsFormat::Auto => "auto",
        }
    }

    /// Reads a format name as given on the command line.
    pub fn parse(name: &str) -> Option<ClaimsFormat> {
        [
            ClaimsFormat::Canonical,
            ClaimsFormat::Rif,
            ClaimsFormat::Synpuf,
            ClaimsFormat::Cclf,
            ClaimsFormat::Parquet,
            ClaimsFormat::Auto,
        ]
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// The files a list of claims inputs stands for: a file (or `-`) as
    /// itself, a folder as its files in name order with the extensions
    /// this format ships with (CMS extracts come as `.txt` and `.dat` as
    /// often as `.csv`), plain or compressed (`.csv.gz`, `.txt.zst`);
    /// `.parquet` for Parquet and `auto`.
    pub fn expand(self, paths: &[PathBuf]) -> Result<Vec<PathBuf>, claims::Error> {
        let extensions: &[&str] = match self {
            ClaimsFormat::Canonical | ClaimsFormat::Synpuf => &["csv"],
            ClaimsFormat::Rif | ClaimsFormat::Cclf => &["csv", "txt", "dat"],
            ClaimsFormat::Parquet => &["parquet"],
            ClaimsFormat::Auto => &["csv", "txt", "dat", "parquet"],
        };
        Ok(crate::input::folders::expand(paths, extensions)?)
    }

    /// The format of one file: this one, or for [`ClaimsFormat::Auto`] the
    /// one its header line names (the canonical CSV when none matches, so
    /// its reader reports what is missing).
    ///
    /// ```
    /// use episode_recon::input::formats::ClaimsFormat;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let rif = dir.path().join("inpatient.txt");
    /// std::fs::write(&rif, "DML_IND|BENE_ID|CLM_ID|CLM_FROM_DT|CLM_THRU_DT\n").unwrap();
    /// assert_eq!(ClaimsFormat::Auto.of_file(&rif).unwrap(), ClaimsFormat::Rif);
    /// let csv = dir.path().join("claims.csv");
    /// std::fs::write(&csv, "claim_id,line_number,beneficiary_id\n").unwrap();
    /// assert_eq!(ClaimsFormat::Auto.of_file(&csv).unwrap(), ClaimsFormat::Canonical);
    /// // A format given by name is taken as given.
    /// assert_eq!(ClaimsFormat::parse("CCLF"), Some(ClaimsFormat::Cclf));
    /// assert_eq!(ClaimsFormat::Cclf.of_file(&csv).unwrap(), ClaimsFormat::Cclf);
    /// ```
    pub fn of_file(self, path: &Path) -> Result<ClaimsFormat, claims::Error> {
        let mut source = Source::open(path, None).map_err(|e| io_error(path, e))?;
        self.of_source(&mut source)
    }

    /// [`ClaimsFormat::of_file`] on an opened input, which it peeks at
    /// without consuming anything (a FIFO or standard input is then read
    /// whole by the reader). A file `auto` finds is not claims is an error.
    pub fn of_source(self, source: &mut Source) -> Result<ClaimsFormat, claims::Error> {
        match self.detect(source)? {
            Detected::Claims(format) => Ok(format),
            Detected::NotClaims(what) => Err(claims::Error::NotClaims {
                path: source.name().to_path_buf(),
                what,
            }),
        }
    }

    /// The format of an opened input: this one, or for
    /// [`ClaimsFormat::Auto`] what its first line shows, peeked without
    /// consuming anything. Under `auto` a first line that no format (and
    /// no known file beside claims) matches is an error showing its start.
    ///
    /// A Parquet file is known by its first bytes: `auto` reads it as
    /// Parquet, and the canonical CSV refuses it with a hint.
    pub fn detect(self, source: &mut Source) -> Result<Detected, claims::Error> {
        let name = source.name().to_path_buf();
        let parquet = |source: &mut Source| {
            source
                .starts_with(PARQUET_MAGIC)
                .map_err(|e| io_error(&name, e))
        };
        match self {
            ClaimsFormat::Auto if parquet(source)? => {
                return Ok(Detected::Claims(ClaimsFormat::Parquet));
            }
            ClaimsFormat::Canonical if parquet(source)? => {
                return Err(claims::Error::ParquetAsCsv { path: name });
            }
            ClaimsFormat::Auto => {}
            _ => return Ok(Detected::Claims(self)),
        }
        let first = source.first_line().map_err(|e| io_error(&name, e))?;
        let header = String::from_utf8_lossy(first);
        let claims = if rif::looks_like_rif(&header) {
            ClaimsFormat::Rif
        } else if synpuf::looks_like_synpuf(&header) {
            ClaimsFormat::Synpuf
        } else if cclf::looks_like_cclf(&header) || cclf::looks_like_fixed_width_cclf(first) {
            ClaimsFormat::Cclf
        } else if names_column(&header, "claim_id") || first.is_empty() {
            // Claims that carry a column of the files beside them (a date of
            // birth, a drug event id) are claims all the same: extra columns
            // are ignored (contract 1.1), so only a header that matches no
            // claims format is looked at for what else it is (RULES 47). An
            // empty file is left to the canonical reader, which says so.
            ClaimsFormat::Canonical
        } else if let Some(&(_, what)) = NOT_CLAIMS
            .iter()
            .find(|(column, _)| names_column(&header, column))
        {
            return Ok(Detected::NotClaims(what));
        } else if enrollment::looks_like_fixed_width_cclf8(first) {
            // CCLF8 as CMS delivers it: fixed width, no header to name it.
            return Ok(Detected::NotClaims(
                "a beneficiary demographics file (CCLF8, fixed width): give it with --beneficiaries",
            ));
        } else {
            let start: String = header.trim_end().chars().take(80).collect();
            return Err(claims::Error::UnknownFormat { path: name, start });
        };
        Ok(Detected::Claims(claims))
    }

    /// Opens `input` for its one reading, with what `auto` makes of it
    /// ([`ClaimsFormat::detect`]) and where its rows can be found again
    /// once it is read: a file from itself, a stream from the copy of it
    /// written into `spools` as it is read. A table held in memory is read
    /// as the table it is whatever the format (it has the canonical
    /// columns, as a Parquet file), and found again from its batches.
    pub fn open(self, input: &Input, spools: &mut Spools) -> Result<Opening, claims::Error> {
        match input {
            Input::File(path) => {
                let mut source = Source::open(path, Some(spools)).map_err(|e| io_error(path, e))?;
                let detected = self.detect(&mut source)?;
                let reread = source.reread_path().map(|p| Input::File(p.to_path_buf()));
                Ok(Opening {
                    opened: source.into(),
                    detected,
                    reread,
                })
            }
            #[cfg(feature = "parquet")]
            Input::Table(table) => Ok(Opening {
                opened: Opened::Table(std::sync::Arc::clone(table)),
                detected: Detected::Claims(ClaimsFormat::Parquet),
                reread: Some(input.clone()),
            }),
        }
    }

    /// Reads one input in chunks parsed in parallel on the current rayon
    /// pool: every format's one entry. Each chunk's rows are folded into a
    /// fresh `init()` accumulator, in file order within the chunk; `merge`
    /// receives the accumulators in file order, with the chunk's byte
    /// count. Every data row reaches exactly one fold, with the same
    /// outcome whatever the chunking. `reading` says where the rows stand
    /// in the run and how the input is cut. [`ClaimsFormat::Auto`] is
    /// resolved first, from the input's first line.
    ///
    /// A file that cannot be read, has no header, names a column twice or
    /// lacks a key column is a fatal [`claims::Error`] naming the file and
    /// column; every other problem is a row's reject.
    ///
    /// A table held in memory ([`Opened::Table`]) is read as a Parquet
    /// file's row groups are, its batches for pieces
    /// ([`crate::input::arrow`]).
    pub fn read_chunked<T: Send, E: From<claims::Error>>(
        self,
        input: impl Into<Opened>,
        reading: Reading,
        init: impl Fn() -> T + Sync,
        fold: impl Fn(&mut T, RowView<'_>) + Sync,
        merge: impl FnMut(T, u64) -> Result<(), E>,
    ) -> Result<(), E> {
        // Without the `parquet` feature every input is bytes.
        #[cfg_attr(
            not(feature = "parquet"),
            allow(clippy::infallible_destructuring_match)
        )]
        let mut source = match input.into() {
            Opened::Bytes(source) => source,
            #[cfg(feature = "parquet")]
            Opened::Table(table) => {
                return crate::input::arrow::read_claims(&*table, reading, init, fold, merge);
            }
        };
        let path = source.name().to_path_buf();
        let path = path.as_path();
        match self.of_source(&mut source)? {
            ClaimsFormat::Rif => {
                let reread = source.rereads_itself().then(|| path.to_path_buf());
                let reread = reread.as_deref();
                rif::read_chunked(source, path, reread, reading, init, fold, merge)
            }
            ClaimsFormat::Synpuf => {
                let reader = &synpuf::Synpuf;
                driver::read_chunked(reader, source, path, reading, init, fold, merge)
            }
            ClaimsFormat::Cclf => {
                let first = source.first_line().map_err(|e| io_error(path, e))?;
                let reader = &cclf::Cclf::of_first_line(first);
                driver::read_chunked(reader, source, path, reading, init, fold, merge)
            }
            #[cfg(feature = "parquet")]
            ClaimsFormat::Parquet => parquet::read_chunked(source, reading, init, fold, merge),
            #[cfg(not(feature = "parquet"))]
            ClaimsFormat::Parquet => Err(claims::Error::from(ParquetError::WithoutParquet {
                path: path.to_owned(),
            })
            .into()),
            ClaimsFormat::Canonical | ClaimsFormat::Auto => {
                let reader = &claims::Canonical;
                driver::read_chunked(reader, source, path, reading, init, fold, merge)
            }
        }
    }

    /// Reads one input chunk by chunk, handing every data row's outcome
    /// to `sink` in file order: [`ClaimsFormat::read_chunked`] one chunk
    /// at a time.
    pub fn read(
        self,
        source: Source,
        file: u32,
        as_of: Option<Date>,
        mut sink: impl FnMut(RowOutcome),
    ) -> Result<(), claims::Error> {
        let reading = Reading {
            file,
            as_of,
            chunking: Chunking::sequential(),
        };
        self.read_chunked(source, reading, Vec::new, keep_owned, |outcomes, _| {
            outcomes.into_iter().for_each(&mut sink);
            Ok::<(), claims::Error>(())
        })
    }

    /// [`ClaimsFormat::read`] on the file (or `-`, standard input) at
    /// `path`.
    pub fn read_file(
        self,
        path: &Path,
        file: u32,
        as_of: Option<Date>,
        sink: impl FnMut(RowOutcome),
    ) -> Result<(), claims::Error> {
        let source = Source::open(path, None).map_err(|e| io_error(path, e))?;
        self.read(source, file, as_of, sink)
    }

    /// The raw text of rows (line, byte offset) of one input of this
    /// format, read again: a file (or a stream's spool), or a table's
    /// batches (a row's offset is its index).
    pub fn raw_rows(
        self,
        input: &Input,
        rows: &[(u64, u64)],
    ) -> Result<Vec<Box<[u8]>>, claims::Error> {
        let path = match input {
            Input::File(path) => path.as_path(),
            #[cfg(feature = "parquet")]
            Input::Table(table) => return crate::input::arrow::claims_records(&**table, rows),
        };
        match self {
            ClaimsFormat::Rif => rif::raw_rows(path, rows),
            ClaimsFormat::Cclf => cclf::raw_rows(path, rows),
            #[cfg(feature = "parquet")]
            ClaimsFormat::Parquet => parquet::raw_rows(path, rows),
            #[cfg(not(feature = "parquet"))]
            ClaimsFormat::Parquet => Err(ParquetError::WithoutParquet {
                path: path.to_owned(),
            }
            .into()),
            // SynPUF rows are comma CSV records, which the canonical reader finds again.
            ClaimsFormat::Synpuf | ClaimsFormat::Canonical | ClaimsFormat::Auto => {
                claims::raw_rows(path, rows)
            }
        }
    }
}

impl fmt::Display for ClaimsFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(first: &str) -> Result<Detected, String> {
        let mut source = Source::from_bytes(Path::new("f"), first.as_bytes().to_vec());
        ClaimsFormat::Auto
            .detect(&mut source)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn auto_tells_claims_from_the_files_beside_them() {
        use ClaimsFormat::*;
        let claims = [
            ("DML_IND|BENE_ID|CLM_ID|NCH_CLM_TYPE_CD\n", Rif),
            (
                "\u{feff}DESYNPUF_ID,CLM_ID,CLM_FROM_DT,CLM_PMT_AMT\n",
                Synpuf,
            ),
            ("CUR_CLM_UNIQ_ID|BENE_MBI_ID|CLM_TYPE_CD\n", Cclf),
            ("\n\"claim_id\",line_number\n", Canonical),
            ("", Canonical),
            // Regression: canonical claims with a column of the files
            // beside them were skipped as one of those files, their rows
            // not read.
            (
                "claim_id,line_number,beneficiary_id,birth_date\n",
                Canonical,
            ),
            ("CLAIM_ID,PDE_ID,BENE_DOB\n", Canonical),
        ];
        for (first, format) in claims {
            assert_eq!(detect(first), Ok(Detected::Claims(format)), "{first:?}");
        }
        let beside = [
            ("DML_IND|PDE_ID|BENE_ID|SRVC_DT\n", "Part D"),
            (
                "DML_IND|BENE_ID|BENE_BIRTH_DT|DEATH_DT\n",
                "beneficiary summary",
            ),
            (
                "DESYNPUF_ID,BENE_BIRTH_DT,BENE_DEATH_DT\n",
                "beneficiary summary",
            ),
            ("beneficiary_id,month,birth_date\n", "beneficiaries file"),
            ("BENE_ID,CARRIER_CLAIMS,DME_CLAIMS\n", "counts"),
        ];
        for (first, what) in beside {
            match detect(first) {
                Ok(Detected::NotClaims(said)) => assert!(said.contains(what), "{said}"),
                other => panic!("{first:?}: {other:?}"),
            }
        }
        // CCLF8 as CMS delivers it, fixed width (IP v36 Table 21: BENE_DOB
        // at 33-42, 549 bytes), with a comma in its address and a blank
        // GEO_ZIP4_CD: skipped with a warning as a header-named CCLF8 is.
        let mut cclf8 = format!("1EG4TE5MK73{:21}1950-06-15", "");
        cclf8 = format!("{cclf8:<188}100 MAIN ST, APT 4");
        cclf8 = format!("{cclf8:<540}60601{:4}\r\n", "");
        match detect(&cclf8) {
            Ok(Detected::NotClaims(said)) => assert!(said.contains("CCLF8"), "{said}"),
            other => panic!("fixed-width CCLF8: {other:?}"),
        }
        let unknown = detect("hello,world\n").unwrap_err();
        assert!(unknown.ends_with("format not recognised (the first line starts \"hello,world\"); expected a header of the canonical CSV, RIF, DE-SynPUF or CCLF claims, or give --claims-format"), "{unknown}");
    }
}
