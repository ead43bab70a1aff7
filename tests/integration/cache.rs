//! The compile cache: a second load comes from disk; a corrupt, truncated or foreign entry is
//! detected, compiled again and overwritten.

use std::path::{Path, PathBuf};

use hecaton::{Engine, Module, ModuleCache, Process};
use hecaton_tests::guests::SQUARE;

fn fresh_cache(name: &str) -> ModuleCache {
    let dir = std::env::temp_dir().join(format!("hecaton-cache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    ModuleCache::new(dir)
}

fn entries(cache: &ModuleCache) -> Vec<PathBuf> {
    std::fs::read_dir(cache.dir())
        .map(|dir| dir.map(|entry| entry.unwrap().path()).collect())
        .unwrap_or_default()
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
    let stored = entries(&cache);
    assert_eq!(stored.len(), 1);
    let written = std::fs::metadata(&stored[0]).unwrap().modified().unwrap();
    assert_eq!(square_of_7(&load(&cache)), 49);
    assert_eq!(
        std::fs::metadata(&stored[0]).unwrap().modified().unwrap(),
        written,
        "not rewritten"
    );
}

fn damaged_entry_is_recompiled(name: &str, damage: impl FnOnce(&Path)) {
    let cache = fresh_cache(name);
    load(&cache);
    let entry = entries(&cache).remove(0);
    let good = std::fs::read(&entry).unwrap();
    damage(&entry);
    assert_eq!(square_of_7(&load(&cache)), 49);
    assert_eq!(
        std::fs::read(&entry).unwrap(),
        good,
        "the entry was rewritten whole"
    );
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
    let written: Vec<_> = stored
        .iter()
        .map(|entry| std::fs::metadata(entry).unwrap().modified().unwrap())
        .collect();
    assert_eq!(probe(&load().snapshot("init").unwrap()), 42_007_101);
    let again: Vec<_> = stored
        .iter()
        .map(|entry| std::fs::metadata(entry).unwrap().modified().unwrap())
        .collect();
    assert_eq!(entries(&cache).len(), 3);
    assert_eq!(written, again, "nothing compiled or written again");
}
