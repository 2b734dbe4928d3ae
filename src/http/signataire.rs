//! The signatory's address confirmed by a one-time code: send it, give it back.

use super::dossiers::authorize;
use super::problem::ApiError;
use super::request::json_body;
use super::response::{json, ApiResult};
use super::view::view;
use crate::domain::draft::FieldError;
use crate::domain::life::Actor;
use crate::domain::signataire::{
    address_quota, confirmed_address_key, masked, new_code, CodeEnvoye, CONFIRMED_ADDRESS_DAYS,
};
use crate::domain::steps;
use crate::domain::time::Now;
use crate::ports::StoreError;
use crate::App;
use lambda_http::Request;
use serde_json::{json, Value};

/// `POST /api/dossiers/{id}/signataire/code`: a code to the draft's signatory address.
pub async fn send(app: &App, req: &Request, id: &str) -> ApiResult {
    let record = authorize(app, req, id).await?;
    json_body(req)?;
    let now = Now::system();
    let code = new_code();
    let key = app.config.link_secret.as_bytes();
    let change = steps::send_code(&record, &code, key, &Actor::Collectivite, &now)?;
    let Some(to) = change.notices.iter().find_map(|n| match n {
        crate::domain::change::Notice::Code { to, .. } => Some(to.clone()),
        _ => None,
    }) else {
        return Err(ApiError::Unavailable);
    };
    take_address_quota(app, &to, &now).await?;
    match app.dossiers.send_code(&record, &change).await {
        // Deposited meanwhile, or another send of this dossier won the race.
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict(
                "Un code vient d’être envoyé pour ce dossier, ou il vient d’être déposé : \
                 rechargez la page."
                    .into(),
            ))
        }
        r => r?,
    }
    if !crate::mail::send_notices(app, &record, &change.notices).await {
        return Err(ApiError::UnavailableWith(
            "Le code n’a pas pu être envoyé (messagerie momentanément indisponible) : \
             demandez-en un autre dans une minute."
                .into(),
        ));
    }
    let pending: Option<&CodeEnvoye> = change.updates.iter().find_map(|u| match u {
        crate::domain::change::Update::CodeSignataire(Some(c)) => Some(c),
        _ => None,
    });
    let expire_le = pending
        .and_then(|c| chrono::DateTime::from_timestamp(c.expire_le, 0))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    tracing::info!(dossier = %record.id, "signatory code sent");
    Ok(json(
        202,
        &json!({"envoye_a": masked(&to), "expire_le": expire_le}),
    ))
}

/// The address's own code quota, whatever the dossiers asking for it (three a day for an
/// address nobody confirmed yet, ten once its owner confirmed it).
async fn take_address_quota(app: &App, to: &str, now: &Now) -> Result<(), ApiError> {
    let confirmed_before = app.dossiers.remembers(&confirmed_address_key(to)).await?;
    let quota = address_quota(to, now.seconds(), confirmed_before);
    match app.dossiers.take_quota(&quota).await {
        Err(StoreError::Conflict) => Err(quota
            .used_up(now.seconds(), |limit, when| {
                format!(
                    "Cette adresse a déjà reçu {limit} codes aujourd’hui : vous pourrez en \
                     demander un autre {when}. Vérifiez l’adresse du signataire, ou contactez \
                     l’académie."
                )
            })
            .into()),
        r => r.map_err(ApiError::from),
    }
}

