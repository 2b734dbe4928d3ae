//! The ENT editor's answer: per school, whether GAR access is open (`ouverte`, with its date)
//! or refused (`rejetee`, with a reason). The body of `POST /api/editeur/ecoles` is parsed
//! here, every error at once, each naming its item (`ecoles[3].uai`); the step that records
//! it is `steps::record_editor_answer`.

use super::draft::FieldError;
use super::text::{LongText, LongTextError};
use super::uai::Uai;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

/// Most schools one answer may carry (an answer is bounded; an editor sends more in several).
pub const MAX_ANSWER_SCHOOLS: usize = 1000;
/// Longest reason of a refusal.
pub const MAX_MOTIF: usize = 500;
/// Most field errors listed in one 422 (the rest are said to exist).
pub const MAX_LISTED_ERRORS: usize = 100;

/// What the editor says of a school's GAR access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EtatGar {
    /// The school's GAR access is open (pupils reach the MédiaCentre).
    Ouverte,
    /// The editor refused to open it (with a reason).
    Rejetee,
}

impl EtatGar {
    pub fn as_str(self) -> &'static str {
        match self {
            EtatGar::Ouverte => "ouverte",
            EtatGar::Rejetee => "rejetee",
        }
    }
}

/// A school's GAR access as the editor last reported it (`gar` of each school of the views).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccesGar {
    pub etat: EtatGar,
    /// The day the editor gives ("YYYY-MM-DD"): opened on, or refused on.
    pub le: String,
    /// Why it was refused (required for `rejetee`, kept for `ouverte` when given).
    #[serde(default)]
    pub motif: Option<String>,
}

/// One school of an answer, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReponseEcole {
    /// Index in the body's `ecoles` (to name the item in an error).
    pub index: usize,
    pub uai: Uai,
    pub acces: AccesGar,
}

