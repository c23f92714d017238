//! Temporary files that must not outlive the run, even when it is
//! interrupted.
//!
//! Spilling and staging write into hidden folders (and `convert` into
//! hidden files) next to the outputs. A guard's `Drop` removes them on
//! success and on error, but Ctrl-C (or SIGTERM) ends the process without
//! unwinding, so every such path is also recorded in a process-wide
//! registry that the interrupt handler empties before exiting with status
//! 130. The binary installs the handler for every command.
//!
//! A path is created and registered under the registry's lock, and the
//! handler keeps that lock until the process exits, so a path is either
//! seen (and removed) by the handler or never created at all.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

/// Paths to remove if the process is interrupted, in registration order.
static REGISTRY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Guards the one-time installation of the interrupt handler.
static HANDLER: Once = Once::new();

/// Set by the interrupt handler before it removes anything.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Tells folders of the same process and prefix apart.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How many names `TempDir::new_in` tries before giving up: only stale
/// folders left by a killed process with the same pid can collide.
const MAX_ATTEMPTS: u32 = 1000;

/// The registry, even if a thread panicked while holding it: the list stays
/// valid whatever the panic, and cleanup must still happen.
fn registry() -> MutexGuard<'static, Vec<PathBuf>> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Records `path` (a folder or a file) to be removed if the process is
/// interrupted, so Ctrl-C does not leave it behind.
pub fn register(path: &Path) {
    registry().push(path.to_path_buf());
}

/// Forgets `path`, once it has been removed or moved into place and must no
/// longer be deleted on interrupt. Removes one registration per call.
pub fn unregister(path: &Path) {
    let mut paths = registry();
    if let Some(at) = paths.iter().rposition(|p| p == path) {
        paths.remove(at);
    }
}

/// Whether an interrupt has been received: the handler is removing the
/// temporary files and the process is about to exit with status 130, so an
/// I/O error seen now is a consequence, not something to report.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Installs the Ctrl-C handler that removes every registered path, prints
/// `interrupted: temporary files removed` on stderr and exits with status
/// 130. Safe to call more than once; only the first call installs.
///
/// SIGINT is always handled; SIGTERM is handled when the `ctrlc` crate's
/// `termination` feature is enabled. If another handler is already
/// installed, a warning is logged and the registry is still kept (guards
/// remove their folders on drop either way).
pub fn install_interrupt_handler() {
    HANDLER.call_once(|| {
        if let Err(error) = ctrlc::set_handler(on_interrupt) {
            tracing::warn!("cannot install the interrupt handler: {error}");
        }
    });
}

/// The handler: removes every registered path, newest first (so a file
/// registered inside a folder goes before the folder), and exits. The lock
/// is never released, so no new temporary folder can appear meanwhile.
fn on_interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let paths = registry();
    for path in paths.iter().rev() {
        remove_path(path);
    }
    eprintln!("interrupted: temporary files removed");
    std::process::exit(130);
}

/// How many times the handler tries to remove a folder: other threads keep
/// running while it does, and one may create a file in the folder between
/// `remove_dir_all` listing it and removing it (the removal then fails on a
/// folder that is not empty). Once the folder is gone, nothing can be
/// created in it any more, so a few tries are enough.
const REMOVE_ATTEMPTS: u32 = 20;

/// Removes a folder with its contents, or a file; errors are ignored since
/// there is nothing more to do about them.
fn remove_path(path: &Path) {
    for _ in 0..REMOVE_ATTEMPTS {
        let removed = match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
            Ok(_) => std::fs::remove_file(path),
            Err(_) => return,
        };
        if removed.is_ok() {
            return;
        }
    }
}

/// Runs `create`, which makes a file or folder, and registers the path
/// `path_of` gives, both under the registry's lock: the handler then
/// either sees the new path (and removes it) or runs before it is created
/// and never returns, so nothing created here can outlive an interrupt.
pub fn create_registered<T>(
    create: impl FnOnce() -> io::Result<T>,
    path_of: impl FnOnce(&T) -> &Path,
) -> io::Result<T> {
    let mut paths = registry();
    let created = create()?;
    paths.push(path_of(&created).to_path_buf());
    Ok(created)
}

