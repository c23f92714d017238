//! Writing claims of any supported format as the canonical CSV, so users can
//! inspect and edit exactly what the engine sees.
//!
//! Each line is written with the columns the engine uses, in normal form
//! and with every default applied; rows that cannot be mapped are written
//! beside it with their file, row and reason, as `rejects.csv` would list
//! them. Nothing read is left out of one or the other. Both files are
//! written beside their final names and renamed into place only when every
//! input was read, so a failed conversion leaves no half-written file.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::claims::{self, RowOutcome};
use crate::formats::ClaimsFormat;
use crate::model::ClaimLine;
use crate::report::write_row;

/// A conversion that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file could not be read.
    #[error(transparent)]
    Claims(#[from] claims::Error),
    /// An output file could not be written.
    #[error("{path}: cannot write converted claims: {source}")]
    Io {
        /// The output file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
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
    let text =
        |value: &Option<std::sync::Arc<str>>| value.as_deref().unwrap_or_default().to_owned();
    [
        line.claim_id.to_string(),
        line.line_number.to_string(),
        line.beneficiary_id.to_string(),
        line.claim_type.to_string(),
        line.from_date.to_string(),
        line.thru_date.to_string(),
        line.allowed.to_string(),
        line.record_type.code().to_owned(),
        line.processed_date.to_string(),
        line.admission_date.to_string(),
        line.discharge_date.to_string(),
        line.line_date.to_string(),
        text(&line.provider_id),
        text(&line.drg),
        text(&line.principal_dx),
        text(&line.hcpcs),
    ]
}

/// Converts `files` (read as `format`; `auto` detects each) into the
/// canonical CSV `out`, and the rows that cannot be mapped into
/// `out.rejects.csv`.
pub fn convert(format: ClaimsFormat, files: &[PathBuf], out: &Path) -> Result<Converted, Error> {
    let rejects_path = out.with_extension("rejects.csv");
    let parent = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).map_err(|source| Error::Io {
        path: parent.to_owned(),
        source,
    })?;
    // Staged beside the final names (same file system, so the rename is
    // atomic); removed when dropped, that is on any error.
    let create = |path: &Path| {
        let mut staged = tempfile::Builder::new();
        // Created as any new file is (the umask applies), not owner-only.
        #[cfg(unix)]
        staged.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        staged
            .tempfile_in(parent)
            .map(BufWriter::new)
            .map_err(|source| Error::Io {
                path: path.to_owned(),
                source,
            })
    };
    let mut lines_out = create(out)?;
    let mut rejects_out = create(&rejects_path)?;
    let header: Vec<String> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    let mut converted = Converted {
        lines: 0,
        rejected: 0,
        after_cutoff: 0,
        rejects_path: rejects_path.clone(),
    };
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    write_row(&mut lines_out, &header).map_err(write_error(out))?;
    rejects_out
        .write_all(b"file,row,reason,record\n")
        .map_err(write_error(&rejects_path))?;
    for (index, path) in files.iter().enumerate() {
        let file = u32::try_from(index).unwrap_or(u32::MAX);
        let format = format.of_file(path)?;
        let mut failure: Option<io::Error> = None;
        format.read_file(path, file, None, |outcome| {
            if failure.is_some() {
                return;
            }
            let written = match outcome {
                RowOutcome::Line(line) => {
                    converted.lines += 1;
                    write_row(&mut lines_out, &fields(&line))
                }
                RowOutcome::Rejected(row) => {
                    converted.rejected += 1;
                    let record = String::from_utf8_lossy(&row.raw).into_owned();
                    let fields = [
                        path.display().to_string(),
                        row.source.row.to_string(),
                        row.reason.name().to_owned(),
                        record,
                    ];
                    write_row(&mut rejects_out, &fields)
                }
                RowOutcome::AfterCutoff { .. } => {
                    converted.after_cutoff += 1;
                    Ok(())
                }
            };
            failure = written.err();
        })?;
        if let Some(source) = failure {
            return Err(Error::Io {
                path: out.to_owned(),
                source,
            });
        }
    }
    for (staged, path) in [(lines_out, out), (rejects_out, rejects_path.as_path())] {
        let staged = staged
            .into_inner()
            .map_err(|e| write_error(path)(e.into_error()))?;
        staged
            .persist(path)
            .map_err(|e| write_error(path)(e.error))?;
    }
    Ok(converted)
}
