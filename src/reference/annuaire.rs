//! Importer for the "Annuaire de l'éducation" (`fr-en-annuaire-education`): CSV export (`;`,
//! UTF-8 with or without BOM, or Latin-1) or JSON export (array of records with lowercase
//! field names). Columns are matched by name, case-insensitively, so older and current column
//! sets load alike.

use crate::domain::school::Ecole;
use crate::domain::uai::Uai;
use std::collections::BTreeMap;

/// What an import kept and skipped, by reason.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub ecoles: usize,
    pub fermees: usize,
    pub ignores: BTreeMap<String, usize>,
    /// Rows refused for an invalid UAI: (line number, value).
    pub uai_invalides: Vec<(usize, String)>,
}

impl Report {
    pub fn summary(&self) -> String {
        let skipped: Vec<String> = self
            .ignores
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(
            "écoles chargées={} (dont fermées={}) ; ignorées : {} ; UAI invalides={}",
            self.ecoles,
            self.fermees,
            if skipped.is_empty() {
                "aucune".into()
            } else {
                skipped.join(", ")
            },
            self.uai_invalides.len()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("colonne obligatoire absente : {0}")]
    MissingColumn(&'static str),
    #[error("fichier CSV illisible : {0}")]
    Csv(#[from] csv::Error),
    #[error("fichier JSON illisible (un tableau d’enregistrements est attendu) : {0}")]
    Json(#[from] serde_json::Error),
}

/// UTF-8 (with or without BOM) or, when the bytes are not valid UTF-8, Latin-1.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

struct Columns {
    uai: usize,
    nom: usize,
    type_etab: usize,
    statut: usize,
    code_commune: usize,
    commune: usize,
    code_postal: Option<usize>,
    nature: Option<usize>,
    siren_siret: Option<usize>,
    etat: Option<usize>,
}

fn find(headers: &[String], names: &[&str]) -> Option<usize> {
    headers
        .iter()
        .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
}

impl Columns {
    fn from_headers(h: &[String]) -> Result<Self, ImportError> {
        let req = |names: &[&str], label: &'static str| {
            find(h, names).ok_or(ImportError::MissingColumn(label))
        };
        Ok(Columns {
            uai: req(
                &["identifiant_de_l_etablissement"],
                "Identifiant_de_l_etablissement",
            )?,
            nom: req(&["nom_etablissement"], "Nom_etablissement")?,
            type_etab: req(&["type_etablissement"], "Type_etablissement")?,
            statut: req(&["statut_public_prive"], "Statut_public_prive")?,
            code_commune: req(&["code_commune"], "Code_commune")?,
            commune: req(&["nom_commune"], "Nom_commune")?,
            code_postal: find(h, &["code postal", "code_postal"]),
            nature: find(h, &["libelle_nature"]),
            siren_siret: find(h, &["siren_siret"]),
            etat: find(h, &["etat"]),
        })
    }
}

/// Parses an export, CSV or JSON (detected from the content), into the first-degree schools it
/// holds, open or closed.
pub fn import(bytes: &[u8]) -> Result<(Vec<Ecole>, Report), ImportError> {
    let text = decode(bytes);
    if text.trim_start().starts_with('[') {
        import_json(&text)
    } else {
        import_csv_text(&text)
    }
}

/// CSV export (`;` separator).
pub fn import_csv(bytes: &[u8]) -> Result<(Vec<Ecole>, Report), ImportError> {
    import_csv_text(&decode(bytes))
}

fn import_csv_text(text: &str) -> Result<(Vec<Ecole>, Report), ImportError> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(b';')
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr.headers()?.iter().map(str::to_string).collect();
    let rows = rdr.records().map(|r| {
        r.map(|rec| rec.iter().map(str::to_string).collect())
            .map_err(|_| ())
    });
    import_rows(&headers, rows)
}

fn import_json(text: &str) -> Result<(Vec<Ecole>, Report), ImportError> {
    let records: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(text)?;
    let mut headers: Vec<String> = Vec::new();
    for r in &records {
        for k in r.keys() {
            if !headers.contains(k) {
                headers.push(k.clone());
            }
        }
    }
    let rows = records.iter().map(|r| {
        Ok(headers
            .iter()
            .map(|h| match r.get(h) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            })
            .collect())
    });
    import_rows(&headers, rows)
}

fn import_rows(
    headers: &[String],
    rows: impl Iterator<Item = Result<Vec<String>, ()>>,
) -> Result<(Vec<Ecole>, Report), ImportError> {
    let cols = Columns::from_headers(headers)?;
    let mut report = Report::default();
    let mut ecoles = Vec::new();
    for (i, row) in rows.enumerate() {
        let line = i + 2;
        let Ok(row) = row else {
            *report.ignores.entry("ligne illisible".into()).or_default() += 1;
            continue;
        };
        let get = |c: usize| row.get(c).map(|s| s.trim()).unwrap_or("");
        let opt = |c: Option<usize>| c.map(get).unwrap_or("");
        if !get(cols.type_etab).eq_ignore_ascii_case("ecole") {
            let kind = match get(cols.type_etab) {
                "" => "type absent".to_string(),
                t => t.to_lowercase(),
            };
            *report.ignores.entry(kind).or_default() += 1;
            continue;
        }
        let uai = match Uai::parse(get(cols.uai)) {
            Ok(u) => u,
            Err(_) => {
                report.uai_invalides.push((line, get(cols.uai).to_string()));
                continue;
            }
        };
        let etat = opt(cols.etat).to_uppercase();
        let ouverte = !etat.contains("FERME");
        if !ouverte {
            report.fermees += 1;
        }
        let statut = if get(cols.statut).to_lowercase().starts_with("priv") {
            "Privé"
        } else {
            "Public"
        };
        ecoles.push(Ecole {
            uai: uai.as_str().to_string(),
            nom: crate::domain::text::single_line(get(cols.nom)),
            nature: opt(cols.nature).to_string(),
            statut: statut.to_string(),
            code_insee: get(cols.code_commune).to_string(),
            commune: get(cols.commune).to_string(),
            code_postal: opt(cols.code_postal).to_string(),
            siren_siret: Some(opt(cols.siren_siret).to_string()).filter(|s| !s.is_empty()),
            ouverte,
        });
    }
    report.ecoles = ecoles.len();
    ecoles.sort_by(|a, b| a.uai.cmp(&b.uai));
    Ok((ecoles, report))
}

/// What an import changed in the directory.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub ajoutees: usize,
    pub modifiees: usize,
    pub fermees: usize,
    pub inchangees: usize,
}

