//! Reference data: the school directory, imported from the official open dataset and served
//! from memory. The importer writes a snapshot to S3; functions load it at cold start, so the
//! data is updated without redeploying code.

pub mod annuaire;
pub mod decoupage;
pub mod search;

use crate::domain::school::{Ecole, SchoolDirectory};
use crate::domain::uai::Uai;
use std::collections::{BTreeMap, HashMap};

/// S3 key of the snapshot of schools.
pub const ECOLES_KEY: &str = "reference/ecoles.json";
/// S3 key of the snapshot of communes and EPCI.
pub const COLLECTIVITES_KEY: &str = "reference/collectivites.json";

/// A collectivité identified by its SIREN in the reference data.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CollectiviteRef {
    pub nom: String,
    /// "Commune", "Communauté de communes"…
    pub nature: String,
    /// For a commune, its INSEE code.
    pub code_insee: Option<String>,
}

/// A commune that has schools in the directory.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Commune {
    pub code_insee: String,
    pub nom: String,
    pub codes_postaux: Vec<String>,
    pub departement: String,
    #[serde(skip)]
    pub cle: String,
    #[serde(skip)]
    pub ecoles: Vec<String>,
}

#[derive(Default)]
pub struct Directory {
    by_uai: HashMap<String, Ecole>,
    communes: BTreeMap<String, Commune>,
    index: search::CommuneIndex,
    collectivites: decoupage::Collectivites,
    commune_by_siren: HashMap<String, usize>,
    epci_by_siren: HashMap<String, usize>,
}

fn epci_nature(kind: &str) -> &'static str {
    match kind {
        "CC" => "Communauté de communes",
        "CA" => "Communauté d’agglomération",
        "CU" => "Communauté urbaine",
        "METRO" | "MET69" => "Métropole",
        _ => "Établissement public de coopération intercommunale",
    }
}

