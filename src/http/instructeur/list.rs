//! The dossier list: one page of deposited dossiers under the filters, newest first.

use super::params::{filter_from, param};
use crate::domain::dossier::DossierRecord;
use crate::domain::listing::Ligne;
use crate::http::problem::ApiError;
use crate::http::response::{json, ApiResult};
use crate::ports::{ListFilter, StoreError};
use crate::App;
use lambda_http::Request;
use serde_json::{json, Value};

/// A dossier's row of the list, as the list answers it (`domain::listing`).
pub(super) fn summary(r: &DossierRecord) -> Value {
    row(&Ligne::of(r))
}

fn row(l: &Ligne) -> Value {
    serde_json::to_value(l).unwrap_or(Value::Null)
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
    let (rows, next) = match app
        .dossiers
        .list_rows(&filter, cursor.as_deref(), limit)
        .await
    {
        Err(StoreError::Conflict) => return Err(bad_cursor()),
        r => r?,
    };
    let next = next.map(|n| seal_cursor(secret, &filter, &n));
    Ok(json(
        200,
        &json!({"dossiers": rows.iter().filter(|l| who.scope.allows_departement(l.departement.as_deref())).map(row).collect::<Vec<_>>(), "curseur_suivant": next}),
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
