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
//!
//! SIGKILL (the OOM killer, `kill -9`, a power cut) runs no handler at
//! all, so every such folder and file also carries its owner: the process
//! id in its name, and an exclusive `flock` on it ([`OwnerLock`]) that the
//! process holds for as long as it uses it and the kernel drops when the
//! process dies, however it dies. The next writing command removes, beside
//! its `--out`, what a dead process left ([`remove_leftovers`]): only an
//! entry whose process is gone *and* whose lock nobody holds, so a live
//! run's folder is never touched, even if its process id was reused.

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

/// An exclusive lock on a temporary folder or file, held by the process
/// that uses it and released when dropped or when the process dies.
///
/// The lock is `flock(2)` on the entry itself (a folder can be locked
/// too), not on a lock file inside it: it then follows the folder through
/// the rename into place, and no lock file can end up among the outputs.
/// `flock` locks of two opens conflict even within one process, so a test
/// can stand for another live process.
#[derive(Debug)]
pub struct OwnerLock {
    /// Open for as long as the lock is held; `None` where there are no
    /// locks.
    _file: Option<std::fs::File>,
}

impl OwnerLock {
    /// Locks `path` (a folder or a file); `Ok(None)` when another open
    /// holds it. Where `flock` does not exist (not Unix) nothing is opened
    /// or locked, and every process is taken as alive, so no entry is ever
    /// judged abandoned there.
    pub fn try_lock(path: &Path) -> io::Result<Option<OwnerLock>> {
        if cfg!(not(unix)) {
            return Ok(Some(OwnerLock { _file: None }));
        }
        let file = std::fs::File::open(path)?;
        Ok(os::try_lock(&file)?.then_some(OwnerLock { _file: Some(file) }))
    }

    /// Locks `path`, which this process has just made: no other process
    /// knows it yet, so the lock is always free.
    fn new_owned(path: &Path) -> io::Result<OwnerLock> {
        OwnerLock::try_lock(path)?.ok_or_else(|| {
            io::Error::other(format!("{}: locked by another process", path.display()))
        })
    }
}

/// What the operating system says about locks and processes.
#[cfg(unix)]
mod os {
    use std::fs::File;
    use std::io;
    use std::os::fd::AsRawFd;

    /// Takes an exclusive `flock` on `file` without waiting: `Ok(false)`
    /// when another open holds one.
    pub fn try_lock(file: &File) -> io::Result<bool> {
        // SAFETY: flock only reads the descriptor, which `file` keeps open
        // for the duration of the call.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if locked == 0 {
            return Ok(true);
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EWOULDBLOCK) => Ok(false),
            _ => Err(error),
        }
    }

    /// Whether a process with this id exists (a zombie counts: its id is
    /// not free yet). An id that does not fit `pid_t`, or 0, is taken as
    /// alive, so nothing of it is removed.
    pub fn process_alive(pid: u32) -> bool {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        if pid <= 0 {
            return true;
        }
        // SAFETY: signal 0 sends nothing; kill only checks that the
        // process exists and may be signalled.
        let sent = unsafe { libc::kill(pid, 0) };
        sent == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
}

/// Without `flock` and `kill`: locks are not taken (every one "succeeds")
/// and every process is taken as alive, so nothing is ever removed as
/// abandoned.
#[cfg(not(unix))]
mod os {
    use std::fs::File;
    use std::io;

    pub fn try_lock(_: &File) -> io::Result<bool> {
        Ok(true)
    }

    pub fn process_alive(_: u32) -> bool {
        true
    }
}

/// The name a `--force`d replacement gives the folder it replaces while
/// the new one is moved in: `.{name}.replaced-{pid}`, beside it.
pub fn set_aside_name(name: &str, pid: u32) -> String {
    format!(".{name}.replaced-{pid}")
}

/// What an entry left by this program is, read from its name.
#[derive(Debug, PartialEq, Eq)]
enum Leftover<'a> {
    /// A staging folder, a staged file or a spill folder: removed.
    Temporary,
    /// A folder a `--force`d replacement moved aside ([`set_aside_name`]):
    /// put back as `name` if nothing took its place (the replacement did
    /// not finish, so the earlier run still stands), removed otherwise.
    SetAside {
        /// The folder's name before it was moved aside.
        name: &'a str,
    },
}

