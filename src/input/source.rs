//! Opening an input once: a regular file, a FIFO, a process substitution,
//! or standard input (`-`); or, for a caller holding a table in memory,
//! its record batches ([`Input::Table`]).
//!
//! A stream can be read only once, from its start to its end, so nothing
//! here opens an input twice or seeks in it:
//!
//! - what must be known before reading (the format, from the first line)
//!   is *peeked*: read into a buffer that the reader then reads first, so
//!   detection consumes nothing ([`Source::first_line`]);
//! - what must be found again after reading (the raw text of a row that
//!   only the version checks reject, once every row of its claim has been
//!   seen) is re-read from the file itself when it is a regular file, and
//!   from a *spool*, a copy written while the stream is read, when it is
//!   not ([`Source::reread_path`]). Keeping every row's text in memory
//!   instead would double the memory of a run for the sake of a few
//!   rejects.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
#[cfg(feature = "parquet")]
use std::sync::Arc;

use crate::input::compressed;
use crate::runtime::cleanup::{SPOOL_PREFIX, TempDir};

/// The name that stands for standard input.
pub const STDIN: &str = "-";

/// At most this many bytes are peeked for a first line: a header longer
/// than this is no header of a format the engine knows.
const PEEK_LIMIT: usize = 1 << 20;

/// Whether `path` names standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == STDIN
}

/// An input opened for its one reading: the bytes peeked so far, then the
/// rest of the stream.
pub struct Source {
    name: PathBuf,
    head: Vec<u8>,
    /// How much of `head` has been read.
    consumed: usize,
    rest: Box<dyn Read + Send>,
    reread: Option<PathBuf>,
    /// A plain regular file: its offsets are the file's.
    seekable: bool,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("reread", &self.reread)
            .finish_non_exhaustive()
    }
}

impl Source {
    /// Opens `path` (`-` for standard input). A regular file is re-read
    /// from itself; any other input is copied, as it is read, into a spool
    /// file in `spools` when given, and cannot be re-read without one. A
    /// compressed input (gzip, zstd) is read as its decompressed text
    /// ([`compressed::decoded`]); its spool is a copy of the compressed
    /// bytes, and it is re-read by decompressing it again.
    pub fn open(path: &Path, spools: Option<&mut Spools>) -> io::Result<Source> {
        let (raw, regular): (Box<dyn Read + Send>, bool) = if is_stdin(path) {
            (Box::new(io::stdin()), false)
        } else {
            let file = File::open(path)?;
            let regular = file.metadata()?.is_file();
            (Box::new(file), regular)
        };
        let (raw, reread) = match spools {
            _ if regular => (raw, Some(path.to_path_buf())),
            Some(spools) => {
                let (copy, spool) = spools.create()?;
                let tee: Box<dyn Read + Send> = Box::new(Tee {
                    inner: raw,
                    copy: BufWriter::with_capacity(1 << 20, copy),
                });
                (tee, Some(spool))
            }
            None => (raw, None),
        };
        let (rest, compression) = compressed::decoded(raw, path)?;
        Ok(Source {
            name: path.to_path_buf(),
            head: Vec::new(),
            consumed: 0,
            rest,
            reread,
            seekable: regular && compression.is_none(),
        })
    }

    /// A source over bytes already in memory, named `name` (tests, and
    /// inputs that come from elsewhere than a file).
    pub fn from_bytes(name: &Path, bytes: Vec<u8>) -> Source {
        Source {
            name: name.to_path_buf(),
            head: bytes,
            consumed: 0,
            rest: Box::new(io::empty()),
            reread: None,
            seekable: false,
        }
    }

    /// The input as given, for messages.
    pub fn name(&self) -> &Path {
        &self.name
    }

    /// Where the input's bytes can be read again, at the same offsets, once
    /// it has been read (with [`compressed::Reopened`]): the file itself,
    /// or its spool; `None` for a stream opened without spools.
    pub fn reread_path(&self) -> Option<&Path> {
        self.reread.as_deref()
    }

    /// Whether the input is a plain regular file, which can be read again
    /// from any offset even while it is being read (a spool is complete
    /// only once its stream has been read, and a compressed file is read
    /// again only by decompressing it from its start).
    pub fn rereads_itself(&self) -> bool {
        self.seekable
    }

