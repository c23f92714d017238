//! Who fixes an error: every module's error says which group it belongs to
//! ([`Classify::kind`]), and the command maps the group to its exit status.
//!
//! | group                         | who fixes it                                   | exit |
//! |-------------------------------|------------------------------------------------|------|
//! | [`ErrorKind::Configuration`]  | the user: definitions, prices, tracks, flags' files | 1 |
//! | [`ErrorKind::InputData`]      | the user: claims, beneficiaries, run folders   | 1    |
//! | [`ErrorKind::Usage`]          | the user: how the command was asked            | 2    |
//! | [`ErrorKind::Environment`]    | the machine: disk full, permissions, threads   | 3    |
//! | [`ErrorKind::Internal`]       | us: a bug, please report it                    | 4    |
//!
//! A missing or unreadable file the user named is theirs to fix (its
//! group), not the environment's; writing outputs or spill files that fails
//! is the environment's.

use std::fmt;
use std::io;

/// Who fixes an error, and so the exit status of the command it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The user's configuration: episode definitions, target prices, risk
    /// factors, participants and settlement files.
    Configuration,
    /// The input data: claims, beneficiaries, CMS tables, the run folders
    /// that true-up, reprice and scenarios read back.
    InputData,
    /// The command cannot be carried out as asked: an `--out` that is not
    /// empty or holds an input, a pipe where a file is needed.
    Usage,
    /// The machine: a disk full, a permission denied while writing outputs
    /// or spill files, threads that cannot start.
    Environment,
    /// A bug in episode-recon: please report it.
    Internal,
}

impl ErrorKind {
    /// The process exit status for an error of this group: 1 configuration
    /// or input data, 2 usage, 3 environment, 4 internal.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Configuration | ErrorKind::InputData => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Environment => 3,
            ErrorKind::Internal => 4,
        }
    }

    /// The group of an I/O error met while reading a file the user named:
    /// a file that is missing, unreadable to them, or not what it should be
    /// is theirs to fix (`named`); anything else (a device error, an
    /// interrupted read, no memory) is the environment's.
    pub fn reading(named: ErrorKind, error: &io::Error) -> ErrorKind {
        use io::ErrorKind as Io;
        match error.kind() {
            Io::NotFound
            | Io::PermissionDenied
            | Io::InvalidData
            | Io::InvalidInput
            | Io::UnexpectedEof
            | Io::IsADirectory
            | Io::NotADirectory => named,
            _ => ErrorKind::Environment,
        }
    }
}

/// An error that knows which group it belongs to.
pub trait Classify: std::error::Error {
    /// Who fixes it.
    fn kind(&self) -> ErrorKind;
}

/// Any error a command ends with: a module's error and its group. Its
/// message is the module error's, unchanged.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl Error {
    /// An error of `kind` with `message`, for a problem no module error
    /// describes (a thread pool that cannot start).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            source: message.into().into(),
        }
    }

    /// Who fixes it.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The exit status: [`ErrorKind::exit_code`].
    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}

impl<E: Classify + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Error {
        Error {
            kind: error.kind(),
            source: Box::new(error),
        }
    }
}

/// An input or output in Parquet asked of a build without the `parquet`
/// feature (it is off by default, so a plain build stays lean): the user
/// builds with it, or asks for CSV.
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error(
    "this episode-recon was built without Parquet support; build it with `cargo build --release --features parquet`, or give CSV"
)]
pub struct WithoutParquet;

impl Classify for WithoutParquet {
    /// The command asks for what this build cannot do.
    fn kind(&self) -> ErrorKind {
        ErrorKind::Usage
    }
}

/// Whether this build reads and writes Parquet (the `parquet` feature).
pub const PARQUET: bool = cfg!(feature = "parquet");

/// What the command prints on stderr for `error`: one `error:` line, and
/// for a bug a second line asking for a report.
pub fn report(error: &Error) -> String {
    match error.kind {
        ErrorKind::Internal => format!(
            "error: {error}\nerror: this is a bug in episode-recon {}, not a problem with your data or machine; please report it with the command that was run and this message",
            env!("CARGO_PKG_VERSION")
        ),
        _ => format!("error: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_group_has_its_exit_status() {
        assert_eq!(ErrorKind::Configuration.exit_code(), 1);
        assert_eq!(ErrorKind::InputData.exit_code(), 1);
        assert_eq!(ErrorKind::Usage.exit_code(), 2);
        assert_eq!(ErrorKind::Environment.exit_code(), 3);
        assert_eq!(ErrorKind::Internal.exit_code(), 4);
    }

    #[test]
    fn a_named_file_missing_is_the_users_and_a_full_disk_the_machines() {
        let missing = io::Error::from(io::ErrorKind::NotFound);
        let full = io::Error::from(io::ErrorKind::StorageFull);
        assert_eq!(
            ErrorKind::reading(ErrorKind::InputData, &missing),
            ErrorKind::InputData
        );
        assert_eq!(
            ErrorKind::reading(ErrorKind::InputData, &full),
            ErrorKind::Environment
        );
    }

    #[test]
    fn a_bug_asks_for_a_report_and_nothing_else_does() {
        let bug = Error::new(ErrorKind::Internal, "spill partition 9 out of range (0..4)");
        let text = report(&bug);
        assert!(text.starts_with("error: spill partition 9"), "{text}");
        assert!(text.contains("please report"), "{text}");
        assert_eq!(bug.exit_code(), 4);
        let usage = Error::new(ErrorKind::Usage, "out: not empty");
        assert_eq!(report(&usage), "error: out: not empty");
    }
}
