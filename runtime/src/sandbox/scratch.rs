//! Fresh, empty read-write folders for every task of a command map (`hecaton map --scratch`),
//! as each of GNU parallel's jobs gets a temporary directory of its own: a tool that writes
//! `-o /out/result.png` can be mapped, each input's files apart from every other's; a tool that
//! also needs a writable `/tmp` gets one of those too.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::sandbox::capabilities::{Access, Capabilities, DirGrant};

/// Where each task's scratch folders are made, what the task calls them, and whether they are
/// kept.
///
/// Input `index` of a map gets the host folder `root/<index>`, made empty before each attempt
/// (a retry starts with nothing of the failed attempt's files), and in it one folder per guest
/// path ([`Scratch::relative`]: `/out` is `out`, `/work/tmp` is `work/tmp`), each granted
/// read-write at its guest path. When the task ends the folder is removed, unless
/// [`Scratch::keep`] asked for it to stay (`hecaton map --results DIR` moves each guest path's
/// folder to `DIR/<index>/<relative>`).
///
/// ```
/// use hecaton::Scratch;
///
/// let root = std::env::temp_dir().join("my-map");
/// let scratch = Scratch::new("/out", &root).also("/tmp").keep(true);
/// assert_eq!(scratch.folder(7), root.join("7"));
/// assert_eq!(scratch.folder_of(7, "/tmp"), root.join("7").join("tmp"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scratch {
    guests: Vec<String>,
    root: PathBuf,
    keep: bool,
}

impl Scratch {
    /// Each task's folder is `root/<index>` on the host (`root` is made when the map starts),
    /// holding the folder the task sees at `guest`; removed when the task ends.
    pub fn new(guest: impl Into<String>, root: impl Into<PathBuf>) -> Self {
        Self {
            guests: vec![guest.into()],
            root: root.into(),
            keep: false,
        }
    }

    /// Another fresh folder for each task, seen at `guest` (`hecaton map --scratch /out
    /// --scratch /tmp`).
    pub fn also(mut self, guest: impl Into<String>) -> Self {
        self.guests.push(guest.into());
        self
    }

    /// Leave each task's folder in place when the task ends, for the caller to take (default:
    /// removed).
    pub fn keep(mut self, keep: bool) -> Self {
        self.keep = keep;
        self
    }

    /// The paths the task sees its folders at.
    pub fn guests(&self) -> &[String] {
        &self.guests
    }

    /// The host folder the tasks' folders are made in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The host folder of input `index`: one folder in it per guest path.
    pub fn folder(&self, index: usize) -> PathBuf {
        self.root.join(index.to_string())
    }

    /// The host folder input `index` sees at `guest`.
    pub fn folder_of(&self, index: usize, guest: &str) -> PathBuf {
        self.folder(index).join(Self::relative(guest))
    }

    /// A guest path as a relative one: `/out` is `out`, `/work/tmp` is `work/tmp` (`.` and
    /// `..` dropped; the path names no folder when this is empty).
    pub fn relative(guest: &str) -> PathBuf {
        Path::new(guest)
            .components()
            .filter_map(|component| match component {
                Component::Normal(name) => Some(name),
                _ => None,
            })
            .collect()
    }

    /// Two guest paths of which one is the other or inside it (`/out` twice, `/out` and
    /// `/out/x`): one guest path, one folder.
    pub(crate) fn overlap(&self) -> Option<(&str, &str)> {
        self.guests.iter().enumerate().find_map(|(at, first)| {
            self.guests[at + 1..].iter().find_map(|second| {
                let (a, b) = (Self::relative(first), Self::relative(second));
                (a.starts_with(&b) || b.starts_with(&a))
                    .then_some((first.as_str(), second.as_str()))
            })
        })
    }

    /// Makes the root folder, when a map starts.
    pub(crate) fn create_root(&self) -> io::Result<()> {
        std::fs::create_dir_all(&self.root)
    }

    /// The folder of input `index`, made fresh and empty (what an earlier attempt left is
    /// removed) with a folder for each guest path in it, and `capabilities` with each granted
    /// read-write at its guest path.
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
        for guest in &self.guests {
            let host = self.folder_of(index, guest);
            std::fs::create_dir_all(&host)?;
            capabilities.dirs.push(DirGrant {
                host,
                guest: guest.clone(),
                access: Access::ReadWrite,
            });
        }
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
