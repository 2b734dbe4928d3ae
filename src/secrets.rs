//! The secrets a function needs, read once at its cold start from AWS Secrets Manager and kept
//! for the instance's life, so that none is in a function's environment (readable by anyone
//! with `lambda:GetFunctionConfiguration`). On AWS the template gives each secret's name
//! (`LINK_SECRET_ID`…, not secret itself; a name, because SSM's reference path reads the `:` of
//! an ARN as a version selector) and each function's role may read only the secrets its binary
//! asks for ([`Secret`], its `main.rs`); `make run` keeps the values themselves in the
//! environment (`LINK_SECRET`…), as before.
//!
//! Read through SSM's reference path (`GetParameter /aws/reference/secretsmanager/<id>`, with
//! decryption): the SSM client the seal already uses, no second SDK crate.
//!
//! Rotation: a value may be `{"actuel": "…", "precedent": "…"}` while a rotation lasts: links
//! and the single editor's webhook and answers are then made with `actuel` while `precedent`
//! is still accepted (the webhook carries both Standard Webhooks signatures), so that nothing
//! in flight breaks; afterwards the plain new value (infra/README.md « Rotation des secrets »).
//! Not the origin secret read from Secrets Manager: CloudFront sends its value as it is, so
//! the JSON form is refused there.

use crate::config::{optional, AnswerSecret, Config, ConfigError};
use crate::editeurs::Editeurs;

/// A secret a function may need; its binary lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secret {
    /// `LINK_SECRET`: the email links, pagination cursors, confirmation and verification codes.
    Link,
    /// `ORIGIN_SECRET`: the header CloudFront adds (the HTTP functions).
    Origin,
    /// `WEBHOOK_SECRET`: the single editor's webhook signature.
    Webhook,
    /// `EDITOR_ANSWER_SECRET`: the key the single editor signs its answers with.
    EditorAnswer,
    /// `EDITEURS_CONFIG`: the editors per territory, their secrets included.
    Editeurs,
}

impl Secret {
    pub const ALL: [Secret; 5] = [
        Secret::Link,
        Secret::Origin,
        Secret::Webhook,
        Secret::EditorAnswer,
        Secret::Editeurs,
    ];

    /// The variable holding the value itself (`make run`).
    pub fn var(self) -> &'static str {
        match self {
            Secret::Link => "LINK_SECRET",
            Secret::Origin => "ORIGIN_SECRET",
            Secret::Webhook => "WEBHOOK_SECRET",
            Secret::EditorAnswer => "EDITOR_ANSWER_SECRET",
            Secret::Editeurs => "EDITEURS_CONFIG",
        }
    }

    /// The variable holding the Secrets Manager id (name or ARN) of the value (AWS).
    pub fn id_var(self) -> &'static str {
        match self {
            Secret::Link => "LINK_SECRET_ID",
            Secret::Origin => "ORIGIN_SECRET_ID",
            Secret::Webhook => "WEBHOOK_SECRET_ID",
            Secret::EditorAnswer => "EDITOR_ANSWER_SECRET_ID",
            Secret::Editeurs => "EDITEURS_CONFIG_ID",
        }
    }
}

