//! Compiled modules on disk, so that a module is compiled once, ever.
//!
//! An entry's name is the SHA-256 of the module's bytes, of wasmtime's version and of the
//! engine's compilation settings (`Engine::precompile_compatibility_hash`); its content is a tag
//! followed by the compiled artifact.
//!
//! The cache is a trust boundary (an entry is native code run outside the sandbox): what is
//! checked, and why, is told in [`ModuleCache`]'s docs.

use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::engine::Engine;

/// The environment variable naming the cache folder (default: `$XDG_CACHE_HOME/hecaton`, else
/// `~/.cache/hecaton`).
pub const CACHE_DIR_ENV: &str = "HECATON_CACHE_DIR";

/// Bytes of the cache key, and of an entry's tag.
const KEY_LEN: usize = 32;
const TAG_LEN: usize = 32;

/// A folder of compiled modules, and the key that authenticates them.
///
/// # The cache is a trust boundary
/// An entry is native code that hecaton maps and runs outside the sandbox: whoever can write an
/// entry that hecaton loads runs code as the user. A checksum would prove only that a file is
/// intact, not who wrote it, so two checks stand between a file and `Module::deserialize`:
///
/// 1. **Every entry is authenticated.** Its tag is an HMAC-SHA256, under the per-user cache key,
///    of the entry's name and the artifact. The key is 32 random bytes kept outside the cache
///    folder, in `$XDG_CONFIG_HOME/hecaton/cache-key` (else `~/.config/hecaton/cache-key`; or
///    [`ModuleCache::key_file`]), made on first use. Without the key nobody can write an entry
///    hecaton accepts: not another user of a shared `HECATON_CACHE_DIR`, not a CI cache restored
///    from another machine, not an entry copied under another entry's name. Such an entry, like
///    a truncated or corrupt one, is compiled again and overwritten.
/// 2. **Ownership and permissions are checked, as ssh does for its files.** The key file must be
///    owned by the user (or root) and readable or writable by nobody else, and the folders of the
///    key and of the cache owned by the user (or root) and writable by nobody else; each entry
///    must be owned by the user (or root) and writable by nobody else. hecaton makes its folders
///    `0700` and its files `0600`. An entry that fails is compiled again and overwritten. A
///    cache whose folder or key fails is not used at all, neither read nor written: modules are
///    compiled every time, and the first refusal in a process is logged as a `tracing` warning
///    (which the `hecaton` CLI shows with `-v`; [`ModuleCache::check`] returns the reason, for a
///    host to show).
///
/// The key alone makes a planted entry useless; the checks keep the key secret (a key others can
/// read is no key) and turn a set-up that cannot be trusted into a refusal that says why, rather
/// than a cache that silently misses. On platforms other than Unix there are no owners and modes to check
/// (permissions are access lists): the key still authenticates every entry, and the key and the
/// cache are only as private as the folders the user keeps them in.
#[derive(Clone, Debug)]
pub struct ModuleCache {
    dir: PathBuf,
    key_file: Option<PathBuf>,
    /// Called with the module's path before a module the cache lacks is compiled.
    announce_compile: Option<fn(&Path)>,
}

/// Two caches are the same when they keep the same entries: the same folder and key.
impl PartialEq for ModuleCache {
    fn eq(&self, other: &Self) -> bool {
        self.dir == other.dir && self.key_file == other.key_file
    }
}

impl Eq for ModuleCache {}