/// The answer's body `{"ecoles": [{"uai", "etat", "le", "motif"}]}`: every item checked, every
/// error returned at once (at most [`MAX_LISTED_ERRORS`] listed). `today` bounds `le` (an
/// editor in another time zone may be a day ahead: tomorrow is accepted).
pub fn parse_answer(body: &Value, today: NaiveDate) -> Result<Vec<ReponseEcole>, Vec<FieldError>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            "Le corps doit être un objet JSON {\"ecoles\": [...]}.",
        )]);
    };
    let items = match obj.get("ecoles") {
        Some(Value::Array(a)) => a,
        _ => {
            return Err(vec![FieldError::new(
                "ecoles",
                "La liste des écoles est obligatoire : [{\"uai\", \"etat\", \"le\", \"motif\"}].",
            )])
        }
    };
    if items.is_empty() {
        return Err(vec![FieldError::new(
            "ecoles",
            "La liste des écoles est vide : indiquez au moins une école.",
        )]);
    }
    if items.len() > MAX_ANSWER_SCHOOLS {
        return Err(vec![FieldError::new(
            "ecoles",
            format!(
                "Trop d’écoles dans une réponse ({} ; {MAX_ANSWER_SCHOOLS} au plus) : envoyez-les en plusieurs fois.",
                items.len()
            ),
        )]);
    }
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(items.len());
    let mut seen: HashSet<Uai> = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let champ = |f: &str| format!("ecoles[{i}].{f}");
        let Some(o) = item.as_object() else {
            errors.push(FieldError::new(
                format!("ecoles[{i}]"),
                "Chaque école est un objet {\"uai\", \"etat\", \"le\", \"motif\"}.",
            ));
            continue;
        };
        let before = errors.len();
        let uai = match o.get("uai") {
            Some(Value::String(s)) => match Uai::parse(s) {
                Ok(u) if !seen.insert(u.clone()) => {
                    errors.push(FieldError::new(
                        champ("uai"),
                        "Cette école figure deux fois dans la réponse.",
                    ));
                    None
                }
                Ok(u) => Some(u),
                Err(e) => {
                    errors.push(FieldError::new(champ("uai"), e.message()));
                    None
                }
            },
            _ => {
                errors.push(FieldError::new(
                    champ("uai"),
                    "Le code UAI de l’école est obligatoire (ex. : 0350122T).",
                ));
                None
            }
        };
        let etat = match o.get("etat").and_then(Value::as_str) {
            Some("ouverte") => Some(EtatGar::Ouverte),
            Some("rejetee") => Some(EtatGar::Rejetee),
            _ => {
                errors.push(FieldError::new(
                    champ("etat"),
                    "L’état vaut « ouverte » (accès GAR ouvert) ou « rejetee » (refusé, avec un motif).",
                ));
                None
            }
        };
        let le = match o.get("le").and_then(Value::as_str) {
            Some(s) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d)
                    if s.len() == 10
                        && d >= earliest()
                        && d <= today.succ_opt().unwrap_or(today) =>
                {
                    Some(s.to_string())
                }
                Ok(_) if s.len() == 10 => {
                    errors.push(FieldError::new(
                        champ("le"),
                        "Cette date n’est pas plausible : ni dans le futur, ni avant 2001.",
                    ));
                    None
                }
                _ => {
                    errors.push(FieldError::new(
                        champ("le"),
                        "Date attendue au format AAAA-MM-JJ (ex. : 2026-12-01).",
                    ));
                    None
                }
            },
            _ => {
                errors.push(FieldError::new(
                    champ("le"),
                    "La date est obligatoire, au format AAAA-MM-JJ (ex. : 2026-12-01).",
                ));
                None
            }
        };
        let before_motif = errors.len();
        let motif = match o.get("motif") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match LongText::parse(s) {
                Ok(t) if t.as_str().chars().count() <= MAX_MOTIF => Some(t.into_string()),
                Ok(_) | Err(LongTextError::TooLong) => {
                    errors.push(FieldError::new(
                        champ("motif"),
                        format!("Le motif est trop long ({MAX_MOTIF} caractères au plus)."),
                    ));
                    None
                }
                Err(LongTextError::Empty) => None,
                Err(LongTextError::Control) => {
                    errors.push(FieldError::new(
                        champ("motif"),
                        "Le motif contient des caractères de contrôle.",
                    ));
                    None
                }
            },
            Some(_) => {
                errors.push(FieldError::new(champ("motif"), "Le motif est un texte."));
                None
            }
        };
        if etat == Some(EtatGar::Rejetee) && motif.is_none() && errors.len() == before_motif {
            errors.push(FieldError::new(
                champ("motif"),
                "Un refus dit pourquoi : le motif est obligatoire pour « rejetee ».",
            ));
        }
        if errors.len() > before {
            continue;
        }
        if let (Some(uai), Some(etat), Some(le)) = (uai, etat, le) {
            out.push(ReponseEcole {
                index: i,
                uai,
                acces: AccesGar { etat, le, motif },
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(capped(errors))
    }
}

/// At most [`MAX_LISTED_ERRORS`] errors, the last one saying how many more there were.
pub fn capped(mut errors: Vec<FieldError>) -> Vec<FieldError> {
    if errors.len() > MAX_LISTED_ERRORS {
        let more = errors.len() - MAX_LISTED_ERRORS;
        errors.truncate(MAX_LISTED_ERRORS);
        errors.push(FieldError::new(
            "ecoles",
            format!("… et {more} autres erreurs (corrigez d’abord celles-ci)."),
        ));
    }
    errors
}

fn earliest() -> NaiveDate {
    NaiveDate::from_ymd_opt(2001, 1, 1).expect("valid date")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
    }

    #[test]
    fn a_valid_answer_parses() {
        let got = parse_answer(
            &json!({"ecoles": [
                {"uai": "0350122t", "etat": "ouverte", "le": "2026-12-01"},
                {"uai": "0350165P", "etat": "rejetee", "le": "2026-12-02", "motif": "École inconnue de l’AAF"},
            ]}),
            today(),
        )
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].uai.as_str(), "0350122T");
        assert_eq!(got[0].acces.etat, EtatGar::Ouverte);
        assert_eq!(
            got[1].acces.motif.as_deref(),
            Some("École inconnue de l’AAF")
        );
        assert_eq!(got[1].index, 1);
    }

    #[test]
    fn every_error_names_its_item_and_field() {
        let errs = parse_answer(
            &json!({"ecoles": [
                {"uai": "0350122X", "etat": "ouverte", "le": "2026-12-01"},
                {"uai": "0350122T", "etat": "ouvert", "le": "01/12/2026"},
                {"uai": "0350165P", "etat": "rejetee", "le": "2027-01-01"},
                {"uai": "0350165P", "etat": "ouverte", "le": "2026-12-01"},
                "x",
                {"uai": "0350122T", "etat": "rejetee", "le": "2026-12-01", "motif": "a\u{0007}"},
            ]}),
            today(),
        )
        .unwrap_err();
        let champs: Vec<&str> = errs.iter().map(|e| e.champ.as_str()).collect();
        assert_eq!(
            champs,
            [
                "ecoles[0].uai",
                "ecoles[1].etat",
                "ecoles[1].le",
                "ecoles[2].le",
                "ecoles[2].motif",
                "ecoles[3].uai",
                "ecoles[4]",
                "ecoles[5].uai",
                "ecoles[5].motif",
            ]
        );
        assert!(errs.iter().all(|e| !e.message.is_empty()));
    }

    #[test]
    fn an_answer_is_bounded() {
        for body in [
            json!({}),
            json!([]),
            json!({"ecoles": []}),
            json!({"ecoles": "0350122T"}),
        ] {
            assert!(parse_answer(&body, today()).is_err(), "{body}");
        }
        let many: Vec<Value> = (0..=MAX_ANSWER_SCHOOLS)
            .map(|_| json!({"uai": "0350122T", "etat": "ouverte", "le": "2026-12-01"}))
            .collect();
        let errs = parse_answer(&json!({ "ecoles": many }), today()).unwrap_err();
        assert_eq!((errs.len(), errs[0].champ.as_str()), (1, "ecoles"));
        let bad: Vec<Value> = (0..500).map(|_| json!({"uai": 1})).collect();
        let errs = parse_answer(&json!({ "ecoles": bad }), today()).unwrap_err();
        assert_eq!(
            errs.len(),
            MAX_LISTED_ERRORS + 1,
            "capped, then how many more"
        );
    }
}
