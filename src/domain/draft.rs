//! The dossier as the applicant fills it: every field optional, stored as typed. Parsing a JSON
//! body into a [`Draft`] checks shapes (unknown fields, types, sizes) with French messages;
//! checking values is the deposit's job (see `deposit.rs`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One field error, as sent on the wire (`errors: [{"champ", "message"}]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub champ: String,
    pub message: String,
}

impl FieldError {
    pub fn new(champ: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            champ: champ.into(),
            message: message.into(),
        }
    }
}

/// Longest text accepted in a draft field; the deposit applies tighter, per-field limits.
pub const MAX_TEXT: usize = 500;
/// Most schools one dossier can list (the largest groupements run a few hundred).
pub const MAX_ECOLES: usize = 1000;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collectivite: Option<DraftCollectivite>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signataire: Option<DraftSignataire>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecoles: Option<Vec<DraftEcole>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referent: Option<DraftReferent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approbation: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftCollectivite {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siret: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftSignataire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prenom: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nom: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub habilitation: Option<DraftHabilitation>,
}

/// The act that authorises the signatory: a délibération of the council, or a délégation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftHabilitation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftEcole {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uai: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftReferent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub designe: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prenom_nom: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Draft {
    /// Parses a request body. Every problem is collected, so the applicant sees them all at once.
    pub fn from_json(value: &Value) -> Result<Draft, Vec<FieldError>> {
        let mut errs = Vec::new();
        let Some(root) = object(value, "", &mut errs) else {
            return Err(errs);
        };
        known_fields(
            root,
            "",
            &[
                "collectivite",
                "signataire",
                "ecoles",
                "referent",
                "approbation",
            ],
            &mut errs,
        );
        let mut d = Draft::default();
        if let Some(c) = section(root, "collectivite", &mut errs) {
            known_fields(c, "collectivite", &["siret"], &mut errs);
            d.collectivite = Some(DraftCollectivite {
                siret: text(c, "collectivite", "siret", &mut errs),
            });
        }
        if let Some(s) = section(root, "signataire", &mut errs) {
            known_fields(
                s,
                "signataire",
                &["prenom", "nom", "qualite", "email", "habilitation"],
                &mut errs,
            );
            let habilitation = section(s, "habilitation", &mut errs).map(|h| {
                let path = "signataire.habilitation";
                known_fields(h, path, &["nature", "date", "reference"], &mut errs);
                DraftHabilitation {
                    nature: text(h, path, "nature", &mut errs),
                    date: text(h, path, "date", &mut errs),
                    reference: text(h, path, "reference", &mut errs),
                }
            });
            d.signataire = Some(DraftSignataire {
                prenom: text(s, "signataire", "prenom", &mut errs),
                nom: text(s, "signataire", "nom", &mut errs),
                qualite: text(s, "signataire", "qualite", &mut errs),
                email: text(s, "signataire", "email", &mut errs),
                habilitation,
            });
        }
        match root.get("ecoles") {
            None => {}
            Some(Value::Null) => d.ecoles = Some(Vec::new()),
            Some(Value::Array(items)) if items.len() > MAX_ECOLES => errs.push(FieldError::new(
                "ecoles",
                format!("Un dossier peut lister au plus {MAX_ECOLES} écoles."),
            )),
            Some(Value::Array(items)) => {
                let mut ecoles = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let path = format!("ecoles[{i}]");
                    // A bare string is accepted as the UAI, for hand-written calls.
                    if let Value::String(u) = item {
                        ecoles.push(DraftEcole {
                            uai: Some(bounded(u, &format!("{path}.uai"), &mut errs)),
                        });
                        continue;
                    }
                    if let Some(o) = object(item, &path, &mut errs) {
                        known_fields(o, &path, &["uai"], &mut errs);
                        ecoles.push(DraftEcole {
                            uai: text(o, &path, "uai", &mut errs),
                        });
                    }
                }
                d.ecoles = Some(ecoles);
            }
            Some(_) => errs.push(FieldError::new(
                "ecoles",
                "Ce champ doit être une liste d’écoles.",
            )),
        }
        if let Some(r) = section(root, "referent", &mut errs) {
            known_fields(
                r,
                "referent",
                &["designe", "prenom_nom", "email"],
                &mut errs,
            );
            d.referent = Some(DraftReferent {
                designe: boolean(r, "referent", "designe", &mut errs),
                prenom_nom: text(r, "referent", "prenom_nom", &mut errs),
                email: text(r, "referent", "email", &mut errs),
            });
        }
        d.approbation = boolean(root, "", "approbation", &mut errs);
        if errs.is_empty() {
            Ok(d)
        } else {
            Err(errs)
        }
    }

    /// The signatory's address as a confirmation is kept for it, when the draft holds a valid
    /// one: a confirmation or a pending code is for this address only.
    pub fn signataire_address(&self) -> Option<String> {
        super::signataire::normalised(self.signataire.as_ref().and_then(|s| s.email.as_deref()))
    }

    /// Autosave semantics: a section sent replaces, field by field, what was saved; a section
    /// not sent is kept; the school list is replaced as a whole.
    pub fn merge(&mut self, patch: Draft) {
        fn pick(old: &mut Option<String>, new: Option<String>) {
            if new.is_some() {
                *old = new;
            }
        }
        if let Some(c) = patch.collectivite {
            let cur = self.collectivite.get_or_insert_with(Default::default);
            pick(&mut cur.siret, c.siret);
        }
        if let Some(s) = patch.signataire {
            let cur = self.signataire.get_or_insert_with(Default::default);
            pick(&mut cur.prenom, s.prenom);
            pick(&mut cur.nom, s.nom);
            pick(&mut cur.qualite, s.qualite);
            pick(&mut cur.email, s.email);
            if let Some(h) = s.habilitation {
                let cur = cur.habilitation.get_or_insert_with(Default::default);
                pick(&mut cur.nature, h.nature);
                pick(&mut cur.date, h.date);
                pick(&mut cur.reference, h.reference);
            }
        }
        if patch.ecoles.is_some() {
            self.ecoles = patch.ecoles;
        }
        if let Some(r) = patch.referent {
            let cur = self.referent.get_or_insert_with(Default::default);
            if r.designe.is_some() {
                cur.designe = r.designe;
            }
            pick(&mut cur.prenom_nom, r.prenom_nom);
            pick(&mut cur.email, r.email);
        }
        if patch.approbation.is_some() {
            self.approbation = patch.approbation;
        }
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn object<'a>(
    v: &'a Value,
    path: &str,
    errs: &mut Vec<FieldError>,
) -> Option<&'a Map<String, Value>> {
    match v {
        Value::Object(o) => Some(o),
        _ => {
            let champ = if path.is_empty() { "$" } else { path };
            errs.push(FieldError::new(champ, "Un objet JSON est attendu ici."));
            None
        }
    }
}

