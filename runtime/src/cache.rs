//! Compiled modules on disk, so that a module is compiled once, ever.
//!
//! An entry's name is the SHA-256 of the module's bytes, of wasmtime's version and of the
//! engine's compilation settings (`Engine::precompile_compatibility_hash`); its content is a
//! SHA-256 of the compiled artifact followed by the artifact. A truncated, corrupt or foreign
//! entry fails that check and is compiled again and overwritten: an entry is never trusted
//! because of its name alone.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::Engine;

/// The environment variable naming the cache folder (default: `$XDG_CACHE_HOME/hecaton`, else
/// `~/.cache/hecaton`).
pub const CACHE_DIR_ENV: &str = "HECATON_CACHE_DIR";

const DIGEST_LEN: usize = 32;

/// A folder of compiled modules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleCache {
    dir: PathBuf,
}

impl ModuleCache {
    /// A cache in `dir` (made when the first entry is written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The per-user cache: `HECATON_CACHE_DIR`, else `$XDG_CACHE_HOME/hecaton`, else
    /// `~/.cache/hecaton`; `None` when none of these is set.
    pub fn per_user() -> Option<Self> {
        let var = |name| {
            std::env::var_os(name)
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        };
        var(CACHE_DIR_ENV)
            .or_else(|| var("XDG_CACHE_HOME").map(|dir| dir.join("hecaton")))
            .or_else(|| var("HOME").map(|home| home.join(".cache/hecaton")))
            .map(Self::new)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The compiled form of `wasm` for `engine`: loaded from the cache when a valid entry exists,
    /// else compiled and stored. Failing to write the cache only costs the next run a compile.
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        compile: impl FnOnce() -> wasmtime::Result<wasmtime::Module>,
    ) -> wasmtime::Result<wasmtime::Module> {
        let entry = self.dir.join(format!("{}.cwasm", entry_name(engine, wasm)));
        if let Some(module) = load(engine, &entry) {
            return Ok(module);
        }
        let module = compile()?;
        if let Ok(artifact) = module.serialize() {
            let _ = store(&entry, &artifact);
        }
        Ok(module)
    }
}

/// Feeds `Hash` output into SHA-256.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        0
    }
}

fn entry_name(engine: &Engine, wasm: &[u8]) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    hasher.write(env!("CARGO_PKG_VERSION").as_bytes());
    engine
        .wasmtime()
        .precompile_compatibility_hash()
        .hash(&mut hasher);
    hasher.write(&Sha256::digest(wasm));
    hex(&hasher.0.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The entry's module, if the entry exists and its checksum holds.
fn load(engine: &Engine, entry: &Path) -> Option<wasmtime::Module> {
    let bytes = std::fs::read(entry).ok()?;
    let (digest, artifact) = bytes.split_at_checked(DIGEST_LEN)?;
    if Sha256::digest(artifact).as_slice() != digest {
        return None;
    }
    // SAFETY: the artifact is one `Module::serialize` wrote for an engine with this engine's
    // compatibility hash (the entry's name says so, and the checksum proves the bytes are the
    // ones written), which is what `deserialize` requires: bytes from wasmtime itself, not
    // arbitrary input. wasmtime also checks its own version and settings header.
    unsafe { wasmtime::Module::deserialize(engine.wasmtime(), artifact) }.ok()
}

/// Writes the entry atomically: a temporary file renamed into place.
fn store(entry: &Path, artifact: &[u8]) -> std::io::Result<()> {
    let dir = entry.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(
        ".{}.{}.tmp",
        std::process::id(),
        crate::task::next_task_id()
    ));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(&Sha256::digest(artifact))?;
    file.write_all(artifact)?;
    file.sync_all()?;
    std::fs::rename(&temporary, entry)
}
