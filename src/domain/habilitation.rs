//! The signatory's authority to sign: the délibération or délégation it acts under, printed in
//! the convention and part of what the signatory approved.

use super::draft::{DraftHabilitation, FieldError};
use super::text::Name;
use serde::{Deserialize, Serialize};

/// The act under which the signatory signs for the collectivité.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Habilitation {
    pub nature: NatureHabilitation,
    /// "YYYY-MM-DD".
    pub date: String,
    pub reference: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NatureHabilitation {
    /// A délibération of the council (conseil municipal, conseil communautaire…).
    Deliberation,
    /// A délégation (of the council to the maire, of the maire to an adjoint…).
    Delegation,
}

impl Habilitation {
    /// « agissant en vertu de la délibération n° 2026-014 du 28 mars 2026 ».
    pub fn printed(&self) -> String {
        let acte = match self.nature {
            NatureHabilitation::Deliberation => "la délibération",
            NatureHabilitation::Delegation => "la délégation",
        };
        let date = chrono::NaiveDate::parse_from_str(&self.date, "%Y-%m-%d")
            .map(super::time::french_date)
            .unwrap_or_else(|_| self.date.clone());
        format!(
            "agissant en vertu de {acte} n° {} du {date}",
            self.reference
        )
    }
}

/// The signatory's habilitation, checked: nature, a date in the past (Paris time) and not
/// before 2001, a reference of at most 50 visible characters.
pub fn validate(
    h: Option<&DraftHabilitation>,
    now: &str,
    errs: &mut Vec<FieldError>,
) -> Option<Habilitation> {
    const CHAMP: &str = "signataire.habilitation";
    let Some(h) = h else {
        errs.push(FieldError::new(
            format!("{CHAMP}.nature"),
            "Indiquez l’acte qui habilite le signataire (délibération ou délégation), sa date et sa référence.",
        ));
        return None;
    };
    let nature = match h.nature.as_deref().map(str::trim) {
        Some("deliberation") => Some(NatureHabilitation::Deliberation),
        Some("delegation") => Some(NatureHabilitation::Delegation),
        _ => {
            errs.push(FieldError::new(
                format!("{CHAMP}.nature"),
                "Choisissez la nature de l’acte : délibération ou délégation.",
            ));
            None
        }
    };
    let today = super::time::paris_date(now);
    let date = match h.date.as_deref().map(str::trim).unwrap_or("") {
        "" => {
            errs.push(FieldError::new(
                format!("{CHAMP}.date"),
                "La date de l’acte est obligatoire (ex. : 2026-03-28).",
            ));
            None
        }
        d => match chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Err(_) => {
                errs.push(FieldError::new(
                    format!("{CHAMP}.date"),
                    "Date attendue au format AAAA-MM-JJ (ex. : 2026-03-28).",
                ));
                None
            }
            Ok(date) if today.is_some_and(|t| date > t) => {
                errs.push(FieldError::new(
                    format!("{CHAMP}.date"),
                    "La date de l’acte ne peut pas être dans le futur.",
                ));
                None
            }
            Ok(date) if date < chrono::NaiveDate::from_ymd_opt(2001, 1, 1).expect("date") => {
                errs.push(FieldError::new(
                    format!("{CHAMP}.date"),
                    "La date de l’acte ne peut pas être antérieure à 2001.",
                ));
                None
            }
            Ok(date) => Some(date.format("%Y-%m-%d").to_string()),
        },
    };
    let reference = match Name::parse(h.reference.as_deref().unwrap_or(""), 50) {
        Ok(r) => Some(r.into_string()),
        Err(m) => {
            let m = if m == "Ce champ est obligatoire." {
                "La référence de l’acte est obligatoire (ex. : 2026-014).".to_string()
            } else {
                m
            };
            errs.push(FieldError::new(format!("{CHAMP}.reference"), m));
            None
        }
    };
    Some(Habilitation {
        nature: nature?,
        date: date?,
        reference: reference?,
    })
}
