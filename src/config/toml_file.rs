//! What the TOML inputs (episode definitions, settlement tracks) share:
//! reading the text into raw values, and the two ways such a file is
//! wrong, reported alike whichever file it is.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A TOML file that is not what it should be: its syntax or types, or a
/// value.
#[derive(Debug, thiserror::Error)]
pub enum TomlError {
    /// The file is not valid TOML, or has an unknown key or a value of the
    /// wrong type.
    #[error("{file}: line {line}: {message}")]
    Malformed {
        /// The file.
        file: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What the TOML reader said, led by the line's text.
        message: String,
    },
    /// A value is out of range or otherwise invalid.
    #[error("{file}: key `{key}`: expected {expected}, found {found}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The dotted key (`track.3.stop_gain`).
        key: String,
        /// What was expected.
        expected: String,
        /// What the file says, as written.
        found: String,
    },
}

impl TomlError {
    /// The value at `key` of `file` is not what was `expected`.
    pub fn invalid(file: &Path, key: impl Into<String>, expected: &str, found: String) -> Self {
        TomlError::Invalid {
            file: file.to_owned(),
            key: key.into(),
            expected: expected.to_owned(),
            found,
        }
    }
}

/// Reads `text` (the contents of `file`) into `T`, or says where the TOML
/// reader stopped: its 1-based line, and its message led by that line,
/// which names the key the message is about.
pub fn parse<T: DeserializeOwned>(text: &str, file: &Path) -> Result<T, TomlError> {
    toml::from_str(text).map_err(|error| {
        let start = error.span().map_or(0, |span| span.start);
        let line = text[..start].matches('\n').count() + 1;
        let source = text.lines().nth(line - 1).unwrap_or_default().trim();
        let message = error.message().replace('\n', " ");
        let message = if source.is_empty() {
            message
        } else {
            format!("`{source}`: {message}")
        };
        TomlError::Malformed {
            file: file.to_owned(),
            line,
            message,
        }
    })
}
