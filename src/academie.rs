//! The académie as its configuration describes it: its name and the départements it serves,
//! each with the IA-DASEN who signs the conventions of that département for the académie, the
//! DSDEN's address and contact. One JSON document (`ACADEMIE_CONFIG`: a path locally, the JSON
//! itself on AWS, given by the template's `AcademieConfig` parameter):
//!
//! ```json
//! {"nom": "Académie de Rennes",
//!  "departements": {"35": {"dasen_nom": "Mme Claire DUPONT", "dasen_titre": "inspectrice…",
//!                          "adresse": "1 quai Dujardin, 35000 Rennes",
//!                          "contact_email": "ent-ecole35@ac-rennes.fr"}}}
//! ```
//!
//! Without it, the flat variables of the first release (`ACADEMIE_NOM`, `DASEN_NOM`,
//! `DASEN_TITRE`, `ACADEMIE_ADRESSE`, `CONTACT_EMAIL`) describe a one-département académie
//! whose code `ACADEMIE_DEPARTEMENT` gives. Either is validated at cold start, each error in
//! French naming the key.

use crate::config::optional;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
pub struct Academie {
    pub nom: String,
    /// By département code ("22", "35", "2A", "974"), in code order; never empty.
    pub departements: BTreeMap<String, Departement>,
}

/// One DSDEN: who signs for the académie there, where, and the address collectivités write to.
#[derive(Clone, Debug, PartialEq)]
pub struct Departement {
    pub code: String,
    pub dasen_nom: String,
    pub dasen_titre: String,
    pub adresse: String,
    pub contact_email: String,
}

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("configuration de l’académie ({source_name}) : {message}")]
pub struct AcademieError {
    /// Where it was read: `ACADEMIE_CONFIG (fichier …)`, `ACADEMIE_CONFIG`, the flat variables.
    pub source_name: String,
    pub message: String,
}

/// The Cognito group of a département's instructeurs: `instructeurs-35`.
pub fn group_of(code: &str) -> String {
    format!("{}-{code}", crate::http::instructeur::auth::GROUP)
}

/// A département code as INSEE writes it: two digits (01–95 but 20), 2A or 2B, or 971–976.
pub fn is_departement_code(v: &str) -> bool {
    match v.len() {
        2 => {
            v == "2A"
                || v == "2B"
                || (v.bytes().all(|b| b.is_ascii_digit()) && v != "00" && v != "20" && v < "96")
        }
        3 => v.starts_with("97") && matches!(v.as_bytes()[2], b'1'..=b'6'),
        _ => false,
    }
}

const KEYS: [&str; 2] = ["nom", "departements"];
const DEPARTEMENT_KEYS: [&str; 4] = ["dasen_nom", "dasen_titre", "adresse", "contact_email"];

impl Academie {
    /// `ACADEMIE_CONFIG` when set (JSON when it begins with `{`, else the path of a JSON file),
    /// else the flat variables.
    pub fn from_env() -> Result<Academie, AcademieError> {
        match document("ACADEMIE_CONFIG")? {
            Some((text, source)) => Academie::parse_json(&text, &source),
            None => Academie::from_flat(
                optional("ACADEMIE_NOM"),
                optional("ACADEMIE_DEPARTEMENT"),
                [
                    optional("DASEN_NOM"),
                    optional("DASEN_TITRE"),
                    optional("ACADEMIE_ADRESSE"),
                    optional("CONTACT_EMAIL"),
                ],
            ),
        }
    }

    /// The first release's variables, for a one-département académie.
    fn from_flat(
        nom: Option<String>,
        code: Option<String>,
        [dasen_nom, dasen_titre, adresse, contact]: [Option<String>; 4],
    ) -> Result<Academie, AcademieError> {
        let err = |message: String| AcademieError {
            source_name: "variables ACADEMIE_NOM, DASEN_NOM…".into(),
            message,
        };
        let need = |v: Option<String>, name: &str| {
            v.map(|v| v.trim().to_string()).ok_or_else(|| {
                err(format!(
                    "{name} est absente ou vide (ou donnez toute la configuration dans ACADEMIE_CONFIG)"
                ))
            })
        };
        let nom = need(nom, "ACADEMIE_NOM")?;
        let code = need(code, "ACADEMIE_DEPARTEMENT").map_err(|_| {
            err(
                "ACADEMIE_DEPARTEMENT est absente : indiquez le code du département de l’IA-DASEN \
                 (par exemple 35), ou passez à ACADEMIE_CONFIG, qui décrit chaque département \
                 de l’académie (voir le README, « Configuration de l’académie »)"
                    .into(),
            )
        })?;
        let mut object = serde_json::Map::new();
        for (key, v, name) in [
            ("dasen_nom", dasen_nom, "DASEN_NOM"),
            ("dasen_titre", dasen_titre, "DASEN_TITRE"),
            ("adresse", adresse, "ACADEMIE_ADRESSE"),
            ("contact_email", contact, "CONTACT_EMAIL"),
        ] {
            object.insert(key.into(), serde_json::Value::String(need(v, name)?));
        }
        let json = serde_json::json!({"nom": nom, "departements": {code: object}});
        Academie::parse_value(&json).map_err(err)
    }