/// A hidden file staged beside its final name and renamed into place when
/// complete, registered for removal on interrupt.
///
/// [`tempfile::NamedTempFile`] removes its file when dropped, but a signal
/// handler ends the process with `exit`, which runs no `Drop`: without the
/// registration an interrupted conversion would leave the file behind.
#[derive(Debug)]
pub struct StagedFile {
    /// `None` only once persisted or dropped.
    file: Option<tempfile::NamedTempFile>,
    /// The staged file's path, as registered.
    path: PathBuf,
}

impl StagedFile {
    /// Creates `.{name}.partial-{pid}-XXXXXX` in `parent`, where `name` is
    /// the final file's name: hidden, and named like the staging folders of
    /// [`crate::output::report::write_folder`], so a leftover can be traced to its
    /// output and process. Created as any new file is (the umask applies),
    /// not owner-only.
    pub fn new_in(parent: &Path, name: &str) -> io::Result<StagedFile> {
        let parent = std::path::absolute(parent)?;
        let prefix = format!(".{name}.partial-{}-", std::process::id());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let file = create_registered(|| builder.tempfile_in(&parent), |f| f.path())?;
        let path = file.path().to_path_buf();
        Ok(StagedFile {
            file: Some(file),
            path,
        })
    }

    /// The staged file's path (absolute).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the staged file to `target`, then forgets it (an interrupt
    /// in between finds nothing left to remove). On failure the staged
    /// file is removed.
    pub fn persist(mut self, target: &Path) -> io::Result<()> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        let result = file.persist(target).map(drop).map_err(|e| {
            drop(e.file);
            e.error
        });
        unregister(&self.path);
        result
    }
}

impl io::Write for StagedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(file) => file.write(buf),
            None => Err(io::Error::other("the staged file was already persisted")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for StagedFile {
    /// Removes the file first, then forgets it: the other order would
    /// leave a moment where an interrupt finds it unregistered but present.
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            drop(file);
            unregister(&self.path);
        }
    }
}

/// A hidden temporary folder, registered for removal on interrupt, removed
/// when dropped (on success and on error alike) unless [`TempDir::keep`]
/// hands it over.
#[derive(Debug)]
pub struct TempDir {
    /// Absolute, so a change of working directory cannot redirect removal.
    path: PathBuf,
    /// False once kept: then dropping leaves the folder alone.
    armed: bool,
}

