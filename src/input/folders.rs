//! Reading a folder of inputs: the files with one extension, in name order.
//!
//! Claims folders and definitions folders are read the same way, so that
//! the order (and with it every "first" in an error message) does not depend
//! on the file system's listing order.

use std::io;
use std::path::{Path, PathBuf};

/// The files of `dir` (not its sub-folders) whose extension is `extension`,
/// sorted by name.
pub fn files_in(dir: &Path, extension: &str) -> io::Result<Vec<PathBuf>> {
    let mut files = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<Vec<PathBuf>>>()?;
    files.retain(|p| p.is_file() && p.extension().is_some_and(|e| e == extension));
    files.sort();
    Ok(files)
}