    pub fn parse_json(text: &str, source: &str) -> Result<Academie, AcademieError> {
        parse_document(text, source, Academie::parse_value)
    }

    fn parse_value(value: &serde_json::Value) -> Result<Academie, String> {
        let root = value
            .as_object()
            .ok_or("le document doit être un objet JSON { \"nom\": …, \"departements\": { … } }")?;
        unknown_keys(root, &KEYS, "")?;
        let nom = text(root, "nom", "nom", 120)?;
        let deps = root
            .get("departements")
            .ok_or("la clé departements est absente : un objet dont chaque clé est un code de département (\"35\": { … })")?
            .as_object()
            .ok_or("departements doit être un objet dont chaque clé est un code de département (\"35\": { … })")?;
        if deps.is_empty() {
            return Err("departements est vide : l’académie sert au moins un département".into());
        }
        let mut departements = BTreeMap::new();
        for (code, d) in deps {
            if !is_departement_code(code) {
                return Err(format!(
                    "departements.{code} : « {code} » n’est pas un code de département (35, 2A, 974…)"
                ));
            }
            let d = d.as_object().ok_or_else(|| {
                format!(
                    "departements.{code} doit être un objet ({})",
                    DEPARTEMENT_KEYS.join(", ")
                )
            })?;
            let at = format!("departements.{code}.");
            unknown_keys(d, &DEPARTEMENT_KEYS, &at)?;
            let field = |k: &str, max| text(d, k, &format!("{at}{k}"), max);
            let contact_email = field("contact_email", 254)?;
            if crate::domain::email::Email::parse(&contact_email).is_err() {
                return Err(format!(
                    "{at}contact_email : « {contact_email} » n’est pas une adresse électronique"
                ));
            }
            departements.insert(
                code.clone(),
                Departement {
                    code: code.clone(),
                    dasen_nom: field("dasen_nom", 120)?,
                    dasen_titre: field("dasen_titre", 300)?,
                    adresse: field("adresse", 300)?,
                    contact_email,
                },
            );
        }
        Ok(Academie { nom, departements })
    }

    pub fn departement(&self, code: &str) -> Option<&Departement> {
        self.departements.get(code)
    }

    pub fn serves(&self, code: &str) -> bool {
        self.departements.contains_key(code)
    }

    /// The DSDEN of a dossier of that département; the first département for a dossier whose
    /// département is unknown yet (a draft without SIRET nor school) or no longer served.
    pub fn for_departement(&self, code: Option<&str>) -> &Departement {
        code.and_then(|c| self.departements.get(c))
            .unwrap_or_else(|| self.departements.values().next().expect("never empty"))
    }

    /// « le département 35 », « les départements 22 et 35 », « les départements 22, 29, 35 et 56 ».
    pub fn served_text(&self) -> String {
        let codes: Vec<&str> = self.departements.keys().map(String::as_str).collect();
        match codes.as_slice() {
            [one] => format!("le département {one}"),
            [init @ .., last] => format!("les départements {} et {last}", init.join(", ")),
            [] => String::new(),
        }
    }
}

/// A JSON document given by the variable `name`: the JSON itself when it begins with `{` (how
/// the template passes it), else the path of its file (`make run`); None when unset. Also
/// read for `EDITEURS_CONFIG` (`crate::editeurs`).
pub(crate) fn document(name: &'static str) -> Result<Option<(String, String)>, AcademieError> {
    match optional(name) {
        Some(v) if v.trim_start().starts_with('{') => Ok(Some((v, name.to_string()))),
        Some(path) => {
            let source = format!("{name}, fichier {}", path.trim());
            let text = std::fs::read_to_string(path.trim()).map_err(|e| AcademieError {
                source_name: source.clone(),
                message: format!("le fichier ne se lit pas ({e}) : indiquez le chemin d’un fichier JSON, ou le JSON lui-même"),
            })?;
            Ok(Some((text, source)))
        }
        None => Ok(None),
    }
}

/// A configuration document: JSON, then `parse`; either error said with where it was read.
pub(crate) fn parse_document<T>(
    text: &str,
    source: &str,
    parse: impl FnOnce(&serde_json::Value) -> Result<T, String>,
) -> Result<T, AcademieError> {
    let err = |message: String| AcademieError {
        source_name: source.to_string(),
        message,
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        err(format!(
            "ce n’est pas du JSON valide (ligne {}, colonne {}) : {}",
            e.line(),
            e.column(),
            e
        ))
    })?;
    parse(&value).map_err(err)
}

pub(crate) fn unknown_keys(
    object: &serde_json::Map<String, serde_json::Value>,
    known: &[&str],
    at: &str,
) -> Result<(), String> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "clé inconnue {at}{k} (clés attendues : {})",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

