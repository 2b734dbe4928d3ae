//! The query parameters of the list, the export and the figures.

use super::Instructeur;
use crate::domain::dossier::Statut;
use crate::domain::draft::FieldError;
use crate::http::problem::ApiError;
use crate::ports::ListFilter;
use lambda_http::{Request, RequestExt};
use serde_json::json;

pub(super) fn param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn date_param(req: &Request, name: &str, errs: &mut Vec<FieldError>) -> Option<String> {
    let v = param(req, name)?;
    if chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok() {
        Some(v.to_string())
    } else {
        errs.push(FieldError::new(
            name,
            "Date attendue au format AAAA-MM-JJ (ex. : 2026-09-01).",
        ));
        None
    }
}

fn statut_param(req: &Request, errs: &mut Vec<FieldError>) -> Vec<Statut> {
    let Some(v) = param(req, "statut") else {
        return Vec::new();
    };
    let mut out: Vec<Statut> = Vec::new();
    // As many as there are statuts: a longer list is refused at once (one error, not one per
    // item of a list someone made a megabyte long).
    if v.split(',').count() > 7 {
        errs.push(FieldError::new(
            "statut",
            "Trop de statuts : sept au plus, séparés par des virgules (brouillon, en_construction, en_instruction, accepte, refuse, sans_suite, resilie).",
        ));
        return out;
    }
    for s in v.split(',') {
        match serde_json::from_value::<Statut>(json!(s.trim())) {
            Ok(st) if out.contains(&st) => errs.push(FieldError::new(
                "statut",
                format!("Le statut « {} » est donné deux fois.", st.as_str()),
            )),
            Ok(st) => out.push(st),
            Err(_) => errs.push(FieldError::new(
                "statut",
                format!("Statut inconnu « {} » : brouillon, en_construction, en_instruction, accepte, refuse, sans_suite, resilie.", s.trim().chars().take(50).collect::<String>()),
            )),
        }
    }
    out
}

/// `gar=en_attente`: accepted dossiers with a school the editor has not reported open.
fn gar_param(req: &Request, errs: &mut Vec<FieldError>) -> bool {
    match param(req, "gar") {
        None => false,
        Some("en_attente") => true,
        Some(other) => {
            errs.push(FieldError::new(
                "gar",
                format!("Filtre inconnu « {} » : en_attente (dossiers acceptés dont une école attend l’éditeur).", other.chars().take(50).collect::<String>()),
            ));
            false
        }
    }
}

/// `correction=demandee`: dossiers sent back for correction, not deposited again yet.
fn correction_param(req: &Request, errs: &mut Vec<FieldError>) -> bool {
    match param(req, "correction") {
        None => false,
        Some("demandee") => true,
        Some(other) => {
            errs.push(FieldError::new(
                "correction",
                format!("Filtre inconnu « {} » : demandee (dossiers renvoyés à la collectivité pour correction).", other.chars().take(50).collect::<String>()),
            ));
            false
        }
    }
}

/// `echeance=N`: conventions in force whose term ends within N days (1 to 3 650).
fn echeance_param(req: &Request, errs: &mut Vec<FieldError>) -> Option<String> {
    let v = param(req, "echeance")?;
    match v.parse::<i64>() {
        Ok(days) if (1..=3650).contains(&days) => {
            let today = crate::domain::term::today(&crate::domain::time::Now::system());
            Some(
                (today + chrono::Duration::days(days))
                    .format("%Y-%m-%d")
                    .to_string(),
            )
        }
        _ => {
            errs.push(FieldError::new(
                "echeance",
                "Nombre de jours attendu, de 1 à 3650 (ex. : echeance=90 pour les conventions \
                 qui arrivent à échéance dans 90 jours).",
            ));
            None
        }
    }
}

/// `nature=convention|avenant|renouvellement`.
fn nature_param(
    req: &Request,
    errs: &mut Vec<FieldError>,
) -> Option<crate::domain::dossier::NatureDossier> {
    let v = param(req, "nature")?;
    match serde_json::from_value(json!(v)) {
        Ok(n) => Some(n),
        Err(_) => {
            errs.push(FieldError::new(
                "nature",
                format!(
                    "Nature inconnue « {} » : convention, avenant ou renouvellement.",
                    v.chars().take(50).collect::<String>()
                ),
            ));
            None
        }
    }
}

