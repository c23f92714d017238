//! Reading a folder of inputs: the files with the extensions its format
//! ships with, plain or compressed, in name order.
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
    #[error("{path}: the folder holds no {wanted} file (plain, or compressed as .gz or .zst)")]
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
    files_where(dir, |path| has_extension(path, extensions))
}

/// The extensions of compressed inputs, after the text's own
/// (`claims.csv.gz`): the compressions [`crate::input::compressed`] reads.
const COMPRESSED: [&str; 2] = ["gz", "zst"];

/// Whether the extension of `path` is one of `extensions`.
fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .is_some_and(|e| extensions.iter().any(|wanted| e == *wanted))
}

/// Whether `path` has one of `extensions`, or one of them followed by a
/// compressed extension.
fn is_input(path: &Path, extensions: &[&str]) -> bool {
    if has_extension(path, &COMPRESSED) {
        return has_extension(&path.with_extension(""), extensions);
    }
    has_extension(path, extensions)
}

/// The files of `dir` (not its sub-folders) that `wanted` keeps, sorted by
/// name.
fn files_where(dir: &Path, wanted: impl Fn(&Path) -> bool) -> io::Result<Vec<PathBuf>> {
    let mut files = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<Vec<PathBuf>>>()?;
    files.retain(|p| p.is_file() && wanted(p));
    files.sort();
    Ok(files)
}

/// The files a list of inputs stands for, in order: a file (or `-`,
/// standard input) as itself, a folder as its files with one of
/// `extensions`, plain or compressed (`a.csv`, `a.csv.gz`, `a.csv.zst`),
/// in name order. A folder without any is an error.
pub fn expand(paths: &[PathBuf], extensions: &[&str]) -> Result<Vec<PathBuf>, FolderError> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let found = files_where(path, |p| is_input(p, extensions)).map_err(|source| {
            FolderError::Unreadable {
                path: path.clone(),
                source,
            }
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
        let names = [
            "b.txt",
            "a.csv",
            "c.dat",
            "notes.md",
            "a.csv.gz",
            "b.txt.zst",
        ];
        for name in names.into_iter().chain(["c.dat.gz", "d.gz", "e.csv.bz2"]) {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.csv")).unwrap();
        let single = PathBuf::from("-");
        let files = expand(&[dir.path().to_owned(), single.clone()], &["csv", "txt"]).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap()).collect();
        assert_eq!(names, ["a.csv", "a.csv.gz", "b.txt", "b.txt.zst", "-"]);
        let definitions = files_in(dir.path(), &["csv"]).unwrap();
        assert_eq!(
            definitions,
            [dir.path().join("a.csv")],
            "only the plain files"
        );

        let e = expand(&[dir.path().to_owned()], &["parquet"]).unwrap_err();
        assert!(matches!(e, FolderError::Empty { .. }), "{e}");
        assert!(
            e.to_string()
                .ends_with("holds no *.parquet file (plain, or compressed as .gz or .zst)"),
            "{e}"
        );
    }
}