/// `POST /api/dossiers/{id}/signataire` `{"prenom", "nom", "qualite", "email"}`: a new signatory
/// for a deposited dossier (after elections), in office once that address gives back the code
/// sent to it (`…/signataire/confirmation`).
pub async fn propose(app: &App, req: &Request, id: &str) -> ApiResult {
    let record = authorize(app, req, id).await?;
    let body = json_body(req)?;
    let mut errors = Vec::new();
    let Some(o) = body.as_object() else {
        return Err(ApiError::Validation(vec![FieldError::new(
            "",
            "Le corps doit être un objet JSON {\"prenom\", \"nom\", \"qualite\", \"email\"}.",
        )]));
    };
    let mut text = |k: &str| match o.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(FieldError::new(k, "Texte attendu."));
            Some(String::new())
        }
    };
    let draft = crate::domain::draft::DraftSignataire {
        prenom: text("prenom"),
        nom: text("nom"),
        qualite: text("qualite"),
        email: text("email"),
        habilitation: None,
    };
    for k in o
        .keys()
        .filter(|k| !["prenom", "nom", "qualite", "email"].contains(&k.as_str()))
    {
        errors.push(FieldError::new(
            k.chars().take(60).collect::<String>(),
            "Champ inconnu : les champs acceptés sont prenom, nom, qualite et email.",
        ));
    }
    let mut checked = Vec::new();
    let fields = crate::domain::deposit::signataire_fields(&draft, "", &mut checked);
    // A type error is said once, not twice.
    for e in checked {
        if !errors.iter().any(|x| x.champ == e.champ) {
            errors.push(e);
        }
    }
    let (Some(prenom), Some(nom), Some(qualite), Some(email)) = fields else {
        return Err(ApiError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let now = Now::system();
    let email = crate::domain::signataire::normalised(Some(email.as_str())).unwrap_or_default();
    let nouveau = crate::domain::dossier::NouveauSignataire {
        prenom,
        nom,
        qualite,
        email: email.clone(),
        le: now.stamp(),
    };
    let code = new_code();
    let key = app.config.link_secret.as_bytes();
    let change =
        steps::propose_signataire(&record, nouveau, &code, key, &Actor::Collectivite, &now)?;
    take_address_quota(app, &email, &now).await?;
    match app.dossiers.propose_signataire(&record, &change).await {
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict(
                "Un code vient d’être envoyé pour ce dossier : rechargez la page.".into(),
            ))
        }
        r => r?,
    }
    if !crate::mail::send_notices(app, &record, &change.notices).await {
        return Err(ApiError::UnavailableWith(
            "Le code n’a pas pu être envoyé (messagerie momentanément indisponible) : \
             demandez-en un autre dans une minute."
                .into(),
        ));
    }
    let expire_le = change
        .updates
        .iter()
        .find_map(|u| match u {
            crate::domain::change::Update::CodeSignataire(Some(c)) => Some(c.expire_le),
            _ => None,
        })
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    tracing::info!(dossier = %record.id, "new signatory's code sent");
    Ok(json(
        202,
        &json!({"envoye_a": masked(&email), "expire_le": expire_le}),
    ))
}

/// `POST /api/dossiers/{id}/signataire/confirmation` `{"code"}`: the draft's signatory, or the
/// new signatory of a deposited dossier.
pub async fn confirm(app: &App, req: &Request, id: &str) -> ApiResult {
    let mut record = authorize(app, req, id).await?;
    let body = json_body(req)?;
    let code = match body.get("code") {
        Some(Value::String(c)) => c.clone(),
        _ => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "code",
                "Saisissez le code à 6 chiffres reçu par le signataire.",
            )]))
        }
    };
    let key = app.config.link_secret.as_bytes();
    // The draft's (or corrected dossier's) signatory while the collectivité edits; else the new
    // signatory of a deposited dossier.
    let change_of_signatory =
        !crate::domain::life::Phase::of(&record).editable() && record.nouveau_signataire.is_some();
    let checked = if change_of_signatory {
        steps::confirm_new_signataire(&record, &code, key, &Actor::Collectivite, &Now::system())?
    } else {
        steps::confirm_code(&record, &code, key, &Actor::Collectivite, &Now::system())?
    };
    let written = if change_of_signatory {
        app.dossiers
            .confirm_new_signataire(&record, &checked.change)
            .await
    } else {
        app.dossiers.confirm_code(&record, &checked.change).await
    };
    match written {
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict(
                "Un autre essai vient d’être fait sur ce dossier : rechargez la page et réessayez."
                    .into(),
            ))
        }
        r => r?,
    }
    if let Some(wrong) = checked.wrong {
        return Err(ApiError::Validation(vec![wrong]));
    }
    checked.change.apply(&mut record);
    // The académie and the new signatory are told (rendered as written: to the new person).
    crate::mail::send_notices(app, &record, &checked.change.notices).await;
    if let Some(c) = &record.confirmation_signataire {
        let until = Now::system().seconds() + CONFIRMED_ADDRESS_DAYS * 86_400;
        // Only a relief for later codes to this address: its failure costs nothing else.
        if let Err(e) = app
            .dossiers
            .remember(&confirmed_address_key(&c.email), until)
            .await
        {
            tracing::warn!(error = %e, "confirmed address not remembered");
        }
    }
    Ok(json(200, &view(app, &record)))
}
