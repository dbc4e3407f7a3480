//! Embeds the `auth` app's migration files, so that a site binary carries them.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let dir = root.join("migrations");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            if path.is_file()
                && !name.starts_with('.')
                && path.extension().is_some_and(|ext| ext == "json")
            {
                files.push((name, path));
            }
        }
    }
    files.sort();
    let mut code = String::new();
    let _ = writeln!(code, "/// Files under `migrations/`, by file name.");
    let _ = writeln!(code, "pub(crate) static MIGRATIONS: &[(&str, &str)] = &[");
    for (name, path) in files {
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    let _ = writeln!(code, "];");
    if let Err(err) = std::fs::write(out.join("embedded.rs"), code) {
        println!("cargo::error=could not write embedded.rs: {err}");
    }
}