    /// The first line that is not blank, with its line end, peeked without
    /// consuming it: empty when the input holds only blank lines, and cut
    /// at [`PEEK_LIMIT`] bytes. Call it before reading.
    pub fn first_line(&mut self) -> io::Result<&[u8]> {
        let mut start = 0;
        loop {
            if let Some(end) = self.head[start..].iter().position(|&b| b == b'\n') {
                let line = start..start + end + 1;
                if !self.head[line.clone()].trim_ascii().is_empty() {
                    return Ok(&self.head[line]);
                }
                start = line.end;
                continue;
            }
            if self.head.len() >= PEEK_LIMIT || !self.peek_more()? {
                let rest = &self.head[start..];
                return Ok(if rest.trim_ascii().is_empty() {
                    &[]
                } else {
                    rest
                });
            }
        }
    }

    /// Whether the input starts with `magic` (a binary format's signature,
    /// such as Parquet's `PAR1`), peeked without consuming anything. Call
    /// it before reading.
    pub fn starts_with(&mut self, magic: &[u8]) -> io::Result<bool> {
        while self.head.len() < magic.len() && self.peek_more()? {}
        Ok(self.head.starts_with(magic))
    }

    /// Reads more of the stream into the peeked bytes; `false` at its end.
    fn peek_more(&mut self) -> io::Result<bool> {
        let len = self.head.len();
        self.head.resize(len + (64 << 10), 0);
        let read = loop {
            match self.rest.read(&mut self.head[len..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.head.truncate(len + *read.as_ref().unwrap_or(&0));
        Ok(read? > 0)
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.consumed < self.head.len() {
            let n = (&self.head[self.consumed..]).read(buf)?;
            self.consumed += n;
            if self.consumed == self.head.len() {
                self.head = Vec::new();
                self.consumed = 0;
            }
            return Ok(n);
        }
        self.rest.read(buf)
    }
}

/// A stream copied into its spool as it is read; the copy is flushed when
/// the stream ends, so a spool is complete once its input has been read.
struct Tee {
    inner: Box<dyn Read + Send>,
    copy: BufWriter<File>,
}

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        if n == 0 && !buf.is_empty() {
            self.copy.flush()?;
        }
        Ok(n)
    }
}

/// The spool files of one command's stream inputs: a hidden folder in
/// `parent` (the spill folder's place), made at the first stream, removed
/// with the value and on interrupt.
#[derive(Debug)]
pub struct Spools {
    parent: PathBuf,
    dir: Option<TempDir>,
    made: usize,
}

impl Spools {
    /// Spools in a folder made in `parent` when first needed.
    pub fn new(parent: &Path) -> Spools {
        Spools {
            parent: parent.to_path_buf(),
            dir: None,
            made: 0,
        }
    }

    /// A new spool file, open for writing, and its path.
    fn create(&mut self) -> io::Result<(File, PathBuf)> {
        let dir = match &mut self.dir {
            Some(dir) => dir,
            None => self
                .dir
                .insert(TempDir::new_in(&self.parent, SPOOL_PREFIX)?),
        };
        self.made += 1;
        let path = dir.path().join(format!("input-{}", self.made));
        Ok((File::create(&path)?, path))
    }
}

/// One claims or beneficiaries input of a run: a file the user named (or
/// `-`), or a table the caller holds in memory (feature `parquet`: a
/// Python table), which has no path and goes by a name that says what it
/// is (`<claims table>`) in errors and in rejects.
#[derive(Clone, Debug)]
pub enum Input {
    /// A file, a folder's file, a FIFO or standard input.
    File(PathBuf),
    /// A table's record batches, read once.
    #[cfg(feature = "parquet")]
    Table(Arc<crate::input::arrow::BatchStream>),
}

impl Input {
    /// Each of `paths`, as a file input.
    pub fn files(paths: impl IntoIterator<Item = PathBuf>) -> Vec<Input> {
        paths.into_iter().map(Input::File).collect()
    }

    /// The input as given: its path, or the table's name.
    pub fn name(&self) -> &Path {
        match self {
            Input::File(path) => path,
            #[cfg(feature = "parquet")]
            Input::Table(table) => table.name(),
        }
    }

