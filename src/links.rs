//! The addresses the product gives out, in one place: an email, a page and an API answer name
//! the same URL for the same thing.

use crate::config::Config;
use crate::domain::ids::DossierId;

/// The collectivité's private page of a dossier (given at creation, and in emails with a
/// link-jeton).
pub fn private_page(config: &Config, id: &DossierId, jeton: &str) -> String {
    format!("{}/dossiers/{id}?jeton={jeton}", config.public_base_url)
}

/// The convention's download route (a 302 to a fresh presigned URL).
pub fn convention(config: &Config, id: &DossierId) -> String {
    format!("{}/api/dossiers/{id}/convention", config.public_base_url)
}

/// The download route with its jeton, as an email carries it.
pub fn convention_with_jeton(config: &Config, id: &DossierId, jeton: &str) -> String {
    format!("{}?jeton={jeton}", convention(config, id))
}

/// One version of the convention's download route.
pub fn convention_version(config: &Config, id: &DossierId, version: u32) -> String {
    format!("{}?version={version}", convention(config, id))
}

/// One version of the convention, with the jeton, as the acceptance email carries it (the
/// version stays the same document whatever comes after it).
pub fn convention_version_with_jeton(
    config: &Config,
    id: &DossierId,
    version: u32,
    jeton: &str,
) -> String {
    format!("{}&jeton={jeton}", convention_version(config, id, version))
}

/// The instructeur's page of a dossier.
pub fn instructeur_page(config: &Config, id: &DossierId) -> String {
    format!("{}/instructeur/dossiers/{id}", config.public_base_url)
}

/// The public verification page of a printed code.
pub fn verification_page(config: &Config, code: &str) -> String {
    format!("{}/verification/{code}", config.public_base_url)
}