/// Lowercase, accents removed, hyphens and apostrophes as spaces, "st"/"ste" as
/// "saint"/"sainte": the form names are compared in.
pub fn search_key(s: &str) -> String {
    let folded: String = s
        .chars()
        .flat_map(|c| c.to_lowercase())
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ÿ' => 'y',
            'ç' => 'c',
            'œ' => 'o',
            '-' | '\'' | '’' | '.' | ',' => ' ',
            c => c,
        })
        .collect();
    folded
        .split_whitespace()
        .map(|w| match w {
            "st" => "saint",
            "ste" => "sainte",
            w => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Département of an INSEE code: 2 characters (2A/2B included), 3 overseas.
pub fn departement_of(code_insee: &str) -> String {
    if code_insee.starts_with("97") {
        code_insee.chars().take(3).collect()
    } else {
        code_insee.chars().take(2).collect()
    }
}

impl Directory {
    pub fn new(ecoles: Vec<Ecole>) -> Self {
        Directory::with_collectivites(ecoles, decoupage::Collectivites::default())
    }

    pub fn with_collectivites(
        mut ecoles: Vec<Ecole>,
        collectivites: decoupage::Collectivites,
    ) -> Self {
        // Sorted by name once, so that each commune's list comes out sorted.
        ecoles.sort_unstable_by(|a, b| a.nom.cmp(&b.nom));
        let mut communes: BTreeMap<String, Commune> = BTreeMap::new();
        for e in ecoles.iter().filter(|e| e.ouverte) {
            let c = communes
                .entry(e.code_insee.clone())
                .or_insert_with(|| Commune {
                    code_insee: e.code_insee.clone(),
                    nom: e.commune.clone(),
                    codes_postaux: Vec::new(),
                    departement: departement_of(&e.code_insee),
                    cle: String::new(),
                    ecoles: Vec::new(),
                });
            if !e.code_postal.is_empty() && !c.codes_postaux.contains(&e.code_postal) {
                c.codes_postaux.push(e.code_postal.clone());
            }
            c.ecoles.push(e.uai.clone());
        }
        let by_uai: HashMap<String, Ecole> =
            ecoles.into_iter().map(|e| (e.uai.clone(), e)).collect();
        // The official list knows each commune's name and postal codes better than the schools.
        for c in &collectivites.communes {
            if let Some(commune) = communes.get_mut(&c.code_insee) {
                commune.nom = c.nom.clone();
                commune.departement = c.departement.clone();
                for cp in &c.codes_postaux {
                    if !commune.codes_postaux.contains(cp) {
                        commune.codes_postaux.push(cp.clone());
                    }
                }
            }
        }
        for commune in communes.values_mut() {
            commune.cle = search_key(&commune.nom);
            commune.codes_postaux.sort();
        }
        let commune_by_siren = collectivites
            .communes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.siren.clone(), i))
            .collect();
        let epci_by_siren = collectivites
            .epcis
            .iter()
            .enumerate()
            .map(|(i, e)| (e.siren.clone(), i))
            .collect();
        let index = search::CommuneIndex::new(&communes);
        Directory {
            by_uai,
            communes,
            index,
            collectivites,
            commune_by_siren,
            epci_by_siren,
        }
    }

    pub fn from_snapshots(
        ecoles: &[u8],
        collectivites: Option<&[u8]>,
    ) -> Result<Self, serde_json::Error> {
        let c = match collectivites {
            Some(bytes) => serde_json::from_slice(bytes)?,
            None => decoupage::Collectivites::default(),
        };
        Ok(Directory::with_collectivites(
            serde_json::from_slice(ecoles)?,
            c,
        ))
    }

    /// The commune or EPCI that has this SIREN in the reference data.
    pub fn collectivite(&self, siren: &str) -> Option<CollectiviteRef> {
        if let Some(&i) = self.commune_by_siren.get(siren) {
            let c = &self.collectivites.communes[i];
            return Some(CollectiviteRef {
                nom: format!("Commune de {}", c.nom),
                nature: "Commune".into(),
                code_insee: Some(c.code_insee.clone()),
            });
        }
        self.epci_by_siren.get(siren).map(|&i| {
            let e = &self.collectivites.epcis[i];
            CollectiviteRef {
                nom: e.nom.clone(),
                nature: epci_nature(&e.nature).into(),
                code_insee: None,
            }
        })
    }

    /// Schools to propose for a collectivité: those it runs (`SIREN_SIRET`), else those of the
    /// commune, or of the EPCI's member communes.
    pub fn ecoles_proposees(&self, siren: &str) -> Vec<&Ecole> {
        let run = self.ecoles_of_siren(siren);
        if !run.is_empty() {
            return run;
        }
        if let Some(&i) = self.commune_by_siren.get(siren) {
            return self.ecoles_of(&self.collectivites.communes[i].code_insee);
        }
        if let Some(&i) = self.epci_by_siren.get(siren) {
            return self.collectivites.epcis[i]
                .membres
                .iter()
                .flat_map(|m| self.ecoles_of(m))
                .collect();
        }
        Vec::new()
    }

    /// Communes by name (exact > prefix > word prefix > contains, then by number of schools),
    /// by postal code or by INSEE code.
    pub fn search_communes(&self, q: &str, limit: usize) -> Vec<&Commune> {
        self.index
            .search(q, limit)
            .into_iter()
            .filter_map(|code| self.communes.get(code))
            .collect()
    }

    pub fn commune(&self, code_insee: &str) -> Option<&Commune> {
        self.communes.get(code_insee)
    }

    /// Open schools of a commune, sorted by name.
    pub fn ecoles_of(&self, code_insee: &str) -> Vec<&Ecole> {
        self.communes
            .get(code_insee)
            .map(|c| c.ecoles.iter().filter_map(|u| self.by_uai.get(u)).collect())
            .unwrap_or_default()
    }

    /// Open schools whose running body has this SIREN.
    pub fn ecoles_of_siren(&self, siren: &str) -> Vec<&Ecole> {
        let mut v: Vec<&Ecole> = self
            .by_uai
            .values()
            .filter(|e| {
                e.ouverte
                    && e.siren_siret
                        .as_deref()
                        .is_some_and(|s| s.starts_with(siren))
            })
            .collect();
        v.sort_by(|a, b| a.commune.cmp(&b.commune).then(a.nom.cmp(&b.nom)));
        v
    }

    pub fn len(&self) -> usize {
        self.by_uai.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_uai.is_empty()
    }
}

impl SchoolDirectory for Directory {
    fn ecole(&self, uai: &Uai) -> Option<&Ecole> {
        self.by_uai.get(uai.as_str())
    }
}
