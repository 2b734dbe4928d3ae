//! Reference data: the school directory, imported from the official open dataset and served
//! from memory. The importer writes a snapshot to S3; functions load it at cold start, so the
//! data is updated without redeploying code.

pub mod annuaire;
pub mod decoupage;
pub mod live;
pub mod search;
pub mod snapshot;
mod tables;

use crate::domain::school::{Ecole, SchoolDirectory};
use crate::domain::uai::Uai;
pub use decoupage::departement_of;
pub use search::search_key;
pub use snapshot::SnapshotError;
use snapshot::Tables;
use std::sync::OnceLock;
use tables::Columns;

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
        let ecoles = (0..t.schools.len()).map(|_| OnceLock::new()).collect();
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
            .schools
            .by_uai
            .iter()
            .map(|&i| self.t.ecole(i as usize))
            .collect()
    }

    /// Every UAI, sorted.
    pub fn uais(&self) -> impl Iterator<Item = &str> {
        let schools = &self.t.schools;
        schools
            .by_uai
            .iter()
            .map(|&i| self.t.str(schools.uai[i as usize]))
    }

    /// Heap bytes of the tables, schools made on use excluded.
    pub fn heap_bytes(&self) -> usize {
        self.t.heap_bytes() + self.ecoles.len() * std::mem::size_of::<OnceLock<Box<Ecole>>>()
    }

    fn ecole_at(&self, i: usize) -> &Ecole {
        self.ecoles[i].get_or_init(|| Box::new(self.t.ecole(i)))
    }

    fn commune_at(&self, k: usize) -> Commune<'_> {
        let (t, communes) = (&self.t, &self.t.communes);
        Commune {
            code_insee: t.str(communes.insee_code[k]),
            nom: t.str(communes.name[k]),
            codes_postaux: communes
                .postal_codes_of(k)
                .iter()
                .map(|&id| t.str(id))
                .collect(),
            departement: t.str(communes.departement[k]),
        }
    }

    /// The commune or EPCI that has this SIREN in the reference data.
    pub fn collectivite(&self, siren: &str) -> Option<CollectiviteRef> {
        let (t, c) = (&self.t, &self.t.collectivites);
        if let Some(i) = c.commune(&t.strings, siren) {
            return Some(CollectiviteRef {
                nom: format!("Commune de {}", t.str(c.commune_name[i])),
                nature: "Commune".into(),
                code_insee: Some(t.str(c.commune_insee_code[i]).to_string()),
            });
        }
        c.epci(&t.strings, siren).map(|i| CollectiviteRef {
            nom: t.str(c.epci_name[i]).to_string(),
            nature: epci_nature(t.str(c.epci_kind[i])).into(),
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
        let (t, c) = (&self.t, &self.t.collectivites);
        if let Some(i) = c.commune(&t.strings, siren) {
            return self.ecoles_of(t.str(c.commune_insee_code[i]));
        }
        if let Some(i) = c.epci(&t.strings, siren) {
            return c
                .members_of(i)
                .iter()
                .flat_map(|&m| self.ecoles_of(t.str(m)))
                .collect();
        }
        Vec::new()
    }

    /// The INSEE codes of a collectivité's territory: its commune, or the EPCI's member
    /// communes; None when the reference data does not know the SIREN (a syndicat…).
    pub fn territoire(&self, siren: &str) -> Option<Vec<String>> {
        let (t, c) = (&self.t, &self.t.collectivites);
        if let Some(i) = c.commune(&t.strings, siren) {
            return Some(vec![t.str(c.commune_insee_code[i]).to_string()]);
        }
        c.epci(&t.strings, siren).map(|i| {
            c.members_of(i)
                .iter()
                .map(|&m| t.str(m).to_string())
                .collect()
        })
    }

    /// Communes by name (exact > prefix > word prefix > contains, then by number of schools),
    /// by postal code or by INSEE code.
    pub fn search_communes(&self, q: &str, limit: usize) -> Vec<Commune<'_>> {
        let t = &self.t;
        t.index
            .search(&t.strings, &t.communes, q, limit)
            .into_iter()
            .map(|k| self.commune_at(k as usize))
            .collect()
    }

    pub fn commune(&self, code_insee: &str) -> Option<Commune<'_>> {
        let t = &self.t;
        t.communes
            .index_of(&t.strings, code_insee)
            .map(|k| self.commune_at(k))
    }

    /// Open schools of a commune, sorted by name.
    pub fn ecoles_of(&self, code_insee: &str) -> Vec<&Ecole> {
        let t = &self.t;
        let Some(k) = t.communes.index_of(&t.strings, code_insee) else {
            return Vec::new();
        };
        t.communes.schools_of(k).map(|i| self.ecole_at(i)).collect()
    }

    /// Open schools whose running body has this SIREN (their `SIREN_SIRET` starts with it),
    /// sorted by commune then name.
    pub fn ecoles_of_siren(&self, siren: &str) -> Vec<&Ecole> {
        let (t, schools) = (&self.t, &self.t.schools);
        let mut v = schools.run_by(&t.strings, siren);
        v.sort_by(|&a, &b| {
            t.str(schools.commune_name[a])
                .cmp(t.str(schools.commune_name[b]))
                .then_with(|| t.str(schools.name[a]).cmp(t.str(schools.name[b])))
        });
        v.into_iter().map(|i| self.ecole_at(i)).collect()
    }

    pub fn len(&self) -> usize {
        self.t.schools.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SchoolDirectory for Directory {
    fn ecole(&self, uai: &Uai) -> Option<&Ecole> {
        let t = &self.t;
        t.schools
            .by_uai(&t.strings, uai.as_str())
            .map(|i| self.ecole_at(i))
    }
}

#[cfg(test)]
mod tests {
    use super::snapshot::{seal, tests::sample, HEADER};
    use super::*;

    /// Any byte of the payload changed and the checksum recomputed (what a buggy writer could
    /// produce): refused, or accepted and then every lookup answers without panicking.
    #[test]
    fn resealed_mutations_never_panic() {
        let bytes = sample().encode();
        for at in HEADER..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut payload = bytes[HEADER..].to_vec();
                payload[at - HEADER] ^= bit;
                let Ok(d) = Directory::from_snapshot(&seal(&payload)) else {
                    continue;
                };
                for q in ["baulon", "b", "saint", "35", "35016", "élé", "2A004", "x"] {
                    for c in d.search_communes(q, 2) {
                        let _ = d.ecoles_of(c.code_insee);
                    }
                }
                for siren in ["213500168", "243500634", "21350016800025", ""] {
                    let _ = (d.collectivite(siren), d.ecoles_proposees(siren));
                }
                for uai in ["0350122T", "0350165P", "0540232J"] {
                    let _ = d.ecole(&Uai::parse(uai).unwrap());
                }
                let _ = (d.ecoles(), d.commune("35016"), d.to_snapshot());
            }
        }
    }
}