/// A non-empty single line of at most `max` characters, printed on conventions and in emails.
pub(crate) fn text(
    object: &serde_json::Map<String, serde_json::Value>,
    key: &str,
    path: &str,
    max: usize,
) -> Result<String, String> {
    let v = match object.get(key) {
        None => return Err(format!("{path} est absent")),
        Some(serde_json::Value::String(s)) => s.trim(),
        Some(_) => return Err(format!("{path} doit être une chaîne de caractères")),
    };
    if v.is_empty() {
        return Err(format!("{path} est vide"));
    }
    if v.chars().count() > max {
        return Err(format!("{path} est trop long ({max} caractères au plus)"));
    }
    if v.chars().any(char::is_control) {
        return Err(format!(
            "{path} contient un retour à la ligne ou un caractère de contrôle : une seule ligne"
        ));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(code: &str) -> serde_json::Value {
        serde_json::json!({
            "dasen_nom": format!("DASEN {code}"),
            "dasen_titre": "inspecteur d’académie",
            "adresse": format!("1 rue de la DSDEN, {code}000"),
            "contact_email": format!("ent-ecole{code}@ac-rennes.fr"),
        })
    }

    #[test]
    fn two_departements_parse_in_code_order() {
        let text = serde_json::json!({"nom": "Académie de Rennes", "departements": {"35": dep("35"), "22": dep("22")}}).to_string();
        let a = Academie::parse_json(&text, "test").unwrap();
        assert_eq!(a.departements.keys().collect::<Vec<_>>(), ["22", "35"]);
        assert_eq!(a.departement("35").unwrap().dasen_nom, "DASEN 35");
        assert!(a.serves("22") && !a.serves("75"));
        assert_eq!(a.for_departement(Some("35")).code, "35");
        assert_eq!(a.for_departement(Some("75")).code, "22");
        assert_eq!(a.served_text(), "les départements 22 et 35");
    }

    #[test]
    fn each_error_names_its_key() {
        let with = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v =
                serde_json::json!({"nom": "Académie de Rennes", "departements": {"35": dep("35")}});
            f(&mut v);
            Academie::parse_json(&v.to_string(), "ACADEMIE_CONFIG")
                .unwrap_err()
                .to_string()
        };
        for (change, needle) in [
            (
                &(|v: &mut serde_json::Value| v["departements"]["35"]["dasen_nom"] = "".into())
                    as &dyn Fn(&mut serde_json::Value),
                "departements.35.dasen_nom est vide",
            ),
            (
                &|v| {
                    v["departements"]["35"]
                        .as_object_mut()
                        .unwrap()
                        .remove("adresse");
                },
                "departements.35.adresse est absent",
            ),
            (
                &|v| v["departements"]["35"]["contact_email"] = "pas-une-adresse".into(),
                "departements.35.contact_email",
            ),
            (
                &|v| v["departements"]["35"]["dasen_titre"] = 3.into(),
                "departements.35.dasen_titre doit être une chaîne",
            ),
            (
                &|v| v["departements"]["35"]["dasen_nomm"] = "x".into(),
                "clé inconnue departements.35.dasen_nomm",
            ),
            (
                &|v| v["departements"]["99"] = dep("99"),
                "« 99 » n’est pas un code de département",
            ),
            (
                &|v| v["departements"] = serde_json::json!({}),
                "departements est vide",
            ),
            (
                &|v| {
                    v.as_object_mut().unwrap().remove("nom");
                },
                "nom est absent",
            ),
            (
                &|v| v["nom"] = "Académie\nde Rennes".into(),
                "une seule ligne",
            ),
            (&|v| v["academie"] = "x".into(), "clé inconnue academie"),
        ] {
            let e = with(change);
            assert!(
                e.contains(needle) && e.contains("ACADEMIE_CONFIG"),
                "{needle}: {e}"
            );
        }
        let e = Academie::parse_json("{\"nom\": ", "ACADEMIE_CONFIG")
            .unwrap_err()
            .to_string();
        assert!(e.contains("JSON valide") && e.contains("ligne 1"), "{e}");
    }

    #[test]
    fn the_flat_variables_make_one_departement_or_say_what_is_missing() {
        let some = |v: &str| Some(v.to_string());
        let fields = || {
            [
                some("Mme Claire DUPONT"),
                some("inspectrice"),
                some("1 quai Dujardin"),
                some("ent@ac-rennes.fr"),
            ]
        };
        let a = Academie::from_flat(some("Académie de Rennes"), some("35"), fields()).unwrap();
        assert_eq!(
            a.departement("35").unwrap().contact_email,
            "ent@ac-rennes.fr"
        );
        let e = Academie::from_flat(some("Académie de Rennes"), None, fields())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ACADEMIE_DEPARTEMENT") && e.contains("ACADEMIE_CONFIG"),
            "{e}"
        );
        let mut missing = fields();
        missing[0] = None;
        let e = Academie::from_flat(some("Académie de Rennes"), some("35"), missing)
            .unwrap_err()
            .to_string();
        assert!(e.contains("DASEN_NOM est absente"), "{e}");
    }

    #[test]
    fn departement_codes() {
        for ok in ["01", "22", "35", "2A", "2B", "95", "971", "976"] {
            assert!(is_departement_code(ok), "{ok}");
        }
        for bad in ["", "0", "00", "20", "96", "99", "977", "9A", "350", "2C"] {
            assert!(!is_departement_code(bad), "{bad}");
        }
    }
}
