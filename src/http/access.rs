//! « J’ai perdu le lien de mon dossier » (`POST /api/acces/lien`): the links of a SIRET's
//! dossiers, mailed again to the signatory's confirmed address. The answer is the same whether
//! anything matched, so that nobody learns from it who signed for whom.

use super::problem::ApiError;
use super::request::json_body;
use super::response::{json, ApiResult};
use crate::domain::dossier::Statut;
use crate::domain::draft::FieldError;
use crate::domain::email::Email;
use crate::domain::signataire::lost_link_quota;
use crate::domain::siret::Siret;
use crate::domain::steps;
use crate::domain::time::Now;
use crate::ports::{ListFilter, StoreError};
use crate::App;
use lambda_http::Request;
use serde_json::{json, Value};

/// The one answer, matched or not.
const SENT_IF_KNOWN: &str = "Si cette adresse est celle du signataire d’un dossier de ce SIRET, \
    confirmée lors du dépôt, elle reçoit dans quelques minutes un courriel avec le lien de chaque \
    dossier. Rien n’arrive ? Vérifiez l’adresse et les courriers indésirables, ou écrivez à \
    l’académie : elle peut renouveler l’accès du dossier.";

/// Pages read while looking for a SIRET's dossiers (100 each): beyond, the académie is asked.
const MAX_PAGES: usize = 50;

pub async fn lost_link(app: &App, req: &Request) -> ApiResult {
    let body = json_body(req)?;
    let (siret, email) = parse(&body).map_err(ApiError::Validation)?;
    let now = Now::system();
    // Per address and per day, matched or not: the answer tells nothing, the quota neither.
    let quota = lost_link_quota(email.as_str(), now.seconds());
    match app.dossiers.take_quota(&quota).await {
        Err(StoreError::Conflict) => {
            return Err(quota
                .used_up(now.seconds(), |limit, when| {
                    format!(
                        "{limit} demandes de lien ont déjà été faites aujourd’hui pour cette \
                         adresse : vous pourrez en faire une autre {when}, ou écrire à \
                         l’académie, qui peut renouveler l’accès du dossier."
                    )
                })
                .into());
        }
        r => r?,
    }
    let filter = ListFilter {
        statuts: Statut::DEPOSITED.to_vec(),
        texte: Some(siret.as_str().to_string()),
        ..ListFilter::default()
    };
    let mut cursor: Option<String> = None;
    let mut sent = 0;
    for _ in 0..MAX_PAGES {
        let (page, next) = app
            .dossiers
            .list_deposited(&filter, cursor.as_deref(), 100)
            .await?;
        for r in &page {
            if let Some(notice) = steps::lost_link(r, &siret, email.as_str()) {
                if crate::mail::send_notices(app, r, &[notice]).await {
                    sent += 1;
                }
            }
        }
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    tracing::info!(liens = sent, "lost-link request answered");
    Ok(json(202, &json!({ "detail": SENT_IF_KNOWN })))
}

fn parse(body: &Value) -> Result<(Siret, Email), Vec<FieldError>> {
    let mut errors = Vec::new();
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
    let siret = Siret::parse(text("siret"))
        .map_err(|e| errors.push(FieldError::new("siret", e.message())))
        .ok();
    let email = Email::parse(text("email"))
        .map_err(|e| errors.push(FieldError::new("email", e)))
        .ok();
    if let Some(o) = body.as_object() {
        for k in o
            .keys()
            .filter(|k| !["siret", "email"].contains(&k.as_str()))
        {
            errors.push(FieldError::new(
                k.chars().take(60).collect::<String>(),
                "Champ inconnu : les champs acceptés sont siret et email.",
            ));
        }
    } else {
        errors.push(FieldError::new(
            "",
            "Le corps doit être un objet JSON {\"siret\", \"email\"}.",
        ));
    }
    match (siret, email) {
        (Some(s), Some(e)) if errors.is_empty() => Ok((s, e)),
        _ => Err(errors),
    }
}