/// The owner's process id and kind of a temporary entry, from its name:
/// `.{name}.partial-{pid}` and `.{name}.partial-{pid}-{anything}`
/// (staging, staged files), `.{prefix}-{pid}-{n}` for the spill prefix,
/// and [`set_aside_name`]'s. Anything else is not ours and is `None`.
fn leftover(name: &str) -> Option<(u32, Leftover<'_>)> {
    let digits = |text: &str| {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u32>().ok())
            .flatten()
    };
    let hidden = name.strip_prefix('.')?;
    if let Some(rest) = [SPILL_PREFIX, SPOOL_PREFIX]
        .iter()
        .find_map(|prefix| hidden.strip_prefix(prefix))
        .and_then(|rest| rest.strip_prefix('-'))
    {
        let (pid, n) = rest.split_once('-')?;
        digits(n)?;
        return Some((digits(pid)?, Leftover::Temporary));
    }
    if let Some((name, pid)) = hidden.rsplit_once(".replaced-") {
        return Some((digits(pid)?, Leftover::SetAside { name })).filter(|_| !name.is_empty());
    }
    let (before, rest) = hidden.rsplit_once(".partial-")?;
    if before.is_empty() {
        return None;
    }
    let pid = rest.split_once('-').map_or(rest, |(pid, _)| pid);
    Some((digits(pid)?, Leftover::Temporary))
}

/// The prefix of spill folders (`.episode-recon-spill-{pid}-{n}`).
pub const SPILL_PREFIX: &str = "episode-recon-spill";

/// The prefix of the folders where streams are spooled
/// (`.episode-recon-spool-{pid}-{n}`, [`crate::input::source::Spools`]).
pub const SPOOL_PREFIX: &str = "episode-recon-spool";

