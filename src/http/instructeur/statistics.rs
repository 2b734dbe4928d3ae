//! The figures above the list.

use super::list::all_deposited;
use super::params::filter_from;
use crate::domain::statistics::{Contribution, Figures};
use crate::http::response::{json, ApiResult};
use crate::App;
use lambda_http::Request;

/// `GET /api/instructeur/statistiques`: how the dossiers the list's filters select (the statut
/// filter aside: the figures are per statut) are spread over the statuts, and how many
/// collectivités and schools they cover. The académie follows its campaign from it.
///
/// Without filters (the list's first page, the instructeur's scope only), from the counters
/// the stream keeps (`source`: `compteurs`, a few seconds behind the dossiers, in constant
/// time); under filters, from the dossiers they select (`dossiers`).
pub(super) async fn statistics(app: &App, req: &Request, who: &super::Instructeur) -> ApiResult {
    let mut filter = filter_from(req, who)?;
    filter.statuts.clear();
    if filter.scope_only() {
        let figures = app.counters.figures(filter.perimetre.as_deref()).await?;
        return Ok(json(200, &figures.to_json("compteurs")));
    }
    let records = all_deposited(app, who, &filter).await?;
    let contributions: Vec<Contribution> = records.iter().filter_map(Contribution::of).collect();
    Ok(json(
        200,
        &Figures::exact(&contributions).to_json("dossiers"),
    ))
}
