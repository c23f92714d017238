//! Reading a folder of inputs: the files with the extensions its format
//! ships with, in name order.
//!
//! Claims, beneficiaries and definitions folders are read the same way, so
//! that the order (and with it every "first" in an error message) does not
//! depend on the file system's listing order.

use std::io;
use std::path::{Path, PathBuf};

/// A list of inputs that does not name the files it should.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// A folder could not be listed.
    #[error("{path}: cannot list the folder: {source}")]
    Unreadable {
        /// The folder as given.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A folder holds no file of the wanted kind: most likely the wrong
    /// folder, and reading nothing would pass for a run with no claims.
    #[error("{path}: the folder holds no {wanted} file")]
    Empty {
        /// The folder as given.
        path: PathBuf,
        /// The extensions looked for, as `*.csv or *.txt`.
        wanted: String,
    },
}

impl crate::error::Classify for FolderError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            FolderError::Unreadable { source, .. } => {
                ErrorKind::reading(ErrorKind::InputData, source)
            }
            FolderError::Empty { .. } => ErrorKind::InputData,
        }
    }
}

/// The files of `dir` (not its sub-folders) whose extension is one of
/// `extensions`, sorted by name.
pub fn files_in(dir: &Path, extensions: &[&str]) -> io::Result<Vec<PathBuf>> {
    let mut files = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<Vec<PathBuf>>>()?;
    files.retain(|p| {
        p.is_file()
            && p.extension()
                .is_some_and(|e| extensions.iter().any(|wanted| e == *wanted))
    });
    files.sort();
    Ok(files)
}

/// The files a list of inputs stands for, in order: a file (or `-`,
/// standard input) as itself, a folder as its files with one of
/// `extensions` in name order. A folder without any is an error.
pub fn expand(paths: &[PathBuf], extensions: &[&str]) -> Result<Vec<PathBuf>, FolderError> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let found = files_in(path, extensions).map_err(|source| FolderError::Unreadable {
            path: path.clone(),
            source,
        })?;
        if found.is_empty() {
            let wanted: Vec<String> = extensions.iter().map(|e| format!("*.{e}")).collect();
            return Err(FolderError::Empty {
                path: path.clone(),
                wanted: wanted.join(" or "),
            });
        }
        files.extend(found);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_expand_to_their_files_of_the_wanted_kinds_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.txt", "a.csv", "c.dat", "notes.md"] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.csv")).unwrap();
        let single = PathBuf::from("-");
        let files = expand(&[dir.path().to_owned(), single.clone()], &["csv", "txt"]).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap()).collect();
        assert_eq!(names, ["a.csv", "b.txt", "-"]);

        let e = expand(&[dir.path().to_owned()], &["parquet"]).unwrap_err();
        assert!(matches!(e, FolderError::Empty { .. }), "{e}");
        assert!(e.to_string().ends_with("holds no *.parquet file"), "{e}");
    }
}