    /// The file's path; `None` for a table.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Input::File(path) => Some(path),
            #[cfg(feature = "parquet")]
            Input::Table(_) => None,
        }
    }

    /// Whether the input can be read again from its start: a regular file
    /// (compressed or not), not a stream or a table's batches. Only then
    /// may a run read its claims optimistically (RULES 46c).
    pub fn reads_again(&self) -> bool {
        self.path().is_some_and(|path| {
            !is_stdin(path) && std::fs::metadata(path).is_ok_and(|m| m.is_file())
        })
    }
}

impl From<PathBuf> for Input {
    fn from(path: PathBuf) -> Input {
        Input::File(path)
    }
}

/// An input opened for its one reading: the bytes of a file or stream, or
/// a table's batches.
#[derive(Debug)]
pub enum Opened {
    /// A file or stream.
    Bytes(Source),
    /// A table held in memory.
    #[cfg(feature = "parquet")]
    Table(Arc<crate::input::arrow::BatchStream>),
}

impl From<Source> for Opened {
    fn from(source: Source) -> Opened {
        Opened::Bytes(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(source: &mut Source) -> Vec<u8> {
        let mut all = Vec::new();
        source.read_to_end(&mut all).unwrap();
        all
    }

    #[test]
    fn peeking_the_first_line_consumes_nothing() {
        let mut source = Source::from_bytes(Path::new("x"), b"\n  \r\na,b\n1,2\n".to_vec());
        assert_eq!(source.first_line().unwrap(), b"a,b\n");
        assert_eq!(source.first_line().unwrap(), b"a,b\n");
        assert_eq!(read_all(&mut source), b"\n  \r\na,b\n1,2\n");
    }

    #[test]
    fn a_first_line_without_line_end_and_blank_inputs() {
        let mut source = Source::from_bytes(Path::new("x"), b"\n\na,b".to_vec());
        assert_eq!(source.first_line().unwrap(), b"a,b");
        let mut blank = Source::from_bytes(Path::new("x"), b"\n \n".to_vec());
        assert_eq!(blank.first_line().unwrap(), b"");
        assert_eq!(read_all(&mut blank), b"\n \n");
    }

    /// A FIFO is read once and spooled; the spool is a copy of what came
    /// in, so a compressed stream's is compressed, read again as the file
    /// would be.
    #[cfg(unix)]
    #[test]
    fn a_fifo_is_read_once_and_spooled_for_rereading() {
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("row {i}\n").into_bytes())
            .collect();
        let zst = compressed::Compression::Zstd.encode(&text).unwrap();
        for (name, written) in [("claims.csv", text.clone()), ("claims.csv.zst", zst)] {
            let dir = tempfile::tempdir().unwrap();
            let fifo = dir.path().join(name);
            let status = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap();
            assert!(status.success());
            let writer = {
                let (fifo, written) = (fifo.clone(), written.clone());
                std::thread::spawn(move || std::fs::write(fifo, written).unwrap())
            };
            let mut spools = Spools::new(dir.path());
            let mut source = Source::open(&fifo, Some(&mut spools)).unwrap();
            assert_eq!(source.first_line().unwrap(), b"row 0\n");
            assert!(read_all(&mut source) == text, "{name}");
            writer.join().unwrap();
            let spool = source.reread_path().unwrap().to_path_buf();
            assert_ne!(spool, fifo);
            assert!(std::fs::read(&spool).unwrap() == written, "{name}");
            drop(spools);
            assert!(!spool.exists(), "spools are removed with their folder");
        }
    }

    #[test]
    fn a_compressed_input_is_read_as_text_and_reread_compressed() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"\n\na,b\n1,2\n".to_vec();
        let gz = compressed::Compression::Gzip.encode(&text).unwrap();
        let path = dir.path().join("c.csv.gz");
        std::fs::write(&path, &gz).unwrap();
        let mut spools = Spools::new(dir.path());
        let mut source = Source::open(&path, Some(&mut spools)).unwrap();
        assert_eq!(source.first_line().unwrap(), b"a,b\n");
        assert_eq!(read_all(&mut source), text);
        // Re-read from the file itself, by decompressing it again: no
        // spool, and no seeking in it while it is read.
        assert_eq!(source.reread_path(), Some(path.as_path()));
        assert!(!source.rereads_itself());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_regular_file_is_reread_from_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        std::fs::write(&path, "a\n").unwrap();
        let mut spools = Spools::new(dir.path());
        let source = Source::open(&path, Some(&mut spools)).unwrap();
        assert_eq!(source.reread_path(), Some(path.as_path()));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
