//! The layers point one way (README « The dossier's life », src/lib.rs): domain ← ports ←
//! adapters / render / reference ← app, links, mail ← export ← jobs / http ← functions. Checked on the
//! source text, so that a new `use` pointing back up fails here rather than in a review.

use std::path::Path;

/// Every `.rs` file under `src/<dir>` (or the file `src/<dir>.rs`), without its comments.
fn sources(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    let file = root.join(format!("{dir}.rs"));
    if file.exists() {
        stack.push(file);
    }
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.extension().is_some_and(|e| e == "rs") {
            let text: String = std::fs::read_to_string(&p)
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .map(|l| format!("{l}\n"))
                .collect();
            out.push((p.display().to_string(), text));
        }
    }
    assert!(!out.is_empty(), "src/{dir} not found");
    out
}

fn none_use(dirs: &[&str], upper: &[&str]) {
    for dir in dirs {
        for (path, text) in sources(dir) {
            for u in upper {
                assert!(
                    !text.contains(&format!("crate::{u}::"))
                        && !text.contains(&format!("crate::{u}::{{")),
                    "{path} uses crate::{u}, a layer above it"
                );
            }
        }
    }
}

#[test]
fn layers_point_one_way() {
    let above_domain = [
        "ports",
        "adapters",
        "render",
        "reference",
        "identification",
        "config",
        "app",
        "links",
        "mail",
        "export",
        "jobs",
        "http",
    ];
    none_use(&["domain"], &above_domain);
    none_use(&["ports"], &above_domain[1..]);
    none_use(
        &["adapters", "render", "reference"],
        &["app", "links", "mail", "export", "jobs", "http"],
    );
    none_use(
        &["links", "mail", "identification"],
        &["export", "jobs", "http"],
    );
    none_use(&["export"], &["jobs", "http"]);
    none_use(&["jobs"], &["http"]);
}

/// The audit trail's wording is the domain's: no other layer writes an `action`.
#[test]
fn audit_events_and_webhook_states_are_written_by_the_domain_only() {
    for dir in [
        "adapters",
        "http",
        "jobs",
        "render",
        "reference",
        "mail",
        "links",
    ] {
        for (path, text) in sources(dir) {
            assert!(
                !text.contains("Evenement {"),
                "{path} builds an audit event: steps of src/domain/steps/ do"
            );
            for wire in ["\"a_envoyer\"", "\"livre\""] {
                assert!(
                    !text.contains(wire),
                    "{path} spells the webhook state {wire}: use WebhookEtat"
                );
            }
        }
    }
}
