//! One typed configuration, read once at cold start from the environment variables that
//! `infra/template.yaml` sets (and `make run` sets locally).

use std::env;

#[derive(Clone, Debug)]
pub struct Config {
    /// DynamoDB table of dossiers.
    pub table_name: String,
    /// S3 bucket of conventions and reference data.
    pub bucket_name: String,
    /// Origin of the public site, for links in emails: `https://conventions.ac-x.fr`.
    pub public_base_url: String,
    /// Verified SES identity the emails come from.
    pub sender_email: String,
    /// The académie's contact address: Reply-To of every email.
    pub contact_email: String,
    /// Secret for the email-link capability (see `domain::ids::link_jeton`).
    pub link_secret: String,
    /// Lifetime of presigned download URLs.
    pub presign_ttl_seconds: u64,
    pub academie: Academie,
    /// Base URL of the company registry API (recherche-entreprises).
    pub registry_base_url: String,
    /// The ENT editor's webhook, told of each accepted dossier; None disables it.
    pub webhook_url: Option<String>,
    /// Shared secret of the webhook's HMAC-SHA256 signature.
    pub webhook_secret: String,
    /// Days a refused or classé sans suite dossier is kept after that decision before the
    /// table's TTL deletes it (`expire_le`); 0 keeps it. Accepted conventions are always kept.
    pub dossier_retention_days: u32,
    /// Local stack only: key of the dev instructeur tokens (`make instructeur-token`). Never set
    /// on AWS, where the HTTP API's JWT authorizer (Cognito) validates tokens.
    pub dev_jwt_secret: Option<String>,
    /// Local emulator endpoint (`AWS_ENDPOINT_URL`); None on AWS.
    pub endpoint_url: Option<String>,
}

/// The académie as printed on the convention.
#[derive(Clone, Debug)]
pub struct Academie {
    pub nom: String,
    pub dasen_nom: String,
    pub dasen_titre: String,
    pub adresse: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration : la variable d’environnement {0} est absente ou vide")]
    Missing(&'static str),
    #[error("configuration : {0} = « {1} » n’est pas un nombre de jours (entier, 0 ou plus)")]
    NotDays(&'static str, String),
}

fn required(name: &'static str) -> Result<String, ConfigError> {
    env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::Missing(name))
}

/// A number of days; absent or empty is 0. A value that is not one stops the function: read
/// as 0 it would silently keep what the académie meant to delete (or the reverse).
fn days(name: &'static str) -> Result<u32, ConfigError> {
    match env::var(name) {
        Ok(v) if !v.trim().is_empty() => {
            v.trim().parse().map_err(|_| ConfigError::NotDays(name, v))
        }
        _ => Ok(0),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Config {
            table_name: required("TABLE_NAME")?,
            bucket_name: required("BUCKET_NAME")?,
            public_base_url: required("PUBLIC_BASE_URL")?
                .trim_end_matches('/')
                .to_string(),
            sender_email: required("SENDER_EMAIL")?,
            contact_email: required("CONTACT_EMAIL")?,
            link_secret: required("LINK_SECRET")?,
            presign_ttl_seconds: env::var("PRESIGN_TTL_SECONDS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(300),
            academie: Academie {
                nom: required("ACADEMIE_NOM")?,
                dasen_nom: required("DASEN_NOM")?,
                dasen_titre: required("DASEN_TITRE")?,
                adresse: required("ACADEMIE_ADRESSE")?,
            },
            registry_base_url: required("REGISTRY_BASE_URL")?,
            webhook_url: env::var("WEBHOOK_URL")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            webhook_secret: env::var("WEBHOOK_SECRET").unwrap_or_default(),
            dossier_retention_days: days("DOSSIER_RETENTION_DAYS")?,
            dev_jwt_secret: env::var("DEV_JWT_SECRET").ok().filter(|v| !v.is_empty()),
            endpoint_url: env::var("AWS_ENDPOINT_URL").ok().filter(|v| !v.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_must_be_a_whole_number() {
        // Names of this test only (nextest runs each test in its own process); passed through
        // a variable so that scripts/check_infra.py does not take them for the functions' reads.
        let cases: [(&str, Option<&str>, Option<u32>); 5] = [
            ("TEST_DAYS_SET", Some(" 30 "), Some(30)),
            ("TEST_DAYS_ABSENT", None, Some(0)),
            ("TEST_DAYS_EMPTY", Some(""), Some(0)),
            ("TEST_DAYS_BAD", Some("30j"), None),
            ("TEST_DAYS_NEG", Some("-1"), None),
        ];
        for (name, value, want) in cases {
            if let Some(v) = value {
                std::env::set_var(name, v);
            }
            match (days(name), want) {
                (Ok(got), Some(want)) => assert_eq!(got, want, "{name}"),
                (Err(e), None) => {
                    let e = e.to_string();
                    assert!(e.contains(name) && e.contains("nombre de jours"), "{e}");
                }
                (got, want) => panic!("{name}: {got:?}, expected {want:?}"),
            }
        }
    }
}