/// Removes from `parent` the temporary entries of processes that are gone
/// (killed with SIGKILL, say, which no handler sees): staging folders,
/// staged files and spill folders; a folder a `--force`d replacement moved
/// aside is put back when nothing took its place. An entry is left alone
/// while its process exists or anyone holds its [`OwnerLock`], and
/// whatever is not named as this program names them.
///
/// Best effort: an entry that cannot be removed is logged and left for a
/// later run. Returns the entries removed or put back, for the log.
pub fn remove_leftovers(parent: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut handled = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        let Some((pid, kind)) = leftover(name) else {
            continue;
        };
        if os::process_alive(pid) {
            continue;
        }
        let path = entry.path();
        // Held while removing, so two runs starting together do not both
        // work on it; `None` means its owner is alive after all.
        let Ok(Some(_lock)) = OwnerLock::try_lock(&path) else {
            continue;
        };
        let restore = match kind {
            Leftover::SetAside { name } => {
                Some(parent.join(name)).filter(|target| std::fs::symlink_metadata(target).is_err())
            }
            Leftover::Temporary => None,
        };
        let done = match &restore {
            Some(target) => std::fs::rename(&path, target),
            None => {
                remove_path(&path);
                match std::fs::symlink_metadata(&path) {
                    Err(_) => Ok(()),
                    Ok(_) => Err(io::Error::other("still there")),
                }
            }
        };
        match (done, restore) {
            (Ok(()), Some(target)) => tracing::warn!(
                "put back {}: process {pid} was killed while replacing it",
                target.display()
            ),
            (Ok(()), None) => tracing::info!("removed {}, left by process {pid}", path.display()),
            (Err(error), _) => {
                tracing::warn!(
                    "cannot remove {}, left by process {pid}: {error}",
                    path.display()
                );
                continue;
            }
        }
        handled.push(path);
    }
    handled
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
        // The file's own descriptor holds the lock, so it lasts as long as
        // the file is open here, and follows it when it is persisted.
        if !os::try_lock(file.as_file())? {
            return Err(io::Error::other(format!(
                "{}: locked by another process",
                path.display()
            )));
        }
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
    /// Marks the folder as this live process's (see [`remove_leftovers`]);
    /// `None` once kept.
    lock: Option<OwnerLock>,
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
                    // Still under the registry lock: an interrupt now
                    // removes the folder whether or not it is locked.
                    let lock = match OwnerLock::new_owned(&path) {
                        Ok(lock) => lock,
                        Err(error) => {
                            let _ = std::fs::remove_dir(&path);
                            paths.pop();
                            return Err(error);
                        }
                    };
                    return Ok(TempDir {
                        path,
                        armed: true,
                        lock: Some(lock),
                    });
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

    /// Unregisters and unlocks the folder and returns it without removing
    /// it, for a staging folder once it has been renamed into place.
    pub fn keep(mut self) -> PathBuf {
        self.armed = false;
        self.lock = None;
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

/// The id of a process that surely no longer exists: a child that ran,
/// exited and was waited for (so it is not even a zombie). Its id could
/// only come back after the system cycled through every other one.
#[cfg(all(test, unix))]
pub(crate) fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    assert!(!os::process_alive(pid), "{pid} is still alive");
    pid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftover_names_are_read_and_others_are_not_ours() {
        let temporary = |pid| Some((pid, Leftover::Temporary));
        assert_eq!(leftover(".out.partial-12"), temporary(12));
        assert_eq!(leftover(".out.partial-12-3"), temporary(12));
        assert_eq!(leftover(".claims.csv.partial-12-aB3xYz"), temporary(12));
        assert_eq!(leftover(".a.partial-b.partial-7-1"), temporary(7));
        assert_eq!(leftover(".episode-recon-spill-12-0"), temporary(12));
        assert_eq!(leftover(".episode-recon-spool-13-2"), temporary(13));
        assert_eq!(
            leftover(".run 1.replaced-99"),
            Some((99, Leftover::SetAside { name: "run 1" }))
        );
        for name in [
            "out.partial-12",
            ".partial-12",
            ".out.partial-",
            ".out.partial-x1",
            ".out.replaced-12x",
            ".replaced-12",
            ".episode-recon-spill-12",
            ".episode-recon-spill-x-1",
            ".out.partial-99999999999",
            ".git",
        ] {
            assert_eq!(leftover(name), None, "{name}");
        }
    }

    /// A killed run, simulated: the entries a process leaves, named after a
    /// process that no longer exists. Each is removed, the folder a
    /// replacement set aside is put back, and nothing else is touched:
    /// not this live process's, not a dead id's that someone holds locked
    /// (a live run whose id was reused), not what is not named as ours.
    #[cfg(unix)]
    #[test]
    fn leftovers_of_a_dead_process_are_removed_and_a_live_ones_kept() {
        let parent = tempfile::tempdir().unwrap();
        let at = |name: &str| parent.path().join(name);
        let dead = dead_pid();
        let own = std::process::id();
        for folder in [
            format!(".out.partial-{dead}-0"),
            format!(".episode-recon-spill-{dead}-4"),
            format!(".run.replaced-{dead}"),
            format!(".locked.partial-{dead}-0"),
            format!(".mine.partial-{own}-0"),
            format!(".episode-recon-spill-{own}-1"),
            "kept".to_owned(),
            ".config".to_owned(),
        ] {
            std::fs::create_dir(at(&folder)).unwrap();
            std::fs::write(at(&folder).join("part-0"), b"data").unwrap();
        }
        std::fs::write(at(&format!(".claims.csv.partial-{dead}-xY12ab")), b"a,b").unwrap();
        std::fs::write(at(&format!("notes.partial-{dead}")), b"mine").unwrap();
        let held = OwnerLock::try_lock(&at(&format!(".locked.partial-{dead}-0")))
            .unwrap()
            .unwrap();

        let mut handled = remove_leftovers(parent.path());
        handled.sort();
        let mut expected = vec![
            at(&format!(".out.partial-{dead}-0")),
            at(&format!(".episode-recon-spill-{dead}-4")),
            at(&format!(".run.replaced-{dead}")),
            at(&format!(".claims.csv.partial-{dead}-xY12ab")),
        ];
        expected.sort();
        assert_eq!(handled, expected);

        let mut left: Vec<String> = std::fs::read_dir(parent.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut kept = vec![
            ".config".to_owned(),
            format!(".episode-recon-spill-{own}-1"),
            format!(".locked.partial-{dead}-0"),
            format!(".mine.partial-{own}-0"),
            "kept".to_owned(),
            format!("notes.partial-{dead}"),
            "run".to_owned(),
        ];
        kept.sort();
        assert_eq!(left, kept);
        assert_eq!(std::fs::read(at("run/part-0")).unwrap(), b"data");

        // Once its lock is let go, the dead id's folder goes too.
        drop(held);
        assert_eq!(
            remove_leftovers(parent.path()),
            [at(&format!(".locked.partial-{dead}-0"))]
        );
    }

    /// A folder set aside is removed, not put back, when a folder of its
    /// name exists: the replacement finished before its process died.
    #[cfg(unix)]
    #[test]
    fn a_set_aside_folder_is_removed_when_its_replacement_is_in_place() {
        let parent = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let aside = parent.path().join(set_aside_name("run", dead));
        std::fs::create_dir(&aside).unwrap();
        std::fs::write(aside.join("old"), b"old").unwrap();
        std::fs::create_dir(parent.path().join("run")).unwrap();
        std::fs::write(parent.path().join("run/new"), b"new").unwrap();
        assert_eq!(
            remove_leftovers(parent.path()),
            std::slice::from_ref(&aside)
        );
        assert!(!aside.exists());
        assert_eq!(
            std::fs::read(parent.path().join("run/new")).unwrap(),
            b"new"
        );
        assert!(!parent.path().join("run/old").exists());
    }

    /// The folders and files this process makes are locked while it uses
    /// them, so no other run takes them for a dead one's.
    #[cfg(unix)]
    #[test]
    fn temporary_folders_and_staged_files_are_locked_while_in_use() {
        let parent = tempfile::tempdir().unwrap();
        let dir = TempDir::new_in(parent.path(), "spill").unwrap();
        assert!(OwnerLock::try_lock(dir.path()).unwrap().is_none());
        let staged = StagedFile::new_in(parent.path(), "claims.csv").unwrap();
        assert!(OwnerLock::try_lock(staged.path()).unwrap().is_none());
        let kept = dir.keep();
        assert!(OwnerLock::try_lock(&kept).unwrap().is_some());
    }

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
