//! A fresh, empty read-write folder for every task of a command map (`hecaton map --scratch`),
//! as each of GNU parallel's jobs gets a temporary directory of its own: a tool that writes
//! `-o /out/result.png` can be mapped, each input's files apart from every other's.

use std::io;
use std::path::{Path, PathBuf};

use crate::sandbox::capabilities::{Access, Capabilities, DirGrant};

/// Where each task's scratch folder is made, what the task calls it, and whether it is kept.
///
/// Input `index` of a map gets the host folder `root/<index>`, made empty before each attempt
/// (a retry starts with nothing of the failed attempt's files), granted read-write at `guest`.
/// When the task ends the folder is removed, unless [`Scratch::keep`] asked for it to stay
/// (`hecaton map --results DIR` moves it under `DIR/<index>/`).
///
/// ```
/// use hecaton::Scratch;
///
/// let scratch = Scratch::new("/out", std::env::temp_dir().join("my-map")).keep(true);
/// assert_eq!(scratch.folder(7), std::env::temp_dir().join("my-map").join("7"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scratch {
    guest: String,
    root: PathBuf,
    keep: bool,
}

impl Scratch {
    /// Each task's folder is `root/<index>` on the host (`root` is made when the map starts),
    /// `guest` inside the task; removed when the task ends.
    pub fn new(guest: impl Into<String>, root: impl Into<PathBuf>) -> Self {
        Self {
            guest: guest.into(),
            root: root.into(),
            keep: false,
        }
    }

    /// Leave each task's folder in place when the task ends, for the caller to take (default:
    /// removed).
    pub fn keep(mut self, keep: bool) -> Self {
        self.keep = keep;
        self
    }

    /// The path the task sees its folder at.
    pub fn guest(&self) -> &str {
        &self.guest
    }

    /// The host folder the tasks' folders are made in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The host folder of input `index`.
    pub fn folder(&self, index: usize) -> PathBuf {
        self.root.join(index.to_string())
    }

    /// Makes the root folder, when a map starts.
    pub(crate) fn create_root(&self) -> io::Result<()> {
        std::fs::create_dir_all(&self.root)
    }

    /// The folder of input `index`, made fresh and empty (what an earlier attempt left is
    /// removed), and `capabilities` with it granted read-write.
    pub(crate) fn prepare(
        &self,
        index: usize,
        capabilities: &Capabilities,
    ) -> io::Result<(PathBuf, Capabilities)> {
        let folder = self.folder(index);
        match std::fs::remove_dir_all(&folder) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        std::fs::create_dir(&folder)?;
        let mut capabilities = capabilities.clone();
        capabilities.dirs.push(DirGrant {
            host: folder.clone(),
            guest: self.guest.clone(),
            access: Access::ReadWrite,
        });
        Ok((folder, capabilities))
    }

    /// After the task: the folder is removed unless it is kept.
    pub(crate) fn finish(&self, folder: &Path) {
        if !self.keep {
            // A folder that cannot be removed is left behind; the task's outcome stands.
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}
