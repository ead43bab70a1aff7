//! The compile cache: a second load comes from disk; a corrupt, truncated or foreign entry is
//! detected, compiled again and overwritten; and, since an entry is native code run outside the
//! sandbox, an entry or a folder that someone else could have written is never run.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hecaton::{Engine, Module, ModuleCache, Process, UntrustedCache};
use hecaton_tests::guests::SQUARE;

/// `nobody`: the owner of the files "another user" wrote.
const ANOTHER_USER: u32 = 65534;

/// The temporary folder of one test, removed first.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hecaton-cache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// An empty cache with a key of its own, both in `scratch(name)`.
fn fresh_cache(name: &str) -> ModuleCache {
    let dir = scratch(name);
    ModuleCache::new(dir.join("cache")).key_file(dir.join("config/cache-key"))
}

fn key_file(cache: &ModuleCache) -> PathBuf {
    cache.dir().parent().unwrap().join("config/cache-key")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().mode() & 0o777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown_to_another_user(path: &Path) {
    std::os::unix::fs::chown(path, Some(ANOTHER_USER), Some(ANOTHER_USER))
        .expect("chown needs root, as in CI");
}

fn entries(cache: &ModuleCache) -> Vec<PathBuf> {
    std::fs::read_dir(cache.dir())
        .map(|dir| dir.map(|entry| entry.unwrap().path()).collect())
        .unwrap_or_default()
}

/// An entry as it is on disk: its inode and its bytes. An entry is only ever written under a
/// temporary name and renamed into place, so one written again has another inode even when its
/// bytes are the same (a modification time can miss a rewrite within its granularity).
fn on_disk(entry: &Path) -> (u64, Vec<u8>) {
    let inode = std::fs::metadata(entry).unwrap().ino();
    (inode, std::fs::read(entry).unwrap())
}

fn square_of_7(module: &Module) -> i64 {
    Process::spawn(module, "square", &7)
        .unwrap()
        .join()
        .unwrap()
}

fn load(cache: &ModuleCache) -> Module {
    Module::from_file_cached(&Engine::shared().unwrap(), SQUARE, cache).unwrap()
}

#[test]
fn second_load_uses_the_stored_entry() {
    let cache = fresh_cache("hit");
    assert_eq!(square_of_7(&load(&cache)), 49);
    let entry = entries(&cache);
    assert_eq!(entry.len(), 1);
    let written = on_disk(&entry[0]);
    assert_eq!(square_of_7(&load(&cache)), 49);
    assert_eq!(entries(&cache), entry);
    assert!(on_disk(&entry[0]) == written, "not rewritten");
}

fn damaged_entry_is_recompiled(name: &str, damage: impl FnOnce(&Path)) {
    let cache = fresh_cache(name);
    load(&cache);
    let entry = entries(&cache).remove(0);
    let good = std::fs::read(&entry).unwrap();
    damage(&entry);
    let damaged = on_disk(&entry).0;
    assert_eq!(square_of_7(&load(&cache)), 49);
    let (inode, bytes) = on_disk(&entry);
    assert!(bytes == good, "the entry was rewritten whole");
    assert_ne!(inode, damaged, "a rewritten entry is a new file");
}

#[test]
fn corrupt_entry_is_recompiled() {
    damaged_entry_is_recompiled("corrupt", |entry| {
        let mut bytes = std::fs::read(entry).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(entry, bytes).unwrap();
    });
}

#[test]
fn truncated_entry_is_recompiled() {
    damaged_entry_is_recompiled("truncated", |entry| {
        let bytes = std::fs::read(entry).unwrap();
        std::fs::write(entry, &bytes[..bytes.len() / 3]).unwrap();
    });
}

#[test]
fn foreign_entry_is_recompiled() {
    damaged_entry_is_recompiled("foreign", |entry| {
        std::fs::write(entry, b"not a compiled module").unwrap()
    });
}

#[test]
fn engines_with_other_settings_use_other_entries() {
    let cache = fresh_cache("engines");
    load(&cache);
    let fuel = Engine::builder().fuel(true).build().unwrap();
    let module = Module::from_file_cached(&fuel, SQUARE, &cache).unwrap();
    assert_eq!(square_of_7(&module), 49);
    assert_eq!(entries(&cache).len(), 2);
}

#[test]
fn a_snapshot_compiles_through_the_module_cache() {
    let cache = fresh_cache("snapshot");
    let state = hecaton_tests::fixture("snapshot-state.wat");
    let load = || Module::from_file_cached(&Engine::shared().unwrap(), &state, &cache).unwrap();
    let probe = |module: &Module| -> i32 {
        Process::spawn(module, "probe", &())
            .unwrap()
            .join()
            .unwrap()
    };
    assert_eq!(probe(&load().snapshot("init").unwrap()), 42_007_101);
    // The module, its instrumented form and its snapshot.
    let stored = entries(&cache);
    assert_eq!(stored.len(), 3, "{stored:?}");
    let written: Vec<_> = stored.iter().map(|entry| on_disk(entry)).collect();
    assert_eq!(probe(&load().snapshot("init").unwrap()), 42_007_101);
    let again: Vec<_> = stored.iter().map(|entry| on_disk(entry)).collect();
    assert_eq!(entries(&cache).len(), 3);
    assert!(written == again, "nothing compiled or written again");
}

#[test]
fn folder_key_and_entries_are_private() {
    let cache = fresh_cache("private");
    load(&cache);
    let key = key_file(&cache);
    assert_eq!(mode(cache.dir()), 0o700);
    assert_eq!(mode(key.parent().unwrap()), 0o700);
    assert_eq!(mode(&key), 0o600);
    assert_eq!(std::fs::metadata(&key).unwrap().len(), 32);
    let stored = entries(&cache);
    assert_eq!(stored.len(), 1);
    assert_eq!(mode(&stored[0]), 0o600);
    cache.check().unwrap();
}

/// A cache folder that fails the checks is neither read nor written; the module still runs.
fn untrusted_folder_is_not_used(cache: &ModuleCache) {
    assert_eq!(square_of_7(&load(cache)), 49);
    assert_eq!(entries(cache), [] as [PathBuf; 0], "nothing written");
}

#[test]
fn world_writable_folder_is_not_used() {
    let cache = fresh_cache("world-writable");
    std::fs::create_dir_all(cache.dir()).unwrap();
    chmod(cache.dir(), 0o777);
    assert!(matches!(
        cache.check(),
        Err(UntrustedCache::Permissions { mode: 0o777, .. })
    ));
    untrusted_folder_is_not_used(&cache);
}

#[test]
fn folder_of_another_user_is_not_used() {
    let cache = fresh_cache("another-user");
    std::fs::create_dir_all(cache.dir()).unwrap();
    chmod(cache.dir(), 0o700);
    chown_to_another_user(cache.dir());
    assert!(matches!(
        cache.check(),
        Err(UntrustedCache::Owner {
            owner: ANOTHER_USER,
            ..
        })
    ));
    untrusted_folder_is_not_used(&cache);
}

#[test]
fn a_key_others_can_read_is_not_used() {
    let cache = fresh_cache("readable-key");
    load(&cache);
    let entry = entries(&cache).remove(0);
    chmod(&key_file(&cache), 0o644);
    assert!(matches!(
        cache.check(),
        Err(UntrustedCache::Permissions { mode: 0o644, .. })
    ));
    std::fs::remove_file(&entry).unwrap();
    untrusted_folder_is_not_used(&cache);
}

/// Two modules whose `square` differ: `planted` returns 7², `victim` returns 7 + 1.
fn planted_and_victim(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let module = |name: &str, body: &str| {
        let path = dir.join(name);
        let wat = format!("(module (func (export \"square\") (param i64) (result i64) {body}))");
        std::fs::write(&path, wat).unwrap();
        path
    };
    (
        module("planted.wat", "local.get 0 local.get 0 i64.mul"),
        module("victim.wat", "local.get 0 i64.const 1 i64.add"),
    )
}

/// Compiles `planted` and `victim` into a cache, copies the planted entry (valid in itself: its
/// tag was written by hecaton) over the victim's, damages it with `plant`, and loads the victim
/// again: its own code must run, not the planted code.
fn planted_entry_is_not_run(name: &str, plant: impl FnOnce(&Path)) {
    let cache = fresh_cache(name);
    let (planted, victim) = planted_and_victim(&cache.dir().parent().unwrap().join("wat"));
    let engine = Engine::shared().unwrap();
    let load = |path: &Path| Module::from_file_cached(&engine, path, &cache).unwrap();
    assert_eq!(square_of_7(&load(&planted)), 49);
    let planted_entry = entries(&cache).remove(0);
    assert_eq!(square_of_7(&load(&victim)), 8);
    let victim_entry = entries(&cache)
        .into_iter()
        .find(|entry| *entry != planted_entry)
        .unwrap();
    std::fs::copy(&planted_entry, &victim_entry).unwrap();
    plant(&victim_entry);
    assert_eq!(square_of_7(&load(&victim)), 8, "the planted entry was run");
}

#[test]
fn planted_entry_owned_by_another_user_is_not_run() {
    planted_entry_is_not_run("planted-foreign", chown_to_another_user);
}

#[test]
fn planted_entry_others_can_write_is_not_run() {
    planted_entry_is_not_run("planted-writable", |entry| chmod(entry, 0o666));
}

/// The tag covers the entry's name: a valid entry under another entry's name, written by this
/// very user, is refused too.
#[test]
fn planted_entry_of_this_user_is_not_run() {
    planted_entry_is_not_run("planted-own", |_| {});
}

/// A cache made with another key (another machine's, another user's) is compiled again.
#[test]
fn entries_of_another_key_are_recompiled() {
    let cache = fresh_cache("another-key");
    load(&cache);
    let entry = entries(&cache).remove(0);
    let first = std::fs::read(&entry).unwrap();
    let other_key = cache.dir().parent().unwrap().join("other/cache-key");
    let other = ModuleCache::new(cache.dir()).key_file(other_key);
    assert_eq!(square_of_7(&load(&other)), 49);
    assert_ne!(
        std::fs::read(&entry).unwrap(),
        first,
        "rewritten for the other key"
    );
}
