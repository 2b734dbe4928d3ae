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
    /// The académie-wide contact address (`CONTACT_EMAIL`): the académie-wide instructeurs'
    /// digest goes there. Each département's emails use its DSDEN's (`Departement::contact_email`).
    pub contact_email: String,
    /// Secret for the email-link capability (see `domain::ids::link_jeton`): `LINK_SECRET`
    /// locally, read from Secrets Manager on AWS (`crate::secrets`).
    pub link_secret: String,
    /// During a rotation, the link secret being replaced: links made with it still open.
    pub link_secret_precedent: Option<String>,
    /// The secret CloudFront adds to every request it passes on (`http::front`); None locally.
    pub origin_secret: Option<String>,
    /// Lifetime of presigned download URLs.
    pub presign_ttl_seconds: u64,
    /// How long an export file written answers the same request again
    /// (`domain::export::FRESH_SECONDS`; the tests set 0: every export is written anew).
    pub export_fresh_seconds: i64,
    pub academie: Academie,
    /// Base URL of the company registry API (recherche-entreprises).
    pub registry_base_url: String,
    /// The ENT editor's webhook, told of each accepted dossier; None disables it.
    pub webhook_url: Option<String>,
    /// Shared secret of the webhook's HMAC-SHA256 signature.
    pub webhook_secret: String,
    /// During a rotation, the webhook secret being replaced: each call is signed with both.
    pub webhook_secret_precedent: Option<String>,
    /// `EDITOR_ANSWER_SECRET` (`whsec_…`): the key the ENT editor signs its answers with
    /// (`POST /api/editeur/ecoles`, Standard Webhooks); None: no answer is accepted.
    pub editor_answer_secret: Option<AnswerSecret>,
    /// During a rotation, the answer secret being replaced, still accepted.
    pub editor_answer_secret_precedent: Option<AnswerSecret>,
    /// Whether the single editor answers (`EDITOR_ANSWER_SECRET` or its `_ID` is set): a fact
    /// every function knows, also those that do not load the secret, so that all agree on
    /// whether the editor `defaut` exists.
    pub editor_answer_configured: bool,
    /// The ENT editors per territory (`EDITEURS_CONFIG`, `crate::editeurs`); the three settings
    /// above make the editor `defaut`, given the dossiers none of these takes.
    pub editeurs: crate::editeurs::Editeurs,
    /// Days a refused or classé sans suite dossier is kept after that decision before the
    /// table's TTL deletes it (`expire_le`); 0 keeps it. Accepted conventions are always kept.
    pub dossier_retention_days: u32,
    /// `DIGEST_WAITING_DAYS`: the académie's daily digest lists dossiers waiting for it longer
    /// than this (0: the default, 15 days).
    pub digest_waiting_days: u32,
    /// Local stack only: key of the dev instructeur tokens (`make instructeur-token`). Never set
    /// on AWS, where the HTTP API's JWT authorizer (Cognito) validates tokens.
    pub dev_jwt_secret: Option<String>,
    /// Where instructeurs sign in (authorization code + PKCE): the Cognito domain on AWS, the
    /// local sign-in of `make run`; None leaves only the pasted token.
    pub sign_in: Option<SignIn>,
    /// The académie's seal: its KMS key and the SSM parameter of its certificate chain; None
    /// when neither is set (the functions that seal then fail, saying so).
    pub seal: Option<SealSettings>,
    /// Local emulator endpoint (`AWS_ENDPOINT_URL`); None on AWS.
    pub endpoint_url: Option<String>,
}

/// Where the seal is: read by the functions that load it (`App::load_seal`).
#[derive(Clone, Debug, PartialEq)]
pub struct SealSettings {
    /// `SEAL_KEY_ID`: key id, key ARN, alias name (`alias/…`) or alias ARN.
    pub key_id: String,
    /// `SEAL_CERTIFICATE_PARAMETER`: name of the SSM String parameter holding the chain (PEM,
    /// leaf first).
    pub certificate_parameter: String,
}

impl SealSettings {
    /// `SEAL_KEY_ID` and `SEAL_CERTIFICATE_PARAMETER`, for `Config::from_env` and `admin`.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        SealSettings::parse(
            optional("SEAL_KEY_ID"),
            optional("SEAL_CERTIFICATE_PARAMETER"),
        )
    }

    /// Both or neither, each of a form KMS and SSM accept (checked here, so that a typo stops
    /// the cold start with its name rather than failing every signature).
    fn parse(
        key_id: Option<String>,
        parameter: Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let (key_id, parameter) = match (key_id, parameter) {
            (None, None) => return Ok(None),
            (Some(k), Some(p)) => (k.trim().to_string(), p.trim().to_string()),
            _ => return Err(ConfigError::SealHalf),
        };
        let key_chars = key_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | ':'));
        let key_form = key_id.starts_with("alias/")
            || key_id.starts_with("arn:")
            || key_id.starts_with("mrk-")
            || key_id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        if key_id.len() > 2048 || !key_chars || !key_form {
            return Err(ConfigError::SealKeyId(key_id));
        }
        let parameter_ok = parameter.len() <= 1011
            && parameter
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '.'));
        if !parameter_ok {
            return Err(ConfigError::SealParameter(parameter));
        }
        Ok(Some(SealSettings {
            key_id,
            certificate_parameter: parameter,
        }))
    }
}

