//! Proof files on disk, content-addressed: a file's name is the SHA-256 of its bytes, so a retry writes
//! nothing new and a changed file no longer matches its name.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use uuid::Uuid;

pub struct ProofFiles {
    root: PathBuf,
    /// How many requests in flight wrote or found each file: a failed request takes back a file it
    /// wrote only when no other request holds it (the same photo sent with another proof).
    held: Mutex<HashMap<String, usize>>,
}

/// A file written by one request: `created` when the request wrote it, so that it is the request's to
/// take back if it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub name: String,
    pub created: bool,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

impl ProofFiles {
    pub fn open(root: PathBuf) -> io::Result<ProofFiles> {
        fs::create_dir_all(root.join("incoming"))?;
        Ok(ProofFiles { root, held: Mutex::default() })
    }

    /// Writes `bytes` under their hash, durably: written and synced under a temporary name, renamed into
    /// place, and the folder synced, before this returns. The file is held until [`ProofFiles::release`].
    pub async fn put(&self, bytes: Vec<u8>, extension: &'static str) -> io::Result<Stored> {
        let name = format!("{}.{extension}", sha256_hex(&bytes));
        let path = self.path(&name)?;
        let incoming = self.root.join("incoming").join(Uuid::now_v7().to_string());
        *self.holds().entry(name.clone()).or_default() += 1;
        let written = tokio::task::spawn_blocking(move || write_new(&path, &incoming, &bytes))
            .await
            .map_err(io::Error::other)
            .flatten();
        match written {
            Ok(created) => Ok(Stored { name, created }),
            Err(error) => {
                self.release(std::slice::from_ref(&name));
                Err(error)
            }
        }
    }

    /// Lets go of files this request held.
    pub fn release(&self, names: &[String]) {
        let mut held = self.holds();
        for name in names {
            if let Some(count) = held.get_mut(name) {
                *count -= 1;
                if *count == 0 {
                    held.remove(name);
                }
            }
        }
    }

    /// Removes a file the caller wrote and holds, unless another request holds it too.
    pub fn remove_unless_shared(&self, name: &str) -> io::Result<()> {
        let held = self.holds();
        if held.get(name).copied().unwrap_or(0) > 1 {
            return Ok(());
        }
        // Under the lock: a request that puts this file now waits, then finds it gone and writes it again.
        match fs::remove_file(self.path(name)?) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    fn holds(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub async fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        tokio::fs::read(self.path(name)?).await
    }

    /// Where a file lives: `ab/abcdef….jpg`, so that no folder grows too large. Only names this module
    /// makes are accepted; anything else (a path, `..`) is refused.
    fn path(&self, name: &str) -> io::Result<PathBuf> {
        let (hash, extension) = name.split_once('.').ok_or_else(|| invalid(name))?;
        let hex = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        if !hex || !matches!(extension, "jpg" | "png" | "webp") {
            return Err(invalid(name));
        }
        Ok(Path::new(&self.root).join(&hash[..2]).join(name))
    }
}

/// Writes a file that is not there yet; whether it wrote one.
fn write_new(path: &Path, incoming: &Path, bytes: &[u8]) -> io::Result<bool> {
    if path.exists() {
        return Ok(false);
    }
    let folder = path.parent().ok_or_else(|| io::Error::other("a proof file has a folder"))?;
    if !folder.exists() {
        fs::create_dir_all(folder)?;
        // The new folder's own entry must be on disk too.
        if let Some(parent) = folder.parent() {
            fs::File::open(parent)?.sync_all()?;
        }
    }
    let result = (|| {
        let mut file = fs::File::create(incoming)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(incoming, path)?;
        fs::File::open(folder)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(incoming);
    }
    result.map(|()| true)
}

fn invalid(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{name:?} is not a proof file name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_is_kept_under_its_hash_once() {
        let dir = tempfile::tempdir().unwrap();
        let files = ProofFiles::open(dir.path().to_path_buf()).unwrap();
        let first = files.put(b"proof".to_vec(), "png").await.unwrap();
        assert!(first.created);
        assert_eq!(first.name, format!("{}.png", sha256_hex(b"proof")));
        let again = files.put(b"proof".to_vec(), "png").await.unwrap();
        assert_eq!(again, Stored { name: first.name.clone(), created: false });
        assert_eq!(files.read(&first.name).await.unwrap(), b"proof");
        assert_eq!(fs::read_dir(dir.path().join("incoming")).unwrap().count(), 0);
        // Held twice: the first request's failure leaves it for the second.
        files.remove_unless_shared(&first.name).unwrap();
        assert!(files.read(&first.name).await.is_ok());
        files.release(std::slice::from_ref(&first.name));
        files.remove_unless_shared(&first.name).unwrap();
        assert!(files.read(&first.name).await.is_err());
    }

    #[tokio::test]
    async fn names_that_are_not_hashes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let files = ProofFiles::open(dir.path().to_path_buf()).unwrap();
        for name in
            ["../secret.png", "abc.png", &format!("{}.exe", "a".repeat(64)), &format!("{}/x.png", "a".repeat(62))]
        {
            assert_eq!(files.read(name).await.unwrap_err().kind(), io::ErrorKind::InvalidInput, "{name}");
        }
    }
}