impl TempDir {
    /// Creates `.{prefix}-{pid}-{n}` in `parent`, with `n` the first number
    /// not yet taken, and registers it: hidden so listings of an output
    /// folder skip it, named after the process so a leftover can be traced.
    pub fn new_in(parent: &Path, prefix: &str) -> io::Result<TempDir> {
        let parent = std::path::absolute(parent)?;
        let pid = std::process::id();
        for _ in 0..MAX_ATTEMPTS {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!(".{prefix}-{pid}-{n}");
            // Created under the registry lock: see the module's notes.
            let mut paths = registry();
            let created = tempfile::Builder::new()
                .prefix(&name)
                .rand_bytes(0)
                .tempdir_in(&parent);
            match created {
                Ok(dir) => {
                    let path = dir.keep();
                    paths.push(path.clone());
                    return Ok(TempDir { path, armed: true });
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => {
                    return Err(io::Error::new(
                        error.kind(),
                        format!(
                            "cannot create a temporary folder in {}: {error}",
                            parent.display()
                        ),
                    ));
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "cannot create a temporary folder in {}: too many .{prefix}-{pid}-* exist",
                parent.display()
            ),
        ))
    }

    /// The folder (absolute).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Unregisters the folder and returns it without removing it, for a
    /// staging folder that is about to be renamed into place.
    pub fn keep(mut self) -> PathBuf {
        self.armed = false;
        unregister(&self.path);
        std::mem::take(&mut self.path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_dir_all(&self.path);
            unregister(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered(path: &Path) -> bool {
        registry().iter().any(|p| p == path)
    }

    #[test]
    fn temp_dir_is_hidden_registered_and_removed_on_drop() {
        let parent = tempfile::tempdir().unwrap();
        let dir = TempDir::new_in(parent.path(), "spill").unwrap();
        let path = dir.path().to_path_buf();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            name.starts_with(&format!(".spill-{}-", std::process::id())),
            "{name}"
        );
        assert!(path.is_dir());
        assert!(registered(&path));
        std::fs::write(path.join("data"), b"x").unwrap();
        drop(dir);
        assert!(!path.exists());
        assert!(!registered(&path));
    }

    #[test]
    fn kept_temp_dir_stays_and_is_unregistered() {
        let parent = tempfile::tempdir().unwrap();
        let dir = TempDir::new_in(parent.path(), "staging").unwrap();
        let expected = dir.path().to_path_buf();
        let path = dir.keep();
        assert_eq!(path, expected);
        assert!(path.is_dir());
        assert!(!registered(&path));
    }

    #[test]
    fn names_are_unique_and_a_stale_folder_is_skipped() {
        let parent = tempfile::tempdir().unwrap();
        let pid = std::process::id();
        // A leftover from an earlier process with this pid, at the next n.
        let next = COUNTER.load(Ordering::Relaxed);
        for n in next..next + 3 {
            let _ = std::fs::create_dir(parent.path().join(format!(".x-{pid}-{n}")));
        }
        let a = TempDir::new_in(parent.path(), "x").unwrap();
        let b = TempDir::new_in(parent.path(), "x").unwrap();
        assert_ne!(a.path(), b.path());
        assert!(a.path().is_dir() && b.path().is_dir());
    }

    #[test]
    fn relative_parent_gives_an_absolute_path() {
        // "." always exists, whatever the build folder is; the guard removes it.
        let dir = TempDir::new_in(Path::new("."), "rel").unwrap();
        assert!(dir.path().is_absolute());
    }

    #[test]
    fn missing_parent_is_an_error_naming_it() {
        let parent = tempfile::tempdir().unwrap();
        let missing = parent.path().join("no-such-folder");
        let error = TempDir::new_in(&missing, "x").unwrap_err();
        assert!(error.to_string().contains("no-such-folder"), "{error}");
    }

    #[test]
    fn staged_file_is_hidden_registered_and_removed_on_drop() {
        use std::io::Write;
        let parent = tempfile::tempdir().unwrap();
        let mut staged = StagedFile::new_in(parent.path(), "claims.csv").unwrap();
        let path = staged.path().to_path_buf();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            name.starts_with(&format!(".claims.csv.partial-{}-", std::process::id())),
            "{name}"
        );
        assert!(registered(&path));
        staged.write_all(b"x").unwrap();
        drop(staged);
        assert!(!path.exists());
        assert!(!registered(&path));
    }

    #[test]
    fn persisted_staged_file_is_in_place_and_unregistered() {
        use std::io::Write;
        let parent = tempfile::tempdir().unwrap();
        let mut staged = StagedFile::new_in(parent.path(), "out.csv").unwrap();
        let path = staged.path().to_path_buf();
        staged.write_all(b"a,b\n").unwrap();
        let target = parent.path().join("out.csv");
        staged.persist(&target).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"a,b\n");
        assert!(!path.exists());
        assert!(!registered(&path));
    }

    #[test]
    fn register_and_unregister_one_at_a_time() {
        let path = PathBuf::from("/nonexistent/episode-recon-cleanup-test");
        register(&path);
        register(&path);
        unregister(&path);
        assert!(registered(&path));
        unregister(&path);
        assert!(!registered(&path));
        unregister(&path);
    }

    /// Environment variable that turns the test below into the interrupted
    /// child process.
    #[cfg(unix)]
    const CHILD: &str = "EPISODE_RECON_CLEANUP_CHILD";

    /// In the child: installs the handler, makes a folder, signals itself
    /// and waits to be ended. In the parent: runs the child and checks the
    /// folder is gone, the message printed and the status 130.
    #[cfg(unix)]
    #[test]
    fn interrupt_removes_registered_folders_and_exits_130() {
        use std::process::Command;
        if let Ok(parent) = std::env::var(CHILD) {
            install_interrupt_handler();
            install_interrupt_handler();
            let dir = TempDir::new_in(Path::new(&parent), "interrupt").unwrap();
            std::fs::write(dir.path().join("part-0"), b"data").unwrap();
            let status = Command::new("kill")
                .args(["-INT", &std::process::id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            std::thread::sleep(std::time::Duration::from_secs(30));
            panic!("not interrupted");
        }
        let parent = tempfile::tempdir().unwrap();
        let output = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "runtime::cleanup::tests::interrupt_removes_registered_folders_and_exits_130",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, parent.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "{stderr}");
        assert!(
            stderr.contains("interrupted: temporary files removed"),
            "{stderr}"
        );
        let left: Vec<_> = std::fs::read_dir(parent.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
