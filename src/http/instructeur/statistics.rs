//! The figures above the list.

use super::list::all_deposited;
use super::params::filter_from;
use crate::domain::dossier::Statut;
use crate::http::response::{json, ApiResult};
use crate::App;
use lambda_http::Request;
use serde_json::json;

/// `GET /api/instructeur/statistiques`: how the dossiers the list's filters select (the statut
/// filter aside: the figures are per statut) are spread over the statuts, and how many
/// collectivités and schools they cover. The académie follows its campaign from it.
pub(super) async fn statistics(app: &App, req: &Request, who: &super::Instructeur) -> ApiResult {
    let mut filter = filter_from(req, who)?;
    filter.statuts.clear();
    let records = all_deposited(app, who, &filter).await?;
    let mut par_statut: std::collections::BTreeMap<&str, usize> =
        Statut::DEPOSITED.iter().map(|s| (s.as_str(), 0)).collect();
    let mut collectivites = std::collections::BTreeSet::new();
    let mut signed = std::collections::BTreeSet::new();
    let mut accepted = std::collections::BTreeSet::new();
    for r in &records {
        if let Some(n) = par_statut.get_mut(r.statut.as_str()) {
            *n += 1;
        }
        let Some(d) = &r.depot else { continue };
        collectivites.insert(d.collectivite.siret.as_str());
        if r.statut.conventioned() {
            signed.extend(d.ecoles.iter().map(|e| e.uai.as_str()));
        }
        if r.statut == Statut::Accepte {
            accepted.extend(d.ecoles.iter().map(|e| e.uai.as_str()));
        }
    }
    Ok(json(
        200,
        &json!({
            "dossiers": records.len(),
            "par_statut": par_statut,
            "collectivites": collectivites.len(),
            "ecoles": {"conventionnees": signed.len(), "acceptees": accepted.len()},
        }),
    ))
}
