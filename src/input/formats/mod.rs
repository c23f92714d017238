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

pub mod cclf;
pub mod enrollment;
pub mod rif;
pub mod synpuf;

use std::fmt;
use std::path::Path;

use crate::input::claims;
use crate::input::driver::{self, Chunking, Reading, io_error};
use crate::input::source::Source;
use crate::model::Date;
use crate::model::outcome::RowOutcome;

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
    /// Detect each file's format from its header.
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
            ClaimsFormat::Auto,
        ]
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(name))
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
    /// whole by the reader).
    pub fn of_source(self, source: &mut Source) -> Result<ClaimsFormat, claims::Error> {
        if self != ClaimsFormat::Auto {
            return Ok(self);
        }
        let name = source.name().to_path_buf();
        let first = source.first_line().map_err(|e| io_error(&name, e))?;
        let header = String::from_utf8_lossy(first);
        Ok(if rif::looks_like_rif(&header) {
            ClaimsFormat::Rif
        } else if synpuf::looks_like_synpuf(&header) {
            ClaimsFormat::Synpuf
        } else if cclf::looks_like_cclf(&header) || cclf::looks_like_fixed_width_cclf(first) {
            ClaimsFormat::Cclf
        } else {
            ClaimsFormat::Canonical
        })
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
    pub fn read_chunked<T: Send, E: From<claims::Error>>(
        self,
        mut source: Source,
        reading: Reading,
        init: impl Fn() -> T + Sync,
        fold: impl Fn(&mut T, RowOutcome) + Sync,
        merge: impl FnMut(T, u64) -> Result<(), E>,
    ) -> Result<(), E> {
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
        self.read_chunked(source, reading, Vec::new, Vec::push, |outcomes, _| {
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

    /// The raw text of rows (line, byte offset) of one file of this format.
    pub fn raw_rows(
        self,
        path: &Path,
        rows: &[(u64, u64)],
    ) -> Result<Vec<Box<[u8]>>, claims::Error> {
        match self {
            ClaimsFormat::Rif => rif::raw_rows(path, rows),
            ClaimsFormat::Cclf => cclf::raw_rows(path, rows),
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
