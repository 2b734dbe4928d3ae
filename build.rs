//! Embeds every convention text version found in templates/convention/ (and every avenant text
//! of templates/avenant/), so that adding a version is adding a file.
use std::{env, fs, path::Path};

fn main() {
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("convention_texts.rs");
    let mut code = texts("templates/convention", "CONVENTION_TEXTS");
    code.push_str(&texts("templates/avenant", "AVENANT_TEXTS"));
    fs::write(out, code).unwrap();
}

/// `pub static {name}: &[(version, text)]` of the `.j2` files of `folder`, oldest first.
fn texts(folder: &str, name: &str) -> String {
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join(folder);
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut versions: Vec<(String, String)> = fs::read_dir(&dir)
        .expect(folder)
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "j2"))
        .map(|p| {
            println!("cargo:rerun-if-changed={}", p.display());
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                p.display().to_string(),
            )
        })
        .collect();
    versions.sort();
    let body: String = versions
        .iter()
        .map(|(v, p)| format!("    ({v:?}, include_str!({p:?})),\n"))
        .collect();
    format!("/// (version id, text), oldest first.\npub static {name}: &[(&str, &str)] = &[\n{body}];\n")
}
