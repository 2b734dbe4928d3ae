//! Communes and EPCI with their SIREN, postal codes and members, from the npm package
//! `@etalab/decoupage-administratif` (data under Licence Ouverte), read at import time. Only the
//! communes that have schools, and the EPCI that contain one of them, are kept.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommuneRef {
    pub code_insee: String,
    pub nom: String,
    pub siren: String,
    pub codes_postaux: Vec<String>,
    pub departement: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpciRef {
    pub siren: String,
    pub nom: String,
    /// CC, CA, CU, METRO…
    pub nature: String,
    /// INSEE codes of the member communes.
    pub membres: Vec<String>,
}

/// The collectivités snapshot: what the lookups need, nothing more.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Collectivites {
    pub communes: Vec<CommuneRef>,
    pub epcis: Vec<EpciRef>,
}

pub use crate::domain::perimeter::departement_of;

#[derive(Deserialize)]
struct RawCommune {
    code: String,
    nom: String,
    #[serde(default)]
    siren: Option<String>,
    #[serde(default, rename = "codesPostaux")]
    codes_postaux: Vec<String>,
    #[serde(default)]
    departement: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct RawMembre {
    code: String,
}

#[derive(Deserialize)]
struct RawEpci {
    code: String,
    nom: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    membres: Vec<RawMembre>,
}

/// Reads `communes.json` and `epci.json` of the package and keeps what serves `wanted` (the
/// INSEE codes that have schools).
pub fn extract(
    communes_json: &[u8],
    epci_json: &[u8],
    wanted: &HashSet<String>,
) -> Result<Collectivites, serde_json::Error> {
    let communes: Vec<RawCommune> = serde_json::from_slice(communes_json)?;
    let epcis: Vec<RawEpci> = serde_json::from_slice(epci_json)?;
    let mut out = Collectivites::default();
    for c in communes {
        // Only current communes (not "commune-deleguee" / "commune-associee" doubles).
        if c.kind.as_deref().is_some_and(|k| k != "commune-actuelle") || !wanted.contains(&c.code) {
            continue;
        }
        let Some(siren) = c.siren else { continue };
        out.communes.push(CommuneRef {
            departement: c
                .departement
                .unwrap_or_else(|| c.code.chars().take(2).collect()),
            code_insee: c.code,
            nom: c.nom,
            siren,
            codes_postaux: c.codes_postaux,
        });
    }
    for e in epcis {
        let membres: Vec<String> = e.membres.into_iter().map(|m| m.code).collect();
        if membres.iter().any(|m| wanted.contains(m)) {
            out.epcis.push(EpciRef {
                siren: e.code,
                nom: e.nom,
                nature: e.kind,
                membres,
            });
        }
    }
    out.communes.sort_by(|a, b| a.code_insee.cmp(&b.code_insee));
    out.epcis.sort_by(|a, b| a.siren.cmp(&b.siren));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_communes_with_schools_and_their_epci() {
        let communes = br#"[
            {"code":"35016","nom":"Baulon","siren":"213500168","codesPostaux":["35580"],"departement":"35","type":"commune-actuelle"},
            {"code":"35050","nom":"Cardroc","siren":"213500507","codesPostaux":["35190"],"departement":"35","type":"commune-actuelle"},
            {"code":"35999","nom":"Deleguee","siren":"213599999","codesPostaux":["35000"],"departement":"35","type":"commune-deleguee"}
        ]"#;
        let epci = br#"[
            {"code":"243500634","nom":"CC Vallons de Haute-Bretagne","type":"CC","membres":[{"code":"35016","siren":"213500168","nom":"Baulon"}]},
            {"code":"200000000","nom":"CC ailleurs","type":"CC","membres":[{"code":"01001"}]}
        ]"#;
        let wanted: HashSet<String> = ["35016".to_string(), "35999".to_string()].into();
        let c = extract(communes, epci, &wanted).unwrap();
        assert_eq!(c.communes.len(), 1);
        assert_eq!(c.communes[0].siren, "213500168");
        assert_eq!(c.epcis.len(), 1);
        assert_eq!(c.epcis[0].membres, ["35016"]);
    }
}