/// A Standard Webhooks secret (`whsec_<base64>`), kept as its key bytes. Its value is never
/// printed (not even by `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct AnswerSecret(Vec<u8>);

impl std::fmt::Debug for AnswerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnswerSecret(<{} octets>)", self.0.len())
    }
}

impl AnswerSecret {
    /// `whsec_` then the base64 of 24 to 64 bytes, as the Standard Webhooks libraries make
    /// and read them; absent or empty: None.
    pub fn parse(value: Option<String>) -> Result<Option<Self>, ConfigError> {
        value
            .map(|v| AnswerSecret::from_whsec(&v).map_err(ConfigError::AnswerSecret))
            .transpose()
    }

    /// One `whsec_…` value, or why it is not one (in French, without the value).
    pub fn from_whsec(v: &str) -> Result<Self, &'static str> {
        use base64::Engine;
        let b64 = v
            .trim()
            .strip_prefix("whsec_")
            .ok_or("il doit commencer par whsec_")?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| "après whsec_ vient du base64")?;
        if !(24..=64).contains(&key.len()) {
            return Err("la clé fait de 24 à 64 octets (32 conseillés)");
        }
        Ok(AnswerSecret(key))
    }

    pub fn key(&self) -> &[u8] {
        &self.0
    }
}

/// An OAuth 2.0 / OIDC provider with Cognito's paths (`/oauth2/authorize`, `/oauth2/token`,
/// `/logout`) and a public client (no secret: the page is the client).
#[derive(Clone, Debug, PartialEq)]
pub struct SignIn {
    /// Origin only: `https://pile-123.auth.eu-west-3.amazoncognito.com`.
    pub origin: String,
    pub client_id: String,
}

impl SignIn {
    /// Both or neither; the origin in https (http only on this machine, for the local stack).
    fn parse(
        origin: Option<String>,
        client_id: Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let (origin, client_id) = match (origin, client_id) {
            (None, None) => return Ok(None),
            (Some(o), Some(c)) => (
                o.trim().trim_end_matches('/').to_string(),
                c.trim().to_string(),
            ),
            _ => return Err(ConfigError::SignInHalf),
        };
        let host = origin
            .strip_prefix("https://")
            .or_else(|| {
                origin
                    .strip_prefix("http://")
                    .filter(|h| h.starts_with("127.0.0.1:") || h.starts_with("localhost:"))
            })
            .ok_or_else(|| ConfigError::SignInOrigin(origin.clone()))?;
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
        let client_ok = !client_id.is_empty()
            && client_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !host_ok {
            return Err(ConfigError::SignInOrigin(origin));
        }
        if !client_ok {
            return Err(ConfigError::SignInClient(client_id));
        }
        Ok(Some(SignIn { origin, client_id }))
    }
}

