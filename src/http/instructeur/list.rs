//! The dossier list: one page of deposited dossiers under the filters, newest first.

use super::params::{filter_from, param};
use crate::domain::dossier::DossierRecord;
use crate::http::problem::ApiError;
use crate::http::response::{json, ApiResult};
use crate::ports::{ListFilter, StoreError};
use crate::App;
use lambda_http::Request;
use serde_json::{json, Value};

pub(super) fn summary(r: &DossierRecord) -> Value {
    let d = r.depot.as_ref();
    let mut communes: Vec<String> = d
        .map(|d| d.ecoles.iter().map(|e| e.commune.clone()).collect())
        .unwrap_or_default();
    communes.dedup();
    json!({
        "id": r.id,
        "numero": r.numero,
        "statut": r.statut,
        "depose_le": r.depose_le,
        "modifie_le": r.modifie_le,
        "collectivite": d.map(|d| json!({"siret": d.collectivite.siret, "nom": d.collectivite.nom, "verifie": d.collectivite.verifie})),
        "ecoles": d.map(|d| d.ecoles.len()).unwrap_or(0),
        "communes": communes,
        "convention": r.convention.as_ref().map(|c| json!({"genere_le": c.genere_le, "code_verification": c.code_verification})),
        "accuse_envoye": r.accuse.is_some(),
        "messages": r.nb_messages(),
        "webhook": r.webhook_etat.as_ref().map(|e| json!({"etat": e, "tentatives": r.nb_webhook_attempts()})),
        "gar": gar_summary(r),
        "correction_demandee": r.correction_demandee,
    })
}

/// The ENT editor's answers on an accepted dossier's schools, counted (null otherwise).
fn gar_summary(r: &DossierRecord) -> Value {
    use crate::domain::gar::EtatGar;
    let Some(d) = r
        .depot
        .as_ref()
        .filter(|_| r.statut == crate::domain::dossier::Statut::Accepte)
    else {
        return Value::Null;
    };
    let count = |etat: Option<EtatGar>| {
        d.ecoles
            .iter()
            .filter(|e| e.gar.as_ref().map(|g| g.etat) == etat)
            .count()
    };
    json!({
        "ouvertes": count(Some(EtatGar::Ouverte)),
        "rejetees": count(Some(EtatGar::Rejetee)),
        "en_attente": count(None),
        "accepte_le": r.accepte_le(),
    })
}

/// The store's cursor, tied to the filters it continues: `<cursor>.<HMAC(secret, filters,
/// cursor)>`, so that a cursor edited, or given with other filters, is refused (400) instead
/// of listing another page of another list.
fn seal_cursor(secret: &[u8], filter: &crate::ports::ListFilter, cursor: &str) -> String {
    format!("{cursor}.{}", cursor_mac(secret, filter, cursor))
}

fn open_cursor(secret: &[u8], filter: &crate::ports::ListFilter, sealed: &str) -> Option<String> {
    use subtle::ConstantTimeEq;
    let (cursor, mac) = sealed.rsplit_once('.')?;
    let expected = cursor_mac(secret, filter, cursor);
    bool::from(expected.as_bytes().ct_eq(mac.as_bytes())).then(|| cursor.to_string())
}

fn cursor_mac(secret: &[u8], filter: &crate::ports::ListFilter, cursor: &str) -> String {
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(b"curseur:");
    mac.update(format!("{filter:?}").as_bytes());
    mac.update(b":");
    mac.update(cursor.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..16])
}

pub(super) async fn list(app: &App, req: &Request, who: &super::Instructeur) -> ApiResult {
    let filter = filter_from(req, who)?;
    let limit = match param(req, "limite") {
        None => 50,
        Some(l) => match l.parse::<usize>() {
            Ok(n @ 1..=200) => n,
            _ => {
                return Err(ApiError::Validation(vec![
                    crate::domain::draft::FieldError::new(
                        "limite",
                        "Nombre de dossiers par page attendu : un entier de 1 à 200.",
                    ),
                ]))
            }
        },
    };
    let secret = app.config.link_secret.as_bytes();
    let bad_cursor = || {
        ApiError::BadRequest(
            "Curseur de pagination invalide pour ces filtres : repartez de la première page."
                .into(),
        )
    };
    let cursor = match param(req, "curseur") {
        None => None,
        Some(c) => Some(open_cursor(secret, &filter, c).ok_or_else(bad_cursor)?),
    };
    let (records, next) = match app
        .dossiers
        .list_deposited(&filter, cursor.as_deref(), limit)
        .await
    {
        Err(StoreError::Conflict) => return Err(bad_cursor()),
        r => r?,
    };
    let next = next.map(|n| seal_cursor(secret, &filter, &n));
    Ok(json(
        200,
        &json!({"dossiers": records.iter().filter(|r| who.scope.allows(r)).map(summary).collect::<Vec<_>>(), "curseur_suivant": next}),
    ))
}

/// Every deposited dossier the filter selects within the instructeur's scope, page after page
/// (exports, figures).
pub(super) async fn all_deposited(
    app: &App,
    who: &super::Instructeur,
    filter: &ListFilter,
) -> Result<Vec<DossierRecord>, ApiError> {
    let mut all = app.dossiers.all_deposited(filter).await?;
    all.retain(|r| who.scope.allows(r));
    Ok(all)
}
