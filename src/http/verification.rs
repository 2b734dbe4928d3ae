//! The public verification of a printed convention's code.

use super::problem::ApiError;
use super::response::{json, ApiResult};
use crate::App;
use serde_json::json;

/// Public check of a printed convention: no personal data.
pub async fn verify(app: &App, code: &str) -> ApiResult {
    let code = code.trim().to_ascii_uppercase();
    let well_formed =
        code.len() == 14 && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let found = if well_formed {
        app.dossiers.find_by_verification_code(&code).await?
    } else {
        None
    };
    let (Some(record), true) = (found, well_formed) else {
        return Err(ApiError::NotFoundWith(
            "Aucune convention ne correspond à ce code de vérification.".into(),
        ));
    };
    // The version this code was printed on (the current one, or one it superseded).
    let version = record
        .versions()
        .iter()
        .find(|c| c.code_verification == code);
    let (Some(depot), Some(conv)) = (&record.depot, version) else {
        return Err(ApiError::NotFoundWith(
            "Aucune convention ne correspond à ce code de vérification.".into(),
        ));
    };
    let replaced = record
        .replaced(conv)
        .map(|next| json!({"version": next.version, "nature": next.nature}));
    Ok(json(
        200,
        &json!({
            "numero": record.numero,
            "collectivite": {
                "siret": depot.collectivite.siret,
                "nom": depot.collectivite.nom,
            },
            "depose_le": record.depose_le,
            "sha256": conv.sha256,
            "genere_le": conv.genere_le,
            "version_texte": depot.signature.version_texte,
            "ecoles": depot.ecoles.iter().map(|e| e.uai.clone()).collect::<Vec<_>>(),
            "statut": record.statut,
            "accepte_le": record.accepte_le(),
            "version": conv.version,
            "nature": conv.nature,
            // A superseded version is still the document it was; the next one replaced it.
            "remplacee_par": replaced,
            // How to check the seal the PDF carries: the chain to trust, and the signer a PDF
            // reader names (the leaf's commonName; null when this instance has no seal loaded).
            "sceau": {
                "certificat": "/api/conventions/certificat.pem",
                "nom": app.seal.as_ref().map(|s| s.signer_name()),
            },
        }),
    ))
}