/// The académie and its départements (`ACADEMIE_CONFIG`, or the flat variables): `academie.rs`.
pub use crate::academie::{Academie, Departement};
pub use crate::editeurs::{Editeur, Editeurs};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration : la variable d’environnement {0} est absente ou vide")]
    Missing(&'static str),
    #[error("configuration : {0} = « {1} » n’est pas un nombre de jours (entier, 0 ou plus)")]
    NotDays(&'static str, String),
    #[error("configuration : INSTRUCTEUR_SIGNIN_URL et INSTRUCTEUR_CLIENT_ID vont ensemble (les deux ou aucune)")]
    SignInHalf,
    #[error("configuration : INSTRUCTEUR_SIGNIN_URL = « {0} » n’est pas une origine https (https://hôte, sans chemin)")]
    SignInOrigin(String),
    #[error("configuration : INSTRUCTEUR_CLIENT_ID = « {0} » n’est pas un identifiant de client")]
    SignInClient(String),
    #[error("configuration : SEAL_KEY_ID et SEAL_CERTIFICATE_PARAMETER vont ensemble (les deux ou aucune)")]
    SealHalf,
    #[error("configuration : SEAL_KEY_ID = « {0} » n’est pas un identifiant de clé KMS (identifiant, ARN ou alias/…)")]
    SealKeyId(String),
    #[error("configuration : SEAL_CERTIFICATE_PARAMETER = « {0} » n’est pas un nom de paramètre SSM (lettres, chiffres, / _ - .)")]
    SealParameter(String),
    #[error(transparent)]
    Academie(#[from] crate::academie::AcademieError),
    #[error("configuration : DEV_JWT_SECRET est fixée alors que la fonction tourne sur AWS (pas d’AWS_ENDPOINT_URL) : ces jetons de développement ne valent que sur la pile locale ; retirez la variable, Cognito authentifie les instructeurs")]
    DevSecretOnAws,
    #[error("configuration : EDITOR_ANSWER_SECRET n’est pas un secret Standard Webhooks : {0}")]
    AnswerSecret(&'static str),
    #[error("configuration : {0} est un objet JSON de rotation mal formé : {{\"actuel\": \"…\", \"precedent\": \"…\"}} (precedent facultatif), ou la valeur seule")]
    Rotation(&'static str),
    #[error("configuration : {0} et {1} sont fixées toutes les deux : gardez {1} (l’identifiant du secret dans Secrets Manager) sur AWS, {0} (la valeur) sur la pile locale")]
    SecretTwice(&'static str, &'static str),
    #[error("configuration : le secret {1} ({0}) ne se lit pas dans Secrets Manager : {2} ; vérifiez son nom et que le rôle de la fonction peut le lire")]
    SecretUnreadable(&'static str, String, String),
    #[error("configuration : {0} est absente ou vide (sur AWS, {1} nomme le secret dans Secrets Manager)")]
    SecretMissing(&'static str, &'static str),
    #[error("configuration : le secret d’origine (ORIGIN_SECRET_ID) doit être une valeur simple : CloudFront l’envoie tel quel, une rotation {{\"actuel\", …}} n’y vaut pas (infra/README.md « Rotation des secrets »)")]
    OriginPlain,
    #[error("configuration : les éditeurs {0} et {1} ont le même secret de réponse : chaque éditeur signe avec le sien, sans quoi l’un répondrait pour l’autre")]
    AnswerKeyShared(String, String),
}

/// An environment variable, None when absent or blank.
pub(crate) fn optional(name: &'static str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Whether the variable is set (a secret given by its Secrets Manager id).
fn given(name: &'static str) -> bool {
    optional(name).is_some()
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
    /// The editor of the single-editor settings (`WEBHOOK_URL`, `WEBHOOK_SECRET`,
    /// `EDITOR_ANSWER_SECRET`), when a webhook or an answer secret is set.
    pub fn editeur_defaut(&self) -> Option<Editeur> {
        let answers = self.editor_answer_configured || self.editor_answer_secret.is_some();
        (self.webhook_url.is_some() || answers).then(|| Editeur {
            id: crate::editeurs::DEFAUT.into(),
            nom: "éditeur unique de l’académie".into(),
            webhook_url: self.webhook_url.clone(),
            webhook_secret: self.webhook_secret.clone(),
            webhook_secret_precedent: self.webhook_secret_precedent.clone(),
            answer_secret: self.editor_answer_secret.clone(),
            answer_secret_precedent: self.editor_answer_secret_precedent.clone(),
            departements: Default::default(),
            collectivites: Default::default(),
        })
    }

    /// Every editor: the configured ones, then `defaut` when its settings exist.
    pub fn all_editeurs(&self) -> Vec<Editeur> {
        let mut all: Vec<Editeur> = self.editeurs.list.values().cloned().collect();
        all.extend(self.editeur_defaut());
        all
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        let academie = Academie::from_env()?;
        // A secret the template gives by its Secrets Manager id is read by `crate::secrets`
        // (the functions that need it); locally its value is here, plain or in rotation.
        let link = if given("LINK_SECRET_ID") {
            (String::new(), None)
        } else {
            crate::secrets::rotating(&required("LINK_SECRET")?, "LINK_SECRET")?
        };
        // Plain, as CloudFront sends it (no rotation form: `secrets`).
        let origin = optional("ORIGIN_SECRET").filter(|_| !given("ORIGIN_SECRET_ID"));
        let webhook = match optional("WEBHOOK_SECRET") {
            Some(v) if !given("WEBHOOK_SECRET_ID") => {
                crate::secrets::rotating(&v, "WEBHOOK_SECRET")?
            }
            _ => (String::new(), None),
        };
        let answer = match optional("EDITOR_ANSWER_SECRET") {
            Some(v) if !given("EDITOR_ANSWER_SECRET_ID") => crate::secrets::answer_secrets(&v)?,
            _ => (None, None),
        };
        let editeurs = if given("EDITEURS_CONFIG_ID") {
            Editeurs::default()
        } else {
            Editeurs::from_env(&academie)?
        };
        let config = Config {
            table_name: required("TABLE_NAME")?,
            bucket_name: required("BUCKET_NAME")?,
            public_base_url: required("PUBLIC_BASE_URL")?
                .trim_end_matches('/')
                .to_string(),
            sender_email: required("SENDER_EMAIL")?,
            contact_email: required("CONTACT_EMAIL")?,
            link_secret: link.0,
            link_secret_precedent: link.1,
            origin_secret: origin,
            presign_ttl_seconds: env::var("PRESIGN_TTL_SECONDS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(300),
            export_fresh_seconds: crate::domain::export::FRESH_SECONDS,
            editeurs,
            academie,
            registry_base_url: required("REGISTRY_BASE_URL")?,
            webhook_url: optional("WEBHOOK_URL"),
            webhook_secret: webhook.0,
            webhook_secret_precedent: webhook.1,
            editor_answer_secret: answer.0,
            editor_answer_secret_precedent: answer.1,
            editor_answer_configured: given("EDITOR_ANSWER_SECRET")
                || given("EDITOR_ANSWER_SECRET_ID"),
            dossier_retention_days: days("DOSSIER_RETENTION_DAYS")?,
            digest_waiting_days: days("DIGEST_WAITING_DAYS")?,
            dev_jwt_secret: env::var("DEV_JWT_SECRET").ok().filter(|v| !v.is_empty()),
            sign_in: SignIn::parse(
                optional("INSTRUCTEUR_SIGNIN_URL"),
                optional("INSTRUCTEUR_CLIENT_ID"),
            )?,
            seal: SealSettings::from_env()?,
            endpoint_url: env::var("AWS_ENDPOINT_URL").ok().filter(|v| !v.is_empty()),
        };
        // Dev tokens are signed with a key anyone with the function's configuration reads:
        // on AWS (no emulator endpoint) they would bypass Cognito.
        if config.dev_jwt_secret.is_some() && config.endpoint_url.is_none() {
            return Err(ConfigError::DevSecretOnAws);
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_needs_both_settings_and_a_safe_origin() {
        let some = |v: &str| Some(v.to_string());
        assert_eq!(SignIn::parse(None, None).unwrap(), None);
        let s = SignIn::parse(
            some("https://pile-1.auth.eu-west-3.amazoncognito.com/"),
            some("4b2k9q1client"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.origin, "https://pile-1.auth.eu-west-3.amazoncognito.com");
        assert!(SignIn::parse(some("http://127.0.0.1:9100"), some("local"))
            .unwrap()
            .is_some());
        for (origin, client, needle) in [
            (some("https://x.fr"), None, "vont ensemble"),
            (None, some("c"), "vont ensemble"),
            (some("http://idp.exemple.fr"), some("c"), "https"),
            (some("https://x.fr/chemin"), some("c"), "https"),
            (some("https://x.fr\"><script>"), some("c"), "https"),
            (some("https://x.fr"), some("c d"), "identifiant de client"),
        ] {
            let e = SignIn::parse(origin, client).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn the_seal_needs_both_settings_of_valid_forms() {
        let some = |v: &str| Some(v.to_string());
        assert_eq!(SealSettings::parse(None, None).unwrap(), None);
        for key in [
            "alias/conventions-ent-sceau",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-3:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-3:123456789012:alias/pile-sceau",
            "mrk-1234abcd12ab34cd56ef1234567890ab",
        ] {
            let s = SealSettings::parse(some(key), some(" /pile/sceau/certificat "))
                .unwrap()
                .unwrap();
            assert_eq!(s.key_id, key);
            assert_eq!(s.certificate_parameter, "/pile/sceau/certificat");
        }
        for (key, parameter, needle) in [
            (some("alias/x"), None, "vont ensemble"),
            (None, some("/p"), "vont ensemble"),
            (some("ma clé"), some("/p"), "SEAL_KEY_ID"),
            (some("sceau"), some("/p"), "SEAL_KEY_ID"),
            (
                some("alias/x"),
                some("/p aram"),
                "SEAL_CERTIFICATE_PARAMETER",
            ),
            (
                some("alias/x"),
                some("/p\"><"),
                "SEAL_CERTIFICATE_PARAMETER",
            ),
        ] {
            let e = SealSettings::parse(key, parameter).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn the_answer_secret_is_a_standard_webhooks_one() {
        let some = |v: &str| Some(v.to_string());
        assert_eq!(AnswerSecret::parse(None).unwrap(), None);
        let s = AnswerSecret::parse(some(" whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw "))
            .unwrap()
            .unwrap();
        assert_eq!(s.key().len(), 24);
        assert!(!format!("{s:?}").contains("MfKQ"), "never printed");
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_pas du base64",
            "whsec_c2hvcnQ=",
        ] {
            let e = AnswerSecret::parse(some(bad)).unwrap_err().to_string();
            assert!(
                e.contains("EDITOR_ANSWER_SECRET") && !e.contains(bad),
                "{e}"
            );
        }
    }

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
