//! How a dossier keeps its lists of schools: packed, one string per list.
//!
//! A dossier's schools are most of its item (a school as deposited is about 250 bytes as
//! DynamoDB counts a map of attributes, twice when an avenant amended the perimeter), and the
//! form accepts 1,000 of them: stored as lists of maps, the largest perimeters came close to
//! DynamoDB's 400 KB item limit, past which every write on the dossier fails. Schools of one
//! collectivité repeat the same words (« ÉCOLE ÉLÉMENTAIRE PUBLIQUE », the commune, the
//! attribute names), so the list as JSON, deflated, is several times smaller; the string is
//! its base64 behind a version tag (a string rather than binary so that stream records, test
//! fixtures and JSON copies carry it unchanged). Whatever the names, the store refuses an item
//! past its documented maximum (`ports::MAX_DOSSIER_ITEM_BYTES`) rather than failing on it.
//!
//! Reading accepts both forms: dossiers stored before this change hold plain lists, which the
//! next write of the list packs.
//!
//! Used as `#[serde(with = "packed")]` on `Vec<EcoleDeposee>` fields and
//! `#[serde(with = "packed::option")]` on `Option<Vec<EcoleDeposee>>` ones.

use super::deposit::EcoleDeposee;
use base64::Engine;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Serializer;
use std::io::{Read, Write};

/// The version tag of the packed form (deflate, then base64).
const TAG: &str = "z1:";

/// Upper bound on a packed list once unpacked: 1,000 schools of a few hundred bytes each come
/// to well under this; a string inflating past it is not ours (a deflate bomb).
const MAX_UNPACKED_BYTES: u64 = 16 * 1024 * 1024;

/// The list packed: its JSON deflated, in base64, behind [`TAG`].
pub fn pack(ecoles: &[EcoleDeposee]) -> String {
    let json = serde_json::to_vec(ecoles).expect("a school serialises");
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&json).expect("writing to memory");
    let bytes = z.finish().expect("writing to memory");
    format!(
        "{TAG}{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
    )
}

/// The list of a packed string, or why it is not one.
pub fn unpack(s: &str) -> Result<Vec<EcoleDeposee>, String> {
    let b64 = s
        .strip_prefix(TAG)
        .ok_or_else(|| "liste d’écoles : format inconnu".to_string())?;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(b64)
        .map_err(|e| format!("liste d’écoles : base64 : {e}"))?;
    let mut json = Vec::new();
    flate2::read::DeflateDecoder::new(&bytes[..])
        .take(MAX_UNPACKED_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("liste d’écoles : deflate : {e}"))?;
    if json.len() as u64 > MAX_UNPACKED_BYTES {
        return Err("liste d’écoles : trop grande une fois dépliée".into());
    }
    serde_json::from_slice(&json).map_err(|e| format!("liste d’écoles : {e}"))
}

pub fn serialize<S: Serializer>(ecoles: &[EcoleDeposee], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&pack(ecoles))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<EcoleDeposee>, D::Error> {
    d.deserialize_any(Schools)
}

/// Either form: the packed string, or the plain list of dossiers stored before it.
struct Schools;

impl<'de> Visitor<'de> for Schools {
    type Value = Vec<EcoleDeposee>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a packed list of schools, or a list of schools")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        unpack(v).map_err(E::custom)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1_000));
        while let Some(e) = seq.next_element()? {
            out.push(e);
        }
        Ok(out)
    }
}

/// The same for an optional list (`DossierRecord::perimetre`).
pub mod option {
    use super::EcoleDeposee;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        ecoles: &Option<Vec<EcoleDeposee>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match ecoles {
            Some(v) => super::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<EcoleDeposee>>, D::Error> {
        #[derive(Deserialize)]
        struct Packed(#[serde(with = "super")] Vec<EcoleDeposee>);
        Ok(Option::<Packed>::deserialize(d)?.map(|p| p.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::gar::{AccesGar, EtatGar};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "super")]
        ecoles: Vec<EcoleDeposee>,
        #[serde(
            default,
            with = "super::option",
            skip_serializing_if = "Option::is_none"
        )]
        perimetre: Option<Vec<EcoleDeposee>>,
    }

    fn schools(n: usize) -> Vec<EcoleDeposee> {
        (0..n)
            .map(|i| EcoleDeposee {
                uai: format!("{:07}A", 350_0000 + i),
                nom: format!("ÉCOLE ÉLÉMENTAIRE PUBLIQUE JEAN MOULIN {i}"),
                commune: "PARIS 20E ARRONDISSEMENT".into(),
                code_insee: "75120".into(),
                hors_territoire: i % 7 == 0,
                gar: (i % 2 == 0).then(|| AccesGar {
                    etat: EtatGar::Ouverte,
                    le: "2026-09-15".into(),
                    motif: None,
                }),
            })
            .collect()
    }

    #[test]
    fn a_list_reads_back_as_written_through_dynamodb_and_json() {
        let h = Holder {
            ecoles: schools(3),
            perimetre: Some(schools(2)),
        };
        let item: serde_dynamo::Item = serde_dynamo::to_item(&h).unwrap();
        assert!(matches!(item.get("ecoles"),
            Some(serde_dynamo::AttributeValue::S(s)) if s.starts_with(TAG)));
        assert_eq!(serde_dynamo::from_item::<_, Holder>(item).unwrap(), h);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<Holder>(&json).unwrap(), h);
        let none = Holder {
            ecoles: Vec::new(),
            perimetre: None,
        };
        let item: serde_dynamo::Item = serde_dynamo::to_item(&none).unwrap();
        assert_eq!(serde_dynamo::from_item::<_, Holder>(item).unwrap(), none);
    }

    #[test]
    fn a_plain_list_stored_before_packing_still_reads() {
        let legacy = serde_json::json!({
            "ecoles": serde_json::to_value(schools(4)).unwrap(),
            "perimetre": serde_json::to_value(schools(1)).unwrap(),
        });
        let h: Holder = serde_json::from_value(legacy.clone()).unwrap();
        assert_eq!(h.ecoles, schools(4));
        assert_eq!(h.perimetre, Some(schools(1)));
        let item: serde_dynamo::Item = serde_dynamo::to_item(&legacy).unwrap();
        assert_eq!(serde_dynamo::from_item::<_, Holder>(item).unwrap(), h);
    }

    #[test]
    fn a_thousand_schools_pack_several_times_smaller() {
        let all = schools(1_000);
        let plain = serde_json::to_vec(&all).unwrap().len();
        let packed = pack(&all).len();
        assert!(packed * 4 < plain, "{packed} packed, {plain} plain");
        assert_eq!(unpack(&pack(&all)).unwrap(), all);
    }

    #[test]
    fn what_is_not_a_packed_list_is_an_error_not_a_panic() {
        for bad in ["", "z1:", "z1:!!!", "z9:AAAA", "z1:AAAA"] {
            assert!(unpack(bad).is_err(), "{bad}");
        }
        // A deflate bomb: 64 MiB of zeros packs into a few KB.
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![b' '; 64 << 20]).unwrap();
        let bomb = format!(
            "{TAG}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(z.finish().unwrap())
        );
        assert!(unpack(&bomb).unwrap_err().contains("trop grande"));
    }
}
