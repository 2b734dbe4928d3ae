//! Reference data: the school directory, imported from the official open dataset and served
//! from memory. The importer writes a snapshot to S3; functions load it at cold start, so the
//! data is updated without redeploying code.

pub mod annuaire;
pub mod decoupage;
pub mod search;
pub mod snapshot;

use crate::domain::school::{Ecole, SchoolDirectory};
use crate::domain::uai::Uai;
pub use snapshot::SnapshotError;
use snapshot::Tables;
use std::sync::OnceLock;

/// S3 key of the reference data snapshot (schools, communes, EPCI and the commune search
/// index, in the binary format of `snapshot`), written by the importer, read at cold start.
pub const SNAPSHOT_KEY: &str = "reference/annuaire.bin";
/// Older JSON snapshot of schools, still read when `SNAPSHOT_KEY` is absent (a bucket
/// imported before the binary snapshot); the importer no longer writes it.
pub const ECOLES_KEY: &str = "reference/ecoles.json";
/// Older JSON snapshot of communes and EPCI, read with `ECOLES_KEY`.
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

/// A commune that has open schools in the directory.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Commune<'a> {
    pub code_insee: &'a str,
    pub nom: &'a str,
    pub codes_postaux: Vec<&'a str>,
    pub departement: &'a str,
}

/// The reference data in memory: compact tables (`snapshot::Tables`), and each school as an
/// `Ecole` made on first use only, so that loading does not allocate one per school.
pub struct Directory {
    t: Tables,
    ecoles: Box<[OnceLock<Box<Ecole>>]>,
}

impl Default for Directory {
    fn default() -> Self {
        Directory::new(Vec::new())
    }
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

    /// Import-time work: the tables and the search index from the schools and the official
    /// communes/EPCI (which name communes and complete their postal codes).
    pub fn with_collectivites(ecoles: Vec<Ecole>, collectivites: decoupage::Collectivites) -> Self {
        Directory::from_tables(Tables::build(ecoles, &collectivites))
    }

    fn from_tables(t: Tables) -> Self {
        let ecoles = (0..t.schools()).map(|_| OnceLock::new()).collect();
        Directory { t, ecoles }
    }

    /// Cold start: the binary snapshot (`SNAPSHOT_KEY`) as the importer wrote it. A snapshot of
    /// another format version, truncated or corrupt is refused.
    pub fn from_snapshot(bytes: &[u8]) -> Result<Self, SnapshotError> {
        Tables::decode(bytes).map(Directory::from_tables)
    }

    /// The binary snapshot of this directory (deterministic).
    pub fn to_snapshot(&self) -> Vec<u8> {
        self.t.encode()
    }

    /// The older JSON snapshots (`ECOLES_KEY`, `COLLECTIVITES_KEY`): parsed and indexed here,
    /// hence slower to load than `from_snapshot`.
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

    /// Every school, open or closed, sorted by UAI (what the importer merges into).
    pub fn ecoles(&self) -> Vec<Ecole> {
        self.t
            .by_uai
            .iter()
            .map(|&i| self.t.ecole(i as usize))
            .collect()
    }

    /// Every UAI, sorted.
    pub fn uais(&self) -> impl Iterator<Item = &str> {
        self.t
            .by_uai
            .iter()
            .map(|&i| self.t.str(self.t.uai[i as usize]))
    }

    /// Heap bytes of the tables, schools made on use excluded.
    pub fn heap_bytes(&self) -> usize {
        self.t.heap_bytes() + self.ecoles.len() * std::mem::size_of::<OnceLock<Box<Ecole>>>()
    }

    fn ecole_at(&self, i: usize) -> &Ecole {
        self.ecoles[i].get_or_init(|| Box::new(self.t.ecole(i)))
    }

