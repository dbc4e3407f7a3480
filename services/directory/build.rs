//! Embeds the app's templates, static files and migrations into the binary, so that one file
//! deploys the whole site (debug builds still read templates from disk, see `herd-templates`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let mut code = String::new();
    for (constant, folder, as_text) in [
        ("TEMPLATES", "templates", true),
        ("STATIC_FILES", "static", false),
        ("MIGRATIONS", "migrations", true),
    ] {
        let dir = root.join(folder);
        println!("cargo::rerun-if-changed={}", dir.display());
        let mut files = Vec::new();
        collect(&dir, &dir, &mut files);
        files.sort();
        let element = if as_text {
            "(&str, &str)"
        } else {
            "(&str, &[u8])"
        };
        let include = if as_text {
            "include_str!"
        } else {
            "include_bytes!"
        };
        let _ = writeln!(code, "/// Files under `{folder}/`, by path relative to it.");
        let _ = writeln!(code, "pub(crate) static {constant}: &[{element}] = &[");
        for (name, path) in files {
            let _ = writeln!(
                code,
                "    ({name:?}, {include}({:?})),",
                path.display().to_string()
            );
        }
        let _ = writeln!(code, "];");
    }
    if let Err(err) = std::fs::write(out.join("embedded.rs"), code) {
        println!("cargo::error=could not write embedded.rs: {err}");
    }
}

fn collect(base: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(base, &path, files);
        } else if let Ok(relative) = path.strip_prefix(base) {
            let name = relative.to_string_lossy().replace('\\', "/");
            if !name.starts_with('.') && !name.ends_with('~') {
                files.push((name, path));
            }
        }
    }
}
