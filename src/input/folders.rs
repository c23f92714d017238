//! Reading a folder of inputs: the files with the extensions its format
//! ships with, plain or compressed, in name order; and refusing a list
//! that names one file twice.
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
/// name. Every entry but a folder is kept, not only regular files: a pipe
/// is read as a stream, as it is when named on its own, and a link to
/// nothing fails when it is opened, naming itself. (Keeping only regular
/// files dropped both without a word: a file the user meant to give went
/// missing from the run.)
fn files_where(dir: &Path, wanted: impl Fn(&Path) -> bool) -> io::Result<Vec<PathBuf>> {
    let mut files = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<Vec<PathBuf>>>()?;
    files.retain(|p| !p.is_dir() && wanted(p));
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

/// A file named twice among the inputs: a usage error (exit 2), since
/// its rows would meet their own copies.
#[derive(Debug, thiserror::Error)]
pub enum SameInput {
    /// One file under two names (or the same name twice, or a folder and a
    /// file in it) in one list.
    #[error(
        "{flag}: {} and {} are the same file; read twice, every row of it would be rejected as its own duplicate; give it once, or add --allow-same-file if that is meant",
        first.display(),
        second.display()
    )]
    File {
        /// The flag whose list names it (`--claims`).
        flag: &'static str,
        /// The first name, as given (a folder as its file).
        first: PathBuf,
        /// The second.
        second: PathBuf,
    },
    /// Standard input named twice, in one list or two: the second read
    /// would find it at its end.
    #[error(
        "standard input (`-`) is given twice ({first} and {second}); it can be read only once: give it once, and the other input as a file"
    )]
    Stdin {
        /// The flag of the first `-`.
        first: &'static str,
        /// The flag of the second.
        second: &'static str,
    },
}

impl crate::error::Classify for SameInput {
    fn kind(&self) -> crate::error::ErrorKind {
        crate::error::ErrorKind::Usage
    }
}

/// What makes two names one input: on Unix the device and inode (so a
/// hard link, a symbolic link or `./a.csv` is `a.csv`), elsewhere the
/// canonical path.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg(not(unix))]
    Path(PathBuf),
}

/// The identity of `path`; `None` when it cannot be looked at (a missing
/// file), which opening it will report in its own words.
fn identity(path: &Path) -> Option<Identity> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let metadata = std::fs::metadata(path).ok()?;
        Some(Identity::Inode(metadata.dev(), metadata.ino()))
    }
    #[cfg(not(unix))]
    {
        std::fs::canonicalize(path).ok().map(Identity::Path)
    }
}

/// Refuses inputs that name one file twice: standard input (`-`) twice in
/// any of `lists` (each a flag and its files, folders expanded), always;
/// and, unless `allow_same_file`, one file twice within a list. Reading a
/// file twice turns every row of it into a duplicate of itself
/// (`duplicate_line`, `duplicate_month`) and its episodes vanish, so it is
/// almost always a mistake in a long command line.
pub fn check_distinct(
    lists: &[(&'static str, &[PathBuf])],
    allow_same_file: bool,
) -> Result<(), SameInput> {
    let is_stdin = |path: &PathBuf| path.as_os_str() == "-";
    let mut stdin: Option<&'static str> = None;
    for &(flag, paths) in lists {
        for _ in paths.iter().filter(|p| is_stdin(p)) {
            if let Some(first) = stdin {
                return Err(SameInput::Stdin {
                    first,
                    second: flag,
                });
            }
            stdin = Some(flag);
        }
    }
    if allow_same_file {
        return Ok(());
    }
    for &(flag, paths) in lists {
        let mut seen: Vec<(Identity, &PathBuf)> = Vec::with_capacity(paths.len());
        for path in paths.iter().filter(|p| !is_stdin(p)) {
            let Some(id) = identity(path) else { continue };
            if let Some((_, first)) = seen.iter().find(|(other, _)| *other == id) {
                return Err(SameInput::File {
                    flag,
                    first: (*first).clone(),
                    second: path.clone(),
                });
            }
            seen.push((id, path));
        }
    }
    Ok(())
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

    #[test]
    fn one_file_twice_is_refused_unless_allowed_and_standard_input_always() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
        std::fs::write(&a, "x").unwrap();
        std::fs::write(&b, "x").unwrap();
        let dotted = dir.path().join(".").join("a.csv");
        let missing = dir.path().join("missing.csv");
        let stdin = PathBuf::from("-");
        let check = |claims: Vec<PathBuf>, beneficiaries: Vec<PathBuf>, allow| {
            check_distinct(
                &[("--claims", &claims), ("--beneficiaries", &beneficiaries)],
                allow,
            )
        };
        // Equal contents are two files; a missing file is left to opening.
        assert!(check(vec![a.clone(), b.clone()], vec![a.clone()], false).is_ok());
        assert!(check(vec![missing.clone(), missing.clone()], vec![], false).is_ok());
        let e = check(vec![a.clone(), b.clone(), dotted.clone()], vec![], false).unwrap_err();
        assert!(matches!(
            &e,
            SameInput::File { flag: "--claims", first, second } if *first == a && *second == dotted
        ));
        assert!(e.to_string().contains("--allow-same-file"), "{e}");
        let e = check(vec![], vec![b.clone(), b.clone()], false).unwrap_err();
        assert!(
            matches!(
                e,
                SameInput::File {
                    flag: "--beneficiaries",
                    ..
                }
            ),
            "{e}"
        );
        assert!(check(vec![a.clone(), dotted], vec![], true).is_ok());
        assert_eq!(
            crate::error::Classify::kind(&e),
            crate::error::ErrorKind::Usage
        );
        // Standard input once is fine; twice, in one list or two, never.
        assert!(check(vec![stdin.clone(), a.clone()], vec![b.clone()], false).is_ok());
        for allow in [false, true] {
            let e = check(vec![stdin.clone()], vec![stdin.clone()], allow).unwrap_err();
            assert!(
                matches!(
                    e,
                    SameInput::Stdin {
                        first: "--claims",
                        second: "--beneficiaries"
                    }
                ),
                "{e}"
            );
            let e = check(vec![stdin.clone(), stdin.clone()], vec![], allow).unwrap_err();
            assert!(matches!(e, SameInput::Stdin { .. }), "{e}");
        }
    }
}
