//! The ENT editors the académie hands its schools over to, one per territory. Each has its own
//! webhook (address and `whsec_…` secret) and its own answer secret, and is given the
//! dossiers of the collectivités it lists (by SIREN) or, failing that, of the départements it
//! lists. One JSON document, `EDITEURS_CONFIG` (locally the JSON or the path of its file; on
//! AWS the template's NoEcho `EditeursConfig` parameter, stored as a secret and read at cold
//! start through `EDITEURS_CONFIG_ID`, `crate::secrets`):
//!
//! ```json
//! {"ent-armor": {"nom": "ENT Armor", "departements": ["22"],
//!                "webhook_url": "https://ent-armor.example/gar", "webhook_secret": "whsec_…",
//!                "answer_secret": "whsec_…"},
//!  "ent-rennes": {"nom": "ENT Rennes Métropole", "collectivites": ["213502388"], …}}
//! ```
//!
//! The first release's single-editor settings (`WEBHOOK_URL`, `WEBHOOK_SECRET`,
//! `EDITOR_ANSWER_SECRET`) keep working: they make the editor `defaut`, given every dossier no
//! configured editor takes. The rule is [`Editeurs::route`]; validated at cold start, every
//! error in French naming the key.

use crate::academie::{document, parse_document, text, unknown_keys, Academie, AcademieError};
use crate::config::AnswerSecret;
use std::collections::{BTreeMap, BTreeSet};

/// The id of the editor of the single-editor settings.
pub const DEFAUT: &str = "defaut";

/// One ENT editor.
#[derive(Clone, Debug, PartialEq)]
pub struct Editeur {
    /// Its key in the configuration (`ent-armor`), or [`DEFAUT`]; recorded on each delivery.
    pub id: String,
    /// As the instructeur pages show it.
    pub nom: String,
    /// Where its webhook goes; None: its schools are handed over by export only.
    pub webhook_url: Option<String>,
    /// The webhook's `whsec_…` secret (its Standard Webhooks key).
    pub webhook_secret: String,
    /// During a rotation, the secret being replaced: each call then carries both signatures.
    pub webhook_secret_precedent: Option<String>,
    /// The key its answers (`POST /api/editeur/ecoles`) are signed with; None: it does not answer.
    pub answer_secret: Option<AnswerSecret>,
    /// During a rotation, the answer key being replaced, still accepted.
    pub answer_secret_precedent: Option<AnswerSecret>,
    /// The départements whose dossiers it takes (codes the académie serves).
    pub departements: BTreeSet<String>,
    /// The collectivités (SIREN) whose dossiers it takes, whatever their département.
    pub collectivites: BTreeSet<String>,
}

/// The configured editors, by id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Editeurs {
    pub list: BTreeMap<String, Editeur>,
}

const KEYS: [&str; 8] = [
    "nom",
    "webhook_url",
    "webhook_secret",
    "webhook_secret_precedent",
    "answer_secret",
    "answer_secret_precedent",
    "departements",
    "collectivites",
];

impl Editeurs {
    /// `EDITEURS_CONFIG` when set; none configured otherwise.
    pub fn from_env(academie: &Academie) -> Result<Editeurs, AcademieError> {
        match document("EDITEURS_CONFIG")? {
            Some((text, source)) => Editeurs::parse_json(&text, &source, academie),
            None => Ok(Editeurs::default()),
        }
    }

    pub fn parse_json(
        text: &str,
        source: &str,
        academie: &Academie,
    ) -> Result<Editeurs, AcademieError> {
        parse_document(text, source, |v| Editeurs::parse_value(v, academie))
    }

