//! What a task may reach outside its instance: granted explicitly, never inherited.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// The directories and environment variables a task sees. The default is nothing: no
/// directory, no variable. Clocks and random numbers are always available; the network never is.
///
/// ```
/// use hecaton::{Access, Capabilities};
///
/// let capabilities = Capabilities::new()
///     .dir(".", "/data", Access::ReadOnly)?
///     .env("MODE", "fast");
/// # Ok::<(), hecaton::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub(crate) dirs: Vec<DirGrant>,
    pub(crate) env: Vec<(String, String)>,
}

/// Whether a task may change what is in a granted directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read files and list directories only.
    ReadOnly,
    /// Also create, write, rename and delete.
    ReadWrite,
}

/// A host directory a task sees at a guest path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DirGrant {
    pub(crate) host: PathBuf,
    pub(crate) guest: String,
    pub(crate) access: Access,
}

impl Capabilities {
    /// Nothing granted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Grants host directory `host` as `guest` inside the task. The task cannot leave it: `..`,
    /// absolute paths and symlinks pointing outside are refused by the WASI implementation.
    ///
    /// # Errors
    /// [`Error::Capability`] when `host` is not a directory.
    pub fn dir(
        mut self,
        host: impl AsRef<Path>,
        guest: impl Into<String>,
        access: Access,
    ) -> Result<Self, Error> {
        let host = host.as_ref();
        if !host.is_dir() {
            return Err(Error::Capability(format!(
                "--dir {}: not a directory",
                host.display()
            )));
        }
        let guest = guest.into();
        if let Some(granted) = self.granted_at(&guest) {
            return Err(Error::Capability(format!(
                "--dir {}::{guest}: {} is already granted at {guest} (one guest path, one folder)",
                host.display(),
                granted.host.display()
            )));
        }
        self.dirs.push(DirGrant {
            host: host.to_owned(),
            guest,
            access,
        });
        Ok(self)
    }

    /// The directory granted at guest path `guest`, if any (`/out` and `/out/` are one path).
    pub(crate) fn granted_at(&self, guest: &str) -> Option<&DirGrant> {
        let path = |path: &str| path.trim_end_matches('/').to_owned();
        self.dirs
            .iter()
            .find(|grant| path(&grant.guest) == path(guest))
    }

    /// Sets environment variable `key` to `value` inside the task.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Copies the host's variable `key` into the task, if the host has it.
    pub fn inherit_env(self, key: &str) -> Self {
        match std::env::var(key) {
            Ok(value) => self.env(key, value),
            Err(_) => self,
        }
    }
}
