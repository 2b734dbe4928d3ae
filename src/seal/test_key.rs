//! Test peers of the seal's ports: a software P-256 key driven through the `openssl` command
//! (so that signatures are made by code we did not write), and a chain store in memory.

use super::SealError;
use crate::ports::{SealCertificateStore, SealKey};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Runs openssl with `args`; panics with its stderr when it fails (a test's setup).
pub fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs (the tests need the openssl command)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// An EC P-256 key made by `openssl ecparam`, signing with `openssl dgst -sha256 -sign`.
pub struct OpensslKey {
    pub dir: tempfile::TempDir,
    pub key: PathBuf,
    pub public_key_calls: AtomicUsize,
}

impl OpensslKey {
    pub fn generate() -> OpensslKey {
        let dir = tempfile::tempdir().unwrap();
        openssl(
            dir.path(),
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "key.pem",
            ],
        );
        let key = dir.path().join("key.pem");
        OpensslKey {
            dir,
            key,
            public_key_calls: AtomicUsize::new(0),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

#[async_trait]
impl SealKey for OpensslKey {
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SealError> {
        let file = tempfile::NamedTempFile::new_in(self.dir.path()).unwrap();
        std::fs::write(file.path(), message).unwrap();
        let key = self.key.to_str().unwrap();
        let input = file.path().to_str().unwrap();
        Ok(openssl(self.path(), &["dgst", "-sha256", "-sign", key, input]).stdout)
    }

    async fn public_key(&self) -> Result<Vec<u8>, SealError> {
        self.public_key_calls.fetch_add(1, Ordering::SeqCst);
        let key = self.key.to_str().unwrap();
        Ok(openssl(
            self.path(),
            &["ec", "-in", key, "-pubout", "-outform", "DER"],
        )
        .stdout)
    }
}

#[derive(Default)]
pub struct MemoryStore(pub Mutex<Option<String>>);

#[async_trait]
impl SealCertificateStore for MemoryStore {
    async fn get(&self) -> Result<Option<String>, SealError> {
        Ok(self.0.lock().unwrap().clone())
    }

    async fn put(&self, pem: &str) -> Result<(), SealError> {
        *self.0.lock().unwrap() = Some(pem.to_string());
        Ok(())
    }
}