    fn commune_at(&self, k: usize) -> Commune<'_> {
        let t = &self.t;
        Commune {
            code_insee: t.str(t.c_code[k]),
            nom: t.str(t.c_nom[k]),
            codes_postaux: t.cps[t.c_cp[k] as usize..t.c_cp[k + 1] as usize]
                .iter()
                .map(|&id| t.str(id))
                .collect(),
            departement: t.str(t.c_departement[k]),
        }
    }

    /// Index of the entry of `sirens` (sorted string ids) equal to `siren`.
    fn find_siren(&self, sirens: &[u32], siren: &str) -> Option<usize> {
        let i = sirens.partition_point(|&id| self.t.str(id) < siren);
        (i < sirens.len() && self.t.str(sirens[i]) == siren).then_some(i)
    }

    /// The commune or EPCI that has this SIREN in the reference data.
    pub fn collectivite(&self, siren: &str) -> Option<CollectiviteRef> {
        let t = &self.t;
        if let Some(i) = self.find_siren(&t.r_siren, siren) {
            return Some(CollectiviteRef {
                nom: format!("Commune de {}", t.str(t.r_nom[i])),
                nature: "Commune".into(),
                code_insee: Some(t.str(t.r_code[i]).to_string()),
            });
        }
        self.find_siren(&t.e_siren, siren).map(|i| CollectiviteRef {
            nom: t.str(t.e_nom[i]).to_string(),
            nature: epci_nature(t.str(t.e_nature[i])).into(),
            code_insee: None,
        })
    }

    /// Schools to propose for a collectivité: those it runs (`SIREN_SIRET`), else those of the
    /// commune, or of the EPCI's member communes.
    pub fn ecoles_proposees(&self, siren: &str) -> Vec<&Ecole> {
        let run = self.ecoles_of_siren(siren);
        if !run.is_empty() {
            return run;
        }
        let t = &self.t;
        if let Some(i) = self.find_siren(&t.r_siren, siren) {
            return self.ecoles_of(t.str(t.r_code[i]));
        }
        if let Some(i) = self.find_siren(&t.e_siren, siren) {
            return t.membres[t.e_membres[i] as usize..t.e_membres[i + 1] as usize]
                .iter()
                .flat_map(|&m| self.ecoles_of(t.str(m)))
                .collect();
        }
        Vec::new()
    }

    /// Communes by name (exact > prefix > word prefix > contains, then by number of schools),
    /// by postal code or by INSEE code.
    pub fn search_communes(&self, q: &str, limit: usize) -> Vec<Commune<'_>> {
        search::search(&self.t, q, limit)
            .into_iter()
            .map(|k| self.commune_at(k as usize))
            .collect()
    }

    pub fn commune(&self, code_insee: &str) -> Option<Commune<'_>> {
        self.t.commune_index(code_insee).map(|k| self.commune_at(k))
    }

    /// Open schools of a commune, sorted by name.
    pub fn ecoles_of(&self, code_insee: &str) -> Vec<&Ecole> {
        let Some(k) = self.t.commune_index(code_insee) else {
            return Vec::new();
        };
        let start = self.t.c_ecoles[k] as usize;
        (start..start + self.t.c_nb[k] as usize)
            .map(|i| self.ecole_at(i))
            .collect()
    }

    /// Open schools whose running body has this SIREN (their `SIREN_SIRET` starts with it),
    /// sorted by commune then name.
    pub fn ecoles_of_siren(&self, siren: &str) -> Vec<&Ecole> {
        let t = &self.t;
        let s = &t.by_siren;
        let start = s.partition_point(|&i| t.str(t.siren_siret[i as usize]) < siren);
        let len =
            s[start..].partition_point(|&i| t.str(t.siren_siret[i as usize]).starts_with(siren));
        let mut v: Vec<usize> = s[start..start + len].iter().map(|&i| i as usize).collect();
        v.sort_by(|&a, &b| {
            t.str(t.commune[a])
                .cmp(t.str(t.commune[b]))
                .then_with(|| t.str(t.nom[a]).cmp(t.str(t.nom[b])))
        });
        v.into_iter().map(|i| self.ecole_at(i)).collect()
    }

    pub fn len(&self) -> usize {
        self.t.schools()
    }

    pub fn is_empty(&self) -> bool {
        self.t.schools() == 0
    }
}

impl SchoolDirectory for Directory {
    fn ecole(&self, uai: &Uai) -> Option<&Ecole> {
        let t = &self.t;
        let i = t
            .by_uai
            .partition_point(|&i| t.str(t.uai[i as usize]) < uai.as_str());
        let &i = t.by_uai.get(i)?;
        (t.str(t.uai[i as usize]) == uai.as_str()).then(|| self.ecole_at(i as usize))
    }
}