/// Why a cache is not used: a file or folder that someone other than the user could have written
/// (or, for the key, read), or a key that cannot be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UntrustedCache {
    /// The file or folder belongs to another user than this process's (nor to root).
    #[error("{path} is owned by uid {owner}, not by this user")]
    Owner {
        /// The file or folder.
        path: PathBuf,
        /// Its owner.
        owner: u32,
    },
    /// Group or others may write the file or folder (or read the key).
    #[error("{path} is open to group or others (mode {mode:04o})")]
    Permissions {
        /// The file or folder.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Neither `XDG_CONFIG_HOME` nor `HOME` is set, and no [`ModuleCache::key_file`] was given.
    #[error("no place for the cache key: neither XDG_CONFIG_HOME nor HOME is set")]
    NoKeyFile,
    /// The key file does not hold a key of 32 bytes.
    #[error("{path} is not a cache key (32 bytes)")]
    NotAKey {
        /// The key file.
        path: PathBuf,
    },
    /// A folder or the key could not be made, read or inspected.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl ModuleCache {
    /// A cache in `dir` (made `0700` when the first entry is written), authenticated by the
    /// per-user key: `$XDG_CONFIG_HOME/hecaton/cache-key`, else `~/.config/hecaton/cache-key`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            key_file: default_key_file(),
            announce_compile: None,
        }
    }

    /// The per-user cache: `HECATON_CACHE_DIR`, else `$XDG_CACHE_HOME/hecaton`, else
    /// `~/.cache/hecaton`; `None` when none of these is set.
    pub fn per_user() -> Option<Self> {
        var(CACHE_DIR_ENV)
            .or_else(|| var("XDG_CACHE_HOME").map(|dir| dir.join("hecaton")))
            .or_else(|| var("HOME").map(|home| home.join(".cache/hecaton")))
            .map(Self::new)
    }

    /// Authenticates entries with the key in `path` instead of the per-user key (made `0600`,
    /// with its folder `0700`, on first use). Keep it outside the cache folder: whoever can read
    /// the key can write entries that hecaton runs.
    pub fn key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_file = Some(path.into());
        self
    }

    /// Calls `announce` with a module's path just before a module this cache does not hold is
    /// compiled (seconds, for a large module), so that a tool can say why it is slow this once.
    pub fn announce_compile(mut self, announce: fn(&Path)) -> Self {
        self.announce_compile = Some(announce);
        self
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the cache would be used: its folder and its key (those that exist already; a
    /// missing one is made private when needed) pass the checks of the [type's
    /// docs](ModuleCache#the-cache-is-a-trust-boundary). Makes nothing.
    ///
    /// # Errors
    /// The first check that fails: [`UntrustedCache::Owner`], [`UntrustedCache::Permissions`],
    /// [`UntrustedCache::NoKeyFile`], [`UntrustedCache::NotAKey`], [`UntrustedCache::Io`].
    pub fn check(&self) -> Result<(), UntrustedCache> {
        let key_file = self.key_file.as_deref().ok_or(UntrustedCache::NoKeyFile)?;
        for (path, kind) in [
            (key_folder(key_file), Kind::Folder),
            (key_file, Kind::Key),
            (self.dir.as_path(), Kind::Folder),
        ] {
            match std::fs::metadata(path) {
                Ok(metadata) => trust(path, &metadata, kind)?,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(io_error(path, source)),
            }
        }
        if std::fs::metadata(key_file).is_ok() {
            read_key(key_file)?;
        }
        Ok(())
    }

    /// The compiled form of `wasm` for `engine`: loaded from the cache when an authentic entry
    /// exists, else compiled and stored. An untrusted cache is neither read nor written; failing
    /// to write the cache only costs the next run a compile.
    pub(crate) fn load_or_compile<T: Compiled>(
        &self,
        engine: &Engine,
        path: &Path,
        wasm: &[u8],
        compile: impl FnOnce() -> wasmtime::Result<T>,
    ) -> wasmtime::Result<T> {
        let key = match self.open() {
            Ok(key) => key,
            Err(why) => {
                refused(&self.dir, &why);
                return compile();
            }
        };
        let entry = Entry::new(&self.dir, engine, wasm);
        if let Some(module) = entry.load(engine, &key) {
            return Ok(module);
        }
        if let Some(announce) = self.announce_compile {
            announce(path);
        }
        let module = compile()?;
        if let Ok(artifact) = module.serialize() {
            let _ = entry.store(&key, &artifact);
        }
        Ok(module)
    }

    /// Makes the folder and the key where missing, checks both, and returns the key.
    fn open(&self) -> Result<[u8; KEY_LEN], UntrustedCache> {
        let key_file = self.key_file.as_deref().ok_or(UntrustedCache::NoKeyFile)?;
        let key_dir = key_folder(key_file);
        private::create_dir(key_dir).map_err(|source| io_error(key_dir, source))?;
        trust_path(key_dir, Kind::Folder)?;
        if !key_file.exists() {
            make_key(key_file).map_err(|source| io_error(key_file, source))?;
        }
        let key = read_key(key_file)?;
        private::create_dir(&self.dir).map_err(|source| io_error(&self.dir, source))?;
        trust_path(&self.dir, Kind::Folder)?;
        Ok(key)
    }
}

fn var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// `$XDG_CONFIG_HOME/hecaton/cache-key`, else `~/.config/hecaton/cache-key`.
fn default_key_file() -> Option<PathBuf> {
    var("XDG_CONFIG_HOME")
        .or_else(|| var("HOME").map(|home| home.join(".config")))
        .map(|config| config.join("hecaton/cache-key"))
}

fn key_folder(key_file: &Path) -> &Path {
    key_file
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn io_error(path: &Path, source: std::io::Error) -> UntrustedCache {
    UntrustedCache::Io {
        path: path.to_owned(),
        source,
    }
}

/// Logs a refused cache: a warning the first time in this process, then at debug level.
fn refused(dir: &Path, why: &UntrustedCache) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if WARNED.swap(true, Ordering::Relaxed) {
        tracing::debug!(cache = %dir.display(), "compile cache not used: {why}");
    } else {
        tracing::warn!(cache = %dir.display(), "compile cache not used: {why}");
    }
}

/// What a checked path is, which decides what others may do with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The cache folder or the key's folder: nobody else may write it.
    Folder,
    /// An entry: nobody else may write it.
    Entry,
    /// The key: nobody else may read or write it.
    Key,
}

