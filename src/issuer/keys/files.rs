//! Loading a [`KeyRing`] from PKCS#8 PEM files, or from a directory of them.

use super::{KeyRing, SigningKey};
use crate::config::ConfigError;
use std::fmt;
use std::path::{Path, PathBuf};

/// `path: message` for a key file.
fn file_error(path: &Path, msg: impl fmt::Display) -> ConfigError {
    ConfigError::new(format!("signing key file {}: {msg}", path.display()))
}

impl KeyRing {
    /// A ring loaded from PKCS#8 PEM files (`-----BEGIN PRIVATE KEY-----`,
    /// one key per file): the first file's key is active, the others stay
    /// published for verification, in the order given.
    ///
    /// Each key's algorithm is read from the key (Ed25519, P-256 or RSA)
    /// and its `kid` is its RFC 7638 JWK thumbprint, so every instance that
    /// mounts the same files signs and publishes under the same key ids,
    /// whatever the files are called. This is the way to share signing keys
    /// between instances without keeping private keys in Redis (see
    /// `RedisKeyStore` for the other way): rotate by deploying a new file
    /// first in the list and restarting (or calling
    /// [`KeyRing::replace_all`] with a reloaded ring).
    ///
    /// Fails, naming the file, when a file cannot be read, is not an
    /// unencrypted PKCS#8 PEM private key of a supported algorithm, or
    /// holds the same key as an earlier file; and when no file is given.
    pub fn from_pem_files<P: AsRef<Path>>(
        paths: impl IntoIterator<Item = P>,
    ) -> Result<Self, ConfigError> {
        let mut keys: Vec<(SigningKey, PathBuf)> = Vec::new();
        for path in paths {
            let path = path.as_ref();
            let text = std::fs::read_to_string(path)
                .map_err(|e| file_error(path, format_args!("cannot be read: {e}")))?;
            let key = SigningKey::from_pem_auto(&text).map_err(|e| file_error(path, e))?;
            if let Some((_, first)) = keys.iter().find(|(k, _)| k.kid == key.kid) {
                return Err(file_error(
                    path,
                    format_args!("holds the same key as {}", first.display()),
                ));
            }
            keys.push((key, path.to_owned()));
        }
        let mut keys = keys.into_iter().map(|(k, _)| k);
        let active = keys
            .next()
            .ok_or_else(|| ConfigError::new("no signing key file given"))?;
        let ring = Self::new(active);
        ring.replace_published(keys.collect());
        Ok(ring)
    }

    /// A ring loaded from the `*.pem` files of `dir` (hidden files and
    /// subdirectories skipped; symlinks followed, so a Kubernetes secret
    /// volume works), sorted by file name, **last name first**: the file
    /// whose name sorts highest (`2025-06.pem` after `2025-01.pem`) holds
    /// the active key, the others stay published. See
    /// [`KeyRing::from_pem_files`] for key ids and errors; a directory
    /// without `*.pem` files is an error.
    pub fn from_pem_dir(dir: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let dir = dir.as_ref();
        let unreadable = |e: std::io::Error| {
            ConfigError::new(format!(
                "signing key directory {}: cannot be read: {e}",
                dir.display()
            ))
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(unreadable)? {
            let path = entry.map_err(unreadable)?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let is_pem = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("pem"));
            if is_pem && !name.starts_with('.') && path.is_file() {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(ConfigError::new(format!(
                "signing key directory {} holds no *.pem file",
                dir.display()
            )));
        }
        files.sort_unstable_by(|a, b| b.file_name().cmp(&a.file_name()));
        Self::from_pem_files(files)
    }
}