/// A value, or `{"actuel", "precedent"}` during a rotation: (current, previous).
pub fn rotating(value: &str, var: &'static str) -> Result<(String, Option<String>), ConfigError> {
    let v = value.trim();
    if !v.starts_with('{') {
        return Ok((v.to_string(), None));
    }
    let bad = || ConfigError::Rotation(var);
    let o: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(v).map_err(|_| bad())?;
    if o.keys().any(|k| k != "actuel" && k != "precedent") {
        return Err(bad());
    }
    let text = |k: &str| {
        o.get(k)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok((text("actuel").ok_or_else(bad)?, text("precedent")))
}

/// The configuration of a function that needs `needs`: `Config::from_env`, then those secrets
/// the template gives by id read from Secrets Manager (one GetParameter each, at cold start).
pub async fn config(needs: &[Secret]) -> Result<Config, ConfigError> {
    let mut config = Config::from_env()?;
    let sdk = crate::adapters::sdk_config(config.endpoint_url.as_deref()).await;
    let client = aws_sdk_ssm::Client::new(&sdk);
    load(&mut config, needs, optional, |id| {
        crate::adapters::ssm::secret_value(client.clone(), id)
    })
    .await?;
    Ok(config)
}

/// Reads the secrets of `needs` that the template gives by id, through `fetch` (SSM's
/// reference path on AWS), into `config`; a needed secret given neither way, or both ways,
/// stops the cold start saying which variable to set. The others are cleared: a function
/// keeps only what it needs.
pub async fn load<E, F, Fut>(
    config: &mut Config,
    needs: &[Secret],
    env: E,
    fetch: F,
) -> Result<(), ConfigError>
where
    E: Fn(&'static str) -> Option<String>,
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    for secret in Secret::ALL {
        let id = env(secret.id_var());
        if id.is_some() && env(secret.var()).is_some() {
            return Err(ConfigError::SecretTwice(secret.var(), secret.id_var()));
        }
        if !needs.contains(&secret) {
            clear(config, secret);
            continue;
        }
        match id {
            Some(id) => {
                let value = fetch(id.clone())
                    .await
                    .map_err(|e| ConfigError::SecretUnreadable(secret.id_var(), id.clone(), e))?;
                set(config, secret, &value, &id)?;
            }
            // Local: Config::from_env read the value.
            None if secret == Secret::Link && config.link_secret.is_empty() => {
                return Err(ConfigError::SecretMissing("LINK_SECRET", "LINK_SECRET_ID"))
            }
            None => {}
        }
    }
    // On AWS what protects a route or signs a call must be there: no origin secret would let
    // direct calls through, an empty webhook key would sign what anyone can forge.
    if config.endpoint_url.is_none()
        && needs.contains(&Secret::Origin)
        && config.origin_secret.is_none()
    {
        return Err(ConfigError::SecretMissing(
            "ORIGIN_SECRET",
            "ORIGIN_SECRET_ID",
        ));
    }
    if needs.contains(&Secret::Webhook)
        && config.webhook_url.is_some()
        && config.webhook_secret.is_empty()
    {
        return Err(ConfigError::SecretMissing(
            "WEBHOOK_SECRET",
            "WEBHOOK_SECRET_ID",
        ));
    }
    // One key, one editor: the answer route tells editors apart by the key that verifies.
    if let Some((a, b)) = shared_answer_key(config) {
        return Err(ConfigError::AnswerKeyShared(a, b));
    }
    Ok(())
}

/// Two editors (the single-editor settings included) holding the same answer key, current or
/// previous.
fn shared_answer_key(config: &Config) -> Option<(String, String)> {
    let mut seen: Vec<(&[u8], String)> = Vec::new();
    let editeurs = config.all_editeurs();
    for e in &editeurs {
        for key in e
            .answer_secret
            .iter()
            .chain(e.answer_secret_precedent.as_ref())
        {
            if let Some((_, other)) = seen.iter().find(|(k, o)| *k == key.key() && *o != e.id) {
                return Some((other.clone(), e.id.clone()));
            }
            seen.push((key.key(), e.id.clone()));
        }
    }
    None
}

fn clear(config: &mut Config, secret: Secret) {
    match secret {
        Secret::Link => {
            config.link_secret.clear();
            config.link_secret_precedent = None;
        }
        Secret::Origin => {
            config.origin_secret = None;
        }
        Secret::Webhook => {
            config.webhook_secret.clear();
            config.webhook_secret_precedent = None;
        }
        Secret::EditorAnswer => {
            config.editor_answer_secret = None;
            config.editor_answer_secret_precedent = None;
        }
        Secret::Editeurs => config.editeurs = Editeurs::default(),
    }
}

fn set(config: &mut Config, secret: Secret, value: &str, id: &str) -> Result<(), ConfigError> {
    let var = secret.var();
    match secret {
        Secret::Link => (config.link_secret, config.link_secret_precedent) = rotating(value, var)?,
        // CloudFront sends the secret's value as it is: a rotation object would be its header.
        Secret::Origin if value.trim_start().starts_with('{') => {
            return Err(ConfigError::OriginPlain)
        }
        Secret::Origin => config.origin_secret = Some(value.trim().to_string()),
        Secret::Webhook => {
            (config.webhook_secret, config.webhook_secret_precedent) = rotating(value, var)?
        }
        Secret::EditorAnswer => {
            (
                config.editor_answer_secret,
                config.editor_answer_secret_precedent,
            ) = answer_secrets(value)?
        }
        Secret::Editeurs => {
            config.editeurs = Editeurs::parse_json(
                value,
                &format!("EDITEURS_CONFIG (Secrets Manager {id})"),
                &config.academie,
            )?
        }
    }
    Ok(())
}

/// The single editor's answer secrets: the current one and, during a rotation, the previous.
pub fn answer_secrets(
    value: &str,
) -> Result<(Option<AnswerSecret>, Option<AnswerSecret>), ConfigError> {
    let (a, p) = rotating(value, "EDITOR_ANSWER_SECRET")?;
    let parse = |s: &str| AnswerSecret::from_whsec(s).map_err(ConfigError::AnswerSecret);
    Ok((Some(parse(&a)?), p.as_deref().map(parse).transpose()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_plain_or_in_rotation() {
        assert_eq!(
            rotating(" abc ", "LINK_SECRET").unwrap(),
            ("abc".to_string(), None)
        );
        assert_eq!(
            rotating(
                r#"{"actuel": "neuf", "precedent": "ancien"}"#,
                "LINK_SECRET"
            )
            .unwrap(),
            ("neuf".to_string(), Some("ancien".to_string()))
        );
        assert_eq!(
            rotating(r#"{"actuel": "neuf"}"#, "LINK_SECRET").unwrap(),
            ("neuf".to_string(), None)
        );
        for bad in [
            r#"{"precedent": "ancien"}"#,
            r#"{"actuel": ""}"#,
            r#"{"actuel": "neuf", "autre": 1}"#,
            "{pas du json",
        ] {
            let e = rotating(bad, "WEBHOOK_SECRET").unwrap_err().to_string();
            assert!(
                e.contains("WEBHOOK_SECRET") && e.contains("actuel"),
                "{bad}: {e}"
            );
            assert!(!e.contains("ancien"), "a value is never printed: {e}");
        }
    }
}