/// `None` when absent or null (null clears nothing: it reads as "not sent").
fn section<'a>(
    root: &'a Map<String, Value>,
    key: &str,
    errs: &mut Vec<FieldError>,
) -> Option<&'a Map<String, Value>> {
    match root.get(key) {
        None | Some(Value::Null) => None,
        Some(v) => object(v, key, errs),
    }
}

fn known_fields(o: &Map<String, Value>, path: &str, allowed: &[&str], errs: &mut Vec<FieldError>) {
    for k in o.keys().filter(|k| !allowed.contains(&k.as_str())) {
        let shown: String = k.chars().take(60).collect();
        errs.push(FieldError::new(
            join(path, &shown),
            format!(
                "Champ inconnu « {shown} » : les champs acceptés ici sont {}.",
                allowed.join(", ")
            ),
        ));
    }
}

/// A text field: absent → None; null → Some("") (the applicant cleared it).
fn text(
    o: &Map<String, Value>,
    path: &str,
    key: &str,
    errs: &mut Vec<FieldError>,
) -> Option<String> {
    let champ = join(path, key);
    match o.get(key) {
        None => None,
        Some(Value::Null) => Some(String::new()),
        Some(Value::String(s)) => Some(bounded(s, &champ, errs)),
        Some(_) => {
            errs.push(FieldError::new(champ, "Ce champ doit être un texte."));
            None
        }
    }
}

fn bounded(s: &str, champ: &str, errs: &mut Vec<FieldError>) -> String {
    if s.chars().count() > MAX_TEXT {
        errs.push(FieldError::new(
            champ,
            format!("Ce champ est trop long ({MAX_TEXT} caractères au plus)."),
        ));
        String::new()
    } else {
        s.to_string()
    }
}

fn boolean(
    o: &Map<String, Value>,
    path: &str,
    key: &str,
    errs: &mut Vec<FieldError>,
) -> Option<bool> {
    match o.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errs.push(FieldError::new(
                join(path, key),
                "Ce champ doit valoir true ou false.",
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_api_example() {
        let d = Draft::from_json(&json!({
            "collectivite": { "siret": "21350016800025" },
            "signataire": { "prenom": "Camille", "nom": "Martin", "qualite": "Maire", "email": "mairie@exemple.fr" },
            "ecoles": [ { "uai": "0350122T" } ],
            "referent": { "designe": true, "prenom_nom": "Jean GARCIA", "email": "jean.garcia@exemple.fr" },
            "approbation": true
        }))
        .unwrap();
        assert_eq!(d.ecoles.unwrap()[0].uai.as_deref(), Some("0350122T"));
        assert_eq!(d.approbation, Some(true));
    }

    #[test]
    fn names_every_unknown_field_and_wrong_type() {
        let errs = Draft::from_json(&json!({
            "pirate": 1,
            "signataire": { "nom": 3, "age": 2 },
            "approbation": "oui"
        }))
        .unwrap_err();
        let champs: Vec<&str> = errs.iter().map(|e| e.champ.as_str()).collect();
        assert_eq!(
            champs,
            ["pirate", "signataire.age", "signataire.nom", "approbation"]
        );
        assert!(errs[0].message.contains("Champ inconnu"));
    }

    #[test]
    fn merge_keeps_what_was_not_sent() {
        let mut d =
            Draft::from_json(&json!({"signataire": {"prenom": "Camille", "nom": "Martin"}}))
                .unwrap();
        d.merge(
            Draft::from_json(&json!({"signataire": {"nom": "Durand"}, "approbation": false}))
                .unwrap(),
        );
        let s = d.signataire.unwrap();
        assert_eq!(s.prenom.as_deref(), Some("Camille"));
        assert_eq!(s.nom.as_deref(), Some("Durand"));
        assert_eq!(d.approbation, Some(false));
    }
}
