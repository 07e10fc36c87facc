//! Private files written safely: owner-only permissions, replace-by-rename so a reader or a crash never
//! sees half a file, and an advisory lock so two writers (the app and a CLI login) take turns.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;
use rand::Rng;

/// Creates `dir` (and parents); on Unix the folder itself becomes 0700.
pub(crate) fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Replaces `path` with `bytes`: a 0600 temp file in the same folder, fsync, rename over, fsync the
/// folder. After a crash the file holds either the old or the new content, never a mix.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{:016x}.tmp", rand::rng().random::<u64>()));
    let result = (|| {
        let mut f = create_private(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes the rename itself durable (Unix; elsewhere the rename is already journaled).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// An exclusive advisory lock on a lock file, held until dropped. Other processes (and other handles
/// in this process) using the same lock file wait for it.
pub(crate) struct FileLock {
    file: File,
    _path: PathBuf,
}

impl FileLock {
    pub(crate) fn acquire(path: &Path) -> io::Result<FileLock> {
        let file = Self::open(path)?;
        // Called through the trait: std's own File::lock is newer than our rust-version.
        FileExt::lock_exclusive(&file)?;
        Ok(FileLock {
            file,
            _path: path.to_path_buf(),
        })
    }
}

impl FileLock {
    /// The lock file, created owner-only when missing; its content is never used.
    fn open(path: &Path) -> io::Result<File> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(path)
    }

    /// [`FileLock::acquire`] without waiting: `None` while someone else holds it.
    pub(crate) fn try_acquire(path: &Path) -> io::Result<Option<FileLock>> {
        let file = Self::open(path)?;
        if !FileExt::try_lock_exclusive(&file)? {
            return Ok(None);
        }
        Ok(Some(FileLock {
            file,
            _path: path.to_path_buf(),
        }))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first just makes it prompt.
        let _ = FileExt::unlock(&self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn atomic_write_is_private_and_leaves_no_temp_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("secret");
        ensure_private_dir(&dir).unwrap();
        let file = dir.join("a.json");
        write_atomic(&file, b"one").unwrap();
        write_atomic(&file, b"two").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
        #[cfg(unix)]
        {
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&file), 0o600);
        }
    }

    #[test]
    fn lock_makes_read_modify_write_cycles_take_turns() {
        let tmp = tempfile::tempdir().unwrap();
        let counter = tmp.path().join("n");
        let lock = tmp.path().join("n.lock");
        write_atomic(&counter, b"0").unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (counter, lock) = (counter.clone(), lock.clone());
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        // Each cycle opens its own handle, as a second process would.
                        let _held = FileLock::acquire(&lock).unwrap();
                        let n: u32 = fs::read_to_string(&counter).unwrap().parse().unwrap();
                        std::thread::yield_now();
                        write_atomic(&counter, (n + 1).to_string().as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(fs::read_to_string(&counter).unwrap(), "100");
    }
}