    fn parse_value(value: &serde_json::Value, academie: &Academie) -> Result<Editeurs, String> {
        let root = value.as_object().ok_or(
            "le document doit être un objet JSON dont chaque clé est l’identifiant d’un éditeur (\"ent-armor\": { … })",
        )?;
        let mut list = BTreeMap::new();
        // Who already takes each département and each collectivité: one editor each.
        let mut taken: BTreeMap<String, String> = BTreeMap::new();
        for (id, e) in root {
            let id_ok = (1..=40).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !id_ok || id == DEFAUT {
                return Err(format!(
                    "« {id} » n’est pas un identifiant d’éditeur (minuscules, chiffres et tirets, 40 au plus ; « {DEFAUT} » est réservé aux variables WEBHOOK_URL…)"
                ));
            }
            let e = e
                .as_object()
                .ok_or_else(|| format!("{id} doit être un objet ({})", KEYS.join(", ")))?;
            let at = format!("{id}.");
            unknown_keys(e, &KEYS, &at)?;
            let nom = text(e, "nom", &format!("{at}nom"), 120)?;
            let optional_text = |k: &str, max| match e.get(k) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(_) => text(e, k, &format!("{at}{k}"), max).map(Some),
            };
            let webhook_url = optional_text("webhook_url", 2000)?;
            if let Some(u) = &webhook_url {
                if !(u.starts_with("https://") || u.starts_with("http://")) {
                    return Err(format!("{at}webhook_url n’est pas une adresse http(s)://"));
                }
            }
            let secret = |k: &str| -> Result<Option<(String, AnswerSecret)>, String> {
                optional_text(k, 200)?
                    .map(|s| {
                        AnswerSecret::from_whsec(&s)
                            .map(|key| (s, key))
                            .map_err(|why| format!("{at}{k} : {why}"))
                    })
                    .transpose()
            };
            let webhook_secret = secret("webhook_secret")?.map(|(s, _)| s);
            if webhook_url.is_some() && webhook_secret.is_none() {
                return Err(format!(
                    "{at}webhook_secret est absent : un webhook se signe (whsec_…, Standard Webhooks)"
                ));
            }
            let answer_secret = secret("answer_secret")?.map(|(_, key)| key);
            // A rotation agreed with the editor: the new secret above, the one it replaces here.
            let webhook_secret_precedent = secret("webhook_secret_precedent")?.map(|(s, _)| s);
            let answer_secret_precedent = secret("answer_secret_precedent")?.map(|(_, key)| key);
            let codes = |k: &str| -> Result<Vec<String>, String> {
                match e.get(k) {
                    None => Ok(Vec::new()),
                    Some(serde_json::Value::Array(a)) => a
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(str::trim)
                                .map(str::to_string)
                                .ok_or_else(|| {
                                    format!("{at}{k} est une liste de chaînes de caractères")
                                })
                        })
                        .collect(),
                    Some(_) => Err(format!("{at}{k} est une liste ([\"…\", …])")),
                }
            };
            let mut departements = BTreeSet::new();
            for code in codes("departements")? {
                if !academie.serves(&code) {
                    return Err(format!(
                        "{at}departements : l’académie ne sert pas le département « {code} » (elle sert {})",
                        academie.served_text()
                    ));
                }
                if let Some(other) = taken.insert(format!("d{code}"), id.clone()) {
                    return Err(if other == *id {
                        format!("{at}departements : le département {code} est indiqué deux fois")
                    } else {
                        format!(
                            "{at}departements : le département {code} est déjà confié à l’éditeur {other} (un seul éditeur par département)"
                        )
                    });
                }
                departements.insert(code);
            }
            let mut collectivites = BTreeSet::new();
            for siren in codes("collectivites")? {
                if siren.len() != 9 || !siren.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "{at}collectivites : « {siren} » n’est pas un SIREN (9 chiffres, les premiers du SIRET)"
                    ));
                }
                if let Some(other) = taken.insert(format!("c{siren}"), id.clone()) {
                    return Err(if other == *id {
                        format!(
                            "{at}collectivites : la collectivité {siren} est indiquée deux fois"
                        )
                    } else {
                        format!(
                            "{at}collectivites : la collectivité {siren} est déjà confiée à l’éditeur {other}"
                        )
                    });
                }
                collectivites.insert(siren);
            }
            if departements.is_empty() && collectivites.is_empty() {
                return Err(format!(
                    "{id} : indiquez ses departements ou ses collectivites (SIREN), sans quoi aucun dossier ne lui revient"
                ));
            }
            list.insert(
                id.clone(),
                Editeur {
                    id: id.clone(),
                    nom,
                    webhook_url,
                    webhook_secret: webhook_secret.unwrap_or_default(),
                    webhook_secret_precedent,
                    answer_secret,
                    answer_secret_precedent,
                    departements,
                    collectivites,
                },
            );
        }
        Ok(Editeurs { list })
    }

    /// The editor of a collectivité (`siren`) of `departement`: the one listing the
    /// collectivité, else the one listing its département, else `defaut` (the single-editor
    /// settings, when they exist).
    pub fn route<'a>(
        &'a self,
        siren: Option<&str>,
        departement: Option<&str>,
        defaut: Option<&'a Editeur>,
    ) -> Option<&'a Editeur> {
        let values = || self.list.values();
        siren
            .and_then(|s| values().find(|e| e.collectivites.contains(s)))
            .or_else(|| departement.and_then(|d| values().find(|e| e.departements.contains(d))))
            .or(defaut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn academie() -> Academie {
        let dep = |c: &str| {
            json!({"dasen_nom": "X", "dasen_titre": "Y", "adresse": "Z",
                   "contact_email": format!("ent{c}@ac-rennes.fr")})
        };
        Academie::parse_json(
            &json!({"nom": "Académie de Rennes", "departements": {"22": dep("22"), "35": dep("35")}})
                .to_string(),
            "test",
        )
        .unwrap()
    }

    fn parse(v: serde_json::Value) -> Result<Editeurs, String> {
        Editeurs::parse_json(&v.to_string(), "EDITEURS_CONFIG", &academie())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_collectivite_goes_before_its_departement_and_the_default_takes_the_rest() {
        let e = parse(json!({
            "ent-armor": {"nom": "ENT Armor", "departements": ["22"], "webhook_url": "https://a.example/",
                          "webhook_secret": SECRET, "answer_secret": SECRET},
            "ent-rennes": {"nom": "ENT Rennes", "collectivites": ["213502388"]},
        }))
        .unwrap();
        let defaut = Editeur {
            id: DEFAUT.into(),
            nom: "éditeur".into(),
            webhook_url: None,
            webhook_secret: String::new(),
            webhook_secret_precedent: None,
            answer_secret: None,
            answer_secret_precedent: None,
            departements: BTreeSet::new(),
            collectivites: BTreeSet::new(),
        };
        let id = |s: Option<&str>, d: Option<&str>, def| e.route(s, d, def).map(|x| x.id.as_str());
        assert_eq!(id(Some("212202782"), Some("22"), None), Some("ent-armor"));
        assert_eq!(id(Some("213502388"), Some("35"), None), Some("ent-rennes"));
        assert_eq!(id(Some("213502388"), Some("22"), None), Some("ent-rennes"));
        assert_eq!(id(Some("213500001"), Some("35"), None), None);
        assert_eq!(
            id(Some("213500001"), Some("35"), Some(&defaut)),
            Some(DEFAUT)
        );
        let armor = &e.list["ent-armor"];
        assert!(armor.answer_secret.is_some() && e.list["ent-rennes"].answer_secret.is_none());
    }

    #[test]
    fn the_local_example_parses() {
        let academie = Academie::parse_json(
            include_str!("../data/exemples/academie-22-35.json"),
            "exemple",
        )
        .unwrap();
        let e = Editeurs::parse_json(
            include_str!("../data/exemples/editeurs-22-35.json"),
            "exemple",
            &academie,
        )
        .unwrap();
        assert_eq!(e.route(None, Some("22"), None).unwrap().id, "ent-armor");
        assert_eq!(e.route(None, Some("35"), None).unwrap().id, "ent-35");
    }

    #[test]
    fn each_error_names_its_key() {
        let cases = [
            (
                json!({"Armor": {"nom": "A", "departements": ["22"]}}),
                "« Armor »",
            ),
            (
                json!({"defaut": {"nom": "A", "departements": ["22"]}}),
                "réservé",
            ),
            (
                json!({"a": {"nom": "A", "departements": ["29"]}}),
                "a.departements",
            ),
            (
                json!({"a": {"nom": "A", "departements": ["22"]}, "b": {"nom": "B", "departements": ["22"]}}),
                "déjà confié à l’éditeur a",
            ),
            (
                json!({"a": {"nom": "A", "collectivites": ["21220278200018"]}}),
                "n’est pas un SIREN",
            ),
            (json!({"a": {"nom": "A"}}), "indiquez ses departements"),
            (
                json!({"a": {"nom": "A", "departements": ["22"], "webhook_url": "https://x/"}}),
                "a.webhook_secret est absent",
            ),
            (
                json!({"a": {"nom": "A", "departements": ["22"], "webhook_url": "ftp://x/", "webhook_secret": SECRET}}),
                "a.webhook_url",
            ),
            (
                json!({"a": {"nom": "A", "departements": ["22"], "answer_secret": "secret"}}),
                "a.answer_secret : il doit commencer par whsec_",
            ),
            (
                json!({"a": {"nom": "A", "departements": ["22"], "url": "https://x/"}}),
                "clé inconnue a.url",
            ),
            (json!({"a": {"departements": ["22"]}}), "a.nom est absent"),
        ];
        for (v, needle) in cases {
            let e = parse(v.clone()).unwrap_err();
            assert!(
                e.contains(needle) && e.contains("EDITEURS_CONFIG"),
                "{v}: {e}"
            );
            assert!(!e.contains(SECRET), "a secret is never printed: {e}");
        }
    }
}
