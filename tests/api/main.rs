//! One integration-test binary (`tests/api/`, found by Cargo as the test `api`): every test
//! talks to the local AWS emulator through the real SDK (moto), and presigned links are checked
//! against s3s-fs. `make test` starts both. A module of this folder must be declared below:
//! `every_file_of_this_folder_is_compiled` fails otherwise.

mod helpers;
mod registry_fake;

mod academie;
mod avenant;
mod chain;
mod convention;
mod countersignature;
mod deposit;
mod editeurs;
mod editor;
mod events;
mod hostile;
mod idempotency;
mod instructeur;
mod journal;
mod layers;
mod life;
mod listing;
mod presign;
mod reference;
mod seal;
mod secrets;
mod signataire;
mod term;

/// A file of `tests/api/` that no `mod` declares is never compiled, its tests never run.
#[test]
fn every_file_of_this_folder_is_compiled() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api");
    let main = include_str!("main.rs");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(module) = name.strip_suffix(".rs") else {
            continue;
        };
        if module != "main" {
            assert!(
                main.lines().any(|l| l.trim() == format!("mod {module};")),
                "tests/api/{name} is not declared in tests/api/main.rs: its tests never run"
            );
        }
    }
}