/// A code parameter (`departement`, `commune`): its shape checked, a 422 naming it otherwise.
fn code_param(
    req: &Request,
    name: &str,
    valid: fn(&str) -> bool,
    expected: &str,
    errs: &mut Vec<FieldError>,
) -> Option<String> {
    let v = param(req, name)?;
    if valid(v) {
        Some(v.to_ascii_uppercase())
    } else {
        errs.push(FieldError::new(
            name,
            format!(
                "« {} » n’est pas {expected}.",
                v.chars().take(20).collect::<String>()
            ),
        ));
        None
    }
}

/// « 35 », « 2A », « 974 ».
fn is_departement(v: &str) -> bool {
    matches!(v.len(), 2 | 3) && v.chars().all(|c| c.is_ascii_digit() || "ABab".contains(c))
}

/// An INSEE commune code: five characters, digits (2A/2B for Corsica).
fn is_code_insee(v: &str) -> bool {
    v.len() == 5 && v.chars().all(|c| c.is_ascii_digit() || "ABab".contains(c))
}

/// Longest text search: a collectivité's name or SIRET, with room.
const MAX_Q: usize = 100;

/// The filters of the query, within the instructeur's scope whatever the query says.
pub(super) fn filter_from(req: &Request, who: &Instructeur) -> Result<ListFilter, ApiError> {
    let mut errs = Vec::new();
    if let Some(q) = param(req, "q").filter(|q| q.chars().count() > MAX_Q) {
        errs.push(FieldError::new(
            "q",
            format!(
                "Recherche trop longue ({} caractères) : {MAX_Q} au plus, par exemple un nom de \
                 collectivité ou un SIRET.",
                q.chars().count()
            ),
        ));
    }
    if param(req, "curseur").is_some_and(|c| c.len() > 2_000) {
        errs.push(FieldError::new(
            "curseur",
            "Curseur de pagination trop long : repartez de la première page.",
        ));
    }
    let filter = ListFilter {
        statuts: statut_param(req, &mut errs),
        departement: code_param(
            req,
            "departement",
            is_departement,
            "un code de département (35, 2A, 974)",
            &mut errs,
        ),
        commune: code_param(
            req,
            "commune",
            is_code_insee,
            "un code INSEE de commune (5 caractères, par exemple 35238)",
            &mut errs,
        ),
        depose_du: date_param(req, "du", &mut errs)
            .or_else(|| date_param(req, "depuis", &mut errs)),
        depose_au: date_param(req, "au", &mut errs),
        texte: param(req, "q").map(|q| q.chars().take(MAX_Q).collect()),
        chronologique: false,
        gar_en_attente: gar_param(req, &mut errs),
        correction_demandee: correction_param(req, &mut errs),
        fin_avant: echeance_param(req, &mut errs),
        nature: nature_param(req, &mut errs),
        perimetre: who.scope.perimetre(),
    };
    let mut filter = filter;
    // « À traiter »: what waits for the académie, oldest deposit first.
    match param(req, "tri") {
        None | Some("recents") => {}
        Some("a_traiter") => {
            filter.chronologique = true;
            if filter.statuts.is_empty() {
                filter.statuts = vec![Statut::EnConstruction, Statut::EnInstruction];
            }
        }
        Some(other) => errs.push(FieldError::new(
            "tri",
            format!(
                "Tri inconnu « {} » : recents (par défaut) ou a_traiter (les plus anciens d’abord).",
                other.chars().take(50).collect::<String>()
            ),
        )),
    }
    if let (Some(du), Some(au)) = (&filter.depose_du, &filter.depose_au) {
        if du > au {
            errs.push(FieldError::new(
                "au",
                format!("La date de fin ({au}) précède la date de début ({du}) : inversez-les."),
            ));
        }
    }
    if errs.is_empty() {
        Ok(filter)
    } else {
        Err(ApiError::Validation(errs))
    }
}