fn trust_path(path: &Path, kind: Kind) -> Result<(), UntrustedCache> {
    let metadata = std::fs::metadata(path).map_err(|source| io_error(path, source))?;
    trust(path, &metadata, kind)
}

/// ssh's rule: owned by this user or root, and open to nobody else (for writing; for the key,
/// for reading too).
#[cfg(unix)]
fn trust(path: &Path, metadata: &std::fs::Metadata, kind: Kind) -> Result<(), UntrustedCache> {
    use std::os::unix::fs::MetadataExt;
    let owner = metadata.uid();
    if owner != private::current_user() && owner != 0 {
        return Err(UntrustedCache::Owner {
            path: path.to_owned(),
            owner,
        });
    }
    let forbidden = match kind {
        Kind::Folder | Kind::Entry => 0o022,
        Kind::Key => 0o077,
    };
    let mode = metadata.mode() & 0o7777;
    if mode & forbidden != 0 {
        return Err(UntrustedCache::Permissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

/// No owners and modes to check: the key authenticates entries (see the module docs).
#[cfg(not(unix))]
fn trust(_path: &Path, _metadata: &std::fs::Metadata, _kind: Kind) -> Result<(), UntrustedCache> {
    Ok(())
}

/// Folders and files made for this user alone.
#[cfg(unix)]
mod private {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    use std::path::Path;

    /// Makes `dir` and its missing parents `0700`; an existing folder is left as it is.
    pub(super) fn create_dir(dir: &Path) -> std::io::Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }

    /// Makes a new file `0600`, failing if it exists.
    pub(super) fn create_file(path: &Path) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
    }

    /// The process's effective user id.
    pub(super) fn current_user() -> u32 {
        // SAFETY: `geteuid` takes nothing, touches no memory of ours and cannot fail (POSIX).
        unsafe { libc::geteuid() }
    }
}

/// Folders and files with the platform's default permissions.
#[cfg(not(unix))]
mod private {
    use std::path::Path;

    pub(super) fn create_dir(dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    pub(super) fn create_file(path: &Path) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    }
}

/// Makes a key file of random bytes, atomically: written in full under a temporary name, then
/// linked into place, so that a reader never sees half a key and a process that loses a race
/// keeps the key of the one that won.
fn make_key(key_file: &Path) -> std::io::Result<()> {
    let mut key = [0; KEY_LEN];
    getrandom::fill(&mut key).map_err(|error| std::io::Error::other(error.to_string()))?;
    let temporary = temporary_path(key_folder(key_file));
    let written = private::create_file(&temporary).and_then(|mut file| {
        file.write_all(&key)?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, key_file));
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => Err(error),
        _ => Ok(()),
    }
}

