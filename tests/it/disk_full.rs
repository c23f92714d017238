//! Outputs to a full filesystem and to a read-only one: the command fails
//! with an environment error (exit 3) naming the path, leaves nothing that
//! looks complete, and removes its temporary files.
//!
//! Both need mounting a small tmpfs, which only root can do, and only
//! where the container allows it: elsewhere each test says so on stderr
//! and checks nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::{RECONCILE_GENERATED, run_to_success};

/// A tmpfs mounted over a fresh folder, unmounted when dropped.
struct Mount {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Mount {
    /// Mounts a tmpfs with `options` (`size=…`, `ro`), or `None` (having
    /// said why) where this machine does not allow it.
    fn tmpfs(options: &str) -> Option<Mount> {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("mnt");
        std::fs::create_dir(&path).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&path)
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(Mount { _dir: dir, path }),
            Ok(output) => {
                let said = String::from_utf8_lossy(&output.stderr);
                eprintln!("skipped: cannot mount a tmpfs here ({})", said.trim());
                None
            }
            Err(e) => {
                eprintln!("skipped: cannot run mount ({e})");
                None
            }
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// Generated data (200 beneficiaries: outputs of a few hundred KB) in a
/// fresh folder.
fn generated() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    let generate = ["generate", "--beneficiaries", "200", "--out", "gen"];
    run_to_success(dir.path(), &generate);
    dir
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_episode-recon"))
}

/// The commands that write, each writing into `out`.
fn commands(out: &Path) -> Vec<Vec<String>> {
    let out = out.display().to_string();
    let mut reconcile: Vec<String> = RECONCILE_GENERATED
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
    reconcile.push("--out".to_owned());
    let mut spilling = reconcile.clone();
    spilling.extend([
        format!("{out}/spilling"),
        "--memory-limit".into(),
        "1KiB".into(),
    ]);
    let mut plain = reconcile;
    plain.push(format!("{out}/run"));
    let convert = vec![
        "convert".to_owned(),
        "--claims".to_owned(),
        "gen/claims".to_owned(),
        "--out".to_owned(),
        format!("{out}/claims.csv"),
    ];
    vec![plain, spilling, convert]
}

/// Runs every writing command into `mount` and checks each fails as an
/// environment error naming the mount, leaving it empty.
fn each_fails_leaving_nothing(mount: &Mount, what: &str) {
    let data = generated();
    for args in commands(&mount.path) {
        let output = bin()
            .args(&args)
            .current_dir(data.path())
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{what}, {args:?}: {stderr}");
        assert!(
            stderr.contains(&mount.path.display().to_string()),
            "{what}, {args:?}: the error does not name the path: {stderr}"
        );
        let left: Vec<_> = std::fs::read_dir(&mount.path)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert!(left.is_empty(), "{what}, {args:?}: left {left:?}: {stderr}");
    }
}

#[test]
fn outputs_to_a_full_filesystem_fail_naming_the_path_and_leave_nothing() {
    // Smaller than any of the outputs of 200 beneficiaries.
    let Some(mount) = Mount::tmpfs("size=32k") else {
        return;
    };
    each_fails_leaving_nothing(&mount, "full");
}

#[test]
fn outputs_to_a_read_only_folder_fail_naming_the_path() {
    let Some(mount) = Mount::tmpfs("ro,size=32k") else {
        return;
    };
    each_fails_leaving_nothing(&mount, "read-only");
}
