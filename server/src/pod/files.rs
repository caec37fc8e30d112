//! Proof files on disk, content-addressed: a file's name is the SHA-256 of its bytes, so a retry writes
//! nothing new and a changed file no longer matches its name.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use uuid::Uuid;

pub struct ProofFiles {
    root: PathBuf,
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
        Ok(ProofFiles { root })
    }

    /// Writes `bytes` under their hash, durably: written and synced under a temporary name, renamed into
    /// place, and the folder synced, before this returns.
    pub async fn put(&self, bytes: Vec<u8>, extension: &'static str) -> io::Result<Stored> {
        let name = format!("{}.{extension}", sha256_hex(&bytes));
        let path = self.path(&name)?;
        let incoming = self.root.join("incoming").join(Uuid::now_v7().to_string());
        tokio::task::spawn_blocking(move || {
            if path.exists() {
                return Ok(Stored { name, created: false });
            }
            let folder = path.parent().ok_or_else(|| io::Error::other("a proof file has a folder"))?;
            fs::create_dir_all(folder)?;
            let mut file = fs::File::create(&incoming)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&incoming, &path)?;
            fs::File::open(folder)?.sync_all()?;
            Ok(Stored { name, created: true })
        })
        .await
        .map_err(io::Error::other)?
    }

    pub async fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        tokio::fs::read(self.path(name)?).await
    }

    pub async fn remove(&self, name: &str) -> io::Result<()> {
        match tokio::fs::remove_file(self.path(name)?).await {
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
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
        files.remove(&first.name).await.unwrap();
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