/// Reads the key from its file, after checking the file it opened.
fn read_key(key_file: &Path) -> Result<[u8; KEY_LEN], UntrustedCache> {
    let io = |source| io_error(key_file, source);
    let file = std::fs::File::open(key_file).map_err(io)?;
    trust(key_file, &file.metadata().map_err(io)?, Kind::Key)?;
    let mut bytes = Vec::with_capacity(KEY_LEN + 1);
    (&file)
        .take(KEY_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    bytes.try_into().map_err(|_| UntrustedCache::NotAKey {
        path: key_file.to_owned(),
    })
}

/// A file name in `dir` that no other writer uses: this process's id and a count of its own.
fn temporary_path(dir: &Path) -> PathBuf {
    static WRITTEN: AtomicU64 = AtomicU64::new(0);
    let count = WRITTEN.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{}.{count}.tmp", std::process::id()))
}

/// One module's entry: its name (what the tag covers) and its file.
struct Entry {
    name: String,
    path: PathBuf,
}

impl Entry {
    fn new(dir: &Path, engine: &Engine, wasm: &[u8]) -> Self {
        let mut hasher = Sha256Hasher(Sha256::new());
        hasher.write(env!("CARGO_PKG_VERSION").as_bytes());
        engine
            .wasmtime()
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        hasher.write(&Sha256::digest(wasm));
        let name = hex(&hasher.0.finalize());
        let path = dir.join(format!("{name}.cwasm"));
        Self { name, path }
    }

    /// The tag of this entry holding `artifact`.
    fn tag(&self, key: &[u8; KEY_LEN], artifact: &[u8]) -> [u8; TAG_LEN] {
        hmac_sha256(
            key,
            &[b"hecaton cache entry\0", self.name.as_bytes(), artifact],
        )
    }

    /// The entry's module, if the entry exists, is trusted and its tag holds.
    fn load<T: Compiled>(&self, engine: &Engine, key: &[u8; KEY_LEN]) -> Option<T> {
        let mut file = std::fs::File::open(&self.path).ok()?;
        trust(&self.path, &file.metadata().ok()?, Kind::Entry).ok()?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).ok()?;
        let (tag, artifact) = bytes.split_at_checked(TAG_LEN)?;
        if !equal_in_constant_time(tag, &self.tag(key, artifact)) {
            return None;
        }
        // SAFETY: `deserialize` requires bytes that wasmtime itself serialized for an engine
        // with this engine's settings. Every writer of the cache folder and the key file is this
        // user or root (both were checked), and nobody else could read the key: so the tag
        // proves that hecaton, run by this user, wrote these bytes under this entry's name,
        // which names wasmtime's version and this engine's compatibility hash.
        // wasmtime checks its own version and settings header as well.
        unsafe { T::deserialize(engine.wasmtime(), artifact) }.ok()
    }

    /// Writes the entry atomically, `0600`: a temporary file renamed into place.
    fn store(&self, key: &[u8; KEY_LEN], artifact: &[u8]) -> std::io::Result<()> {
        let temporary = temporary_path(self.path.parent().unwrap_or(Path::new(".")));
        let written = private::create_file(&temporary).and_then(|mut file| {
            file.write_all(&self.tag(key, artifact))?;
            file.write_all(artifact)?;
            file.sync_all()
        });
        let renamed = written.and_then(|()| std::fs::rename(&temporary, &self.path));
        if renamed.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        renamed
    }
}

/// What the cache holds: a compiled core module or component, as wasmtime serializes it. (A
/// component's entry and a module's cannot collide: they are compiled from different bytes, and
/// wasmtime's header tells one from the other.)
pub(crate) trait Compiled: Sized {
    fn serialize(&self) -> wasmtime::Result<Vec<u8>>;

    /// # Safety
    /// As `wasmtime::Module::deserialize`: bytes wasmtime serialized for an engine with these
    /// settings.
    unsafe fn deserialize(engine: &wasmtime::Engine, bytes: &[u8]) -> wasmtime::Result<Self>;
}

impl Compiled for wasmtime::Module {
    fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        wasmtime::Module::serialize(self)
    }

    unsafe fn deserialize(engine: &wasmtime::Engine, bytes: &[u8]) -> wasmtime::Result<Self> {
        // SAFETY: passed on from the caller.
        unsafe { wasmtime::Module::deserialize(engine, bytes) }
    }
}

impl Compiled for wasmtime::component::Component {
    fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        wasmtime::component::Component::serialize(self)
    }

    unsafe fn deserialize(engine: &wasmtime::Engine, bytes: &[u8]) -> wasmtime::Result<Self> {
        // SAFETY: passed on from the caller.
        unsafe { wasmtime::component::Component::deserialize(engine, bytes) }
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `message` parts. Written out on `sha2` rather than
/// taken from the `hmac` crate, whose `digest/mac` feature would rebuild wasmtime's own `sha2`.
fn hmac_sha256(key: &[u8], message: &[&[u8]]) -> [u8; TAG_LEN] {
    const BLOCK: usize = 64;
    let mut block_key = [0; BLOCK];
    if key.len() > BLOCK {
        block_key[..TAG_LEN].copy_from_slice(&Sha256::digest(key));
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let padded = |pad: u8| block_key.map(|byte| byte ^ pad);
    let mut inner = Sha256::new_with_prefix(padded(0x36));
    for part in message {
        inner.update(part);
    }
    let mut outer = Sha256::new_with_prefix(padded(0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Whether `a == b`, in a time that does not depend on where they differ, so that timing a
/// refusal tells a forger nothing about a tag.
fn equal_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::hmac_sha256;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
            .collect()
    }

    /// RFC 4231's test cases 1, 2 and 6 (a key longer than a block).
    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let cases: [(&[u8], &[u8], &str); 3] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, message, tag) in cases {
            let (head, tail) = message.split_at(3);
            assert_eq!(hmac_sha256(key, &[head, tail]).as_slice(), hex(tag));
        }
    }
}