/// Applies an import to the current directory: schools in the file are added or updated (a
/// school the file marks closed is closed); schools absent from the file are kept as they are,
/// since a file may cover only part of the country.
pub fn merge(current: &[Ecole], imported: Vec<Ecole>) -> (Vec<Ecole>, Changes) {
    let mut by_uai: std::collections::BTreeMap<String, Ecole> =
        current.iter().map(|e| (e.uai.clone(), e.clone())).collect();
    let mut changes = Changes::default();
    for e in imported {
        match by_uai.get(&e.uai) {
            None => changes.ajoutees += 1,
            Some(old) if *old == e => changes.inchangees += 1,
            Some(old) if old.ouverte && !e.ouverte => changes.fermees += 1,
            Some(_) => changes.modifiees += 1,
        }
        by_uai.insert(e.uai.clone(), e);
    }
    (by_uai.into_values().collect(), changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "Identifiant_de_l_etablissement;Nom_etablissement;Type_etablissement;Statut_public_prive;Code postal;Code_commune;Nom_commune;etat;libelle_nature;SIREN_SIRET\r\n";

    #[test]
    fn keeps_schools_skips_the_rest_reports_bad_uai() {
        let csv = format!(
            "\u{feff}{HEAD}0350122T;Ecole primaire publique les Lucioles;Ecole;Public;35580;35016;Baulon;OUVERT;ECOLE DE NIVEAU ELEMENTAIRE;21350016800025\r\n\
             0350001A;Collège X;Collège;Public;35000;35238;Rennes;OUVERT;COLLEGE;\r\n\
             0350122U;Ecole fausse;Ecole;Public;35580;35016;Baulon;OUVERT;;\r\n\
             0540232J;Ecole primaire;Ecole;Privé;54450;54059;Bénaménil;A FERMER;;\r\n"
        );
        let (ecoles, report) = import(csv.as_bytes()).unwrap();
        assert_eq!(ecoles.len(), 2);
        assert_eq!(report.ignores.get("collège"), Some(&1));
        assert_eq!(report.uai_invalides, vec![(4, "0350122U".to_string())]);
        assert_eq!(report.fermees, 1);
        let benamenil = ecoles.iter().find(|e| e.uai == "0540232J").unwrap();
        assert!(!benamenil.ouverte);
        assert_eq!(benamenil.statut, "Privé");
    }

    #[test]
    fn merge_adds_updates_closes_and_keeps() {
        let (v1, _) = import(format!("{HEAD}0350122T;Ecole A;Ecole;Public;35580;35016;Baulon;OUVERT;;\n0350165P;Ecole B;Ecole;Public;35190;35050;Cardroc;OUVERT;;\n").as_bytes()).unwrap();
        let (same, c) = merge(&v1, v1.clone());
        assert_eq!((same.len(), c.inchangees, c.ajoutees), (2, 2, 0));
        let (v2, _) = import(format!("{HEAD}0350122T;Ecole A renommée;Ecole;Public;35580;35016;Baulon;OUVERT;;\n0350165P;Ecole B;Ecole;Public;35190;35050;Cardroc;FERME;;\n0350192U;Ecole C;Ecole;Public;35310;35076;Chavagne;OUVERT;;\n").as_bytes()).unwrap();
        let (merged, c) = merge(&v1, v2);
        assert_eq!(
            c,
            Changes {
                ajoutees: 1,
                modifiees: 1,
                fermees: 1,
                inchangees: 0
            }
        );
        assert_eq!(merged.len(), 3);
        assert!(!merged.iter().find(|e| e.uai == "0350165P").unwrap().ouverte);
    }

    #[test]
    fn reads_latin1() {
        let mut bytes = HEAD.as_bytes().to_vec();
        bytes.extend_from_slice(
            b"0350122T;Ecole \xe9l\xe9mentaire;Ecole;Public;35580;35016;Baulon;OUVERT;;\n",
        );
        let (ecoles, _) = import_csv(&bytes).unwrap();
        assert_eq!(ecoles[0].nom, "Ecole élémentaire");
    }
}
