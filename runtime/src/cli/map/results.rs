//! `hecaton map --results DIR`: each input's outcome as files, as `parallel --results DIR` keeps
//! them. Input N's folder is `DIR/N/`: `record.json` (its JSON record, as stdout has it in input
//! order), and for a command `stdout`, `stderr` (raw bytes) and `exit_code`, and with
//! `--scratch GUEST` what the command left in its scratch folder, as `DIR/N/GUEST`.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};
use hecaton::{CommandOutput, Scratch};

/// Files written for every input; a scratch folder cannot take one of these names.
const FILES: [&str; 4] = ["record.json", "stdout", "stderr", "exit_code"];

/// Where the scratch folders are made while their tasks run, inside the results folder (so that
/// keeping one is a rename on the same file system).
const SCRATCH_ROOT: &str = ".scratch";

/// A results folder.
pub(super) struct Results {
    dir: PathBuf,
    /// The scratch folders, kept in each input's folder.
    scratch: Option<Scratch>,
}

impl Results {
    /// Makes the folder (and its parents).
    pub(super) fn create(dir: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(dir)
            .with_context(|| format!("--results: cannot make {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_owned(),
            scratch: None,
        })
    }

    /// Where the scratch folders are made.
    pub(super) fn scratch_root(&self) -> PathBuf {
        self.dir.join(SCRATCH_ROOT)
    }

    /// Keeps each input's scratch folder too, when there is one.
    pub(super) fn with_scratch(mut self, scratch: Option<&Scratch>) -> Self {
        self.scratch = scratch.cloned();
        self
    }

    /// Writes input `index`'s files: its record, a command's streams and exit code, its scratch
    /// folder. A folder of the same index from an earlier run is replaced.
    ///
    /// # Errors
    /// A file that cannot be written, named.
    pub(super) fn keep(
        &self,
        index: usize,
        record: &[u8],
        command: Option<&CommandOutput>,
    ) -> anyhow::Result<()> {
        let folder = self.dir.join(index.to_string());
        let write = |name: &str, bytes: &[u8]| {
            let path = folder.join(name);
            fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
        };
        match fs::remove_dir_all(&folder) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(error).with_context(|| format!("cannot replace {}", folder.display()));
            }
            _ => {}
        }
        fs::create_dir(&folder).with_context(|| format!("cannot make {}", folder.display()))?;
        let mut line = record.to_vec();
        line.push(b'\n');
        write(FILES[0], &line)?;
        if let Some(output) = command {
            write(FILES[1], &output.stdout)?;
            write(FILES[2], &output.stderr)?;
            write(FILES[3], format!("{}\n", output.exit_code).as_bytes())?;
        }
        if let Some(scratch) = &self.scratch {
            for guest in scratch.guests() {
                let from = scratch.folder_of(index, guest);
                if !from.is_dir() {
                    continue;
                }
                // The guest wrote this folder: a symbolic link it planted (to `/etc/passwd`,
                // say) must not be handed to the user as a file of the results.
                remove_symlinks(&from)
                    .with_context(|| format!("cannot clean {}", from.display()))?;
                let to = folder.join(Scratch::relative(guest));
                if let Some(parent) = to.parent() {
                    fs::create_dir_all(parent)
                        .with_context(|| format!("cannot make {}", parent.display()))?;
                }
                fs::rename(&from, &to).with_context(|| {
                    format!("cannot move {} to {}", from.display(), to.display())
                })?;
            }
        }
        Ok(())
    }
}

/// Removes every symbolic link under `folder`, at any depth (never following one).
fn remove_symlinks(folder: &Path) -> io::Result<()> {
    for entry in fs::read_dir(folder)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            fs::remove_file(entry.path())?;
        } else if kind.is_dir() {
            remove_symlinks(&entry.path())?;
        }
    }
    Ok(())
}

/// Checks a `--scratch GUEST` path: a folder name, not `.` or `..` or one of the results files.
///
/// # Errors
/// The path names no folder of its own.
pub(super) fn check_scratch_name(guest: &str) -> anyhow::Result<()> {
    let parts: Vec<Component<'_>> = Path::new(guest).components().collect();
    if parts
        .iter()
        .any(|part| matches!(part, Component::ParentDir))
    {
        bail!("--scratch {guest}: the folder's path cannot hold `..`");
    }
    let relative = Scratch::relative(guest);
    if relative.as_os_str().is_empty() {
        bail!("--scratch {guest}: name a folder, such as /out");
    }
    if FILES.iter().any(|file| relative == Path::new(file)) || relative == Path::new(SCRATCH_ROOT) {
        bail!("--scratch {guest}: that name is taken by --results' own files");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_scratch_name;
    use hecaton::Scratch;
    use std::path::Path;

    #[test]
    fn a_guest_path_is_kept_under_its_own_name() {
        assert_eq!(Scratch::relative("/out"), Path::new("out"));
        assert_eq!(Scratch::relative("/work/tmp/"), Path::new("work/tmp"));
        assert_eq!(Scratch::relative("out"), Path::new("out"));
    }

    #[test]
    fn a_scratch_path_must_name_a_folder_of_its_own() {
        assert!(check_scratch_name("/out").is_ok());
        for bad in ["/", ".", "/../x", "stdout", "/record.json", ".scratch"] {
            assert!(check_scratch_name(bad).is_err(), "{bad}");
        }
    }
}
