use super::*;
use crate::reference::decoupage::{CommuneRef, EpciRef};

fn ecole(uai: &str, nom: &str, code: &str, commune: &str, ouverte: bool) -> Ecole {
    Ecole {
        uai: uai.into(),
        nom: nom.into(),
        nature: "ECOLE DE NIVEAU ELEMENTAIRE".into(),
        statut: "Public".into(),
        code_insee: code.into(),
        commune: commune.into(),
        code_postal: "35580".into(),
        siren_siret: Some("21350016800025".into()),
        ouverte,
    }
}

/// Three schools (one closed) in two communes, one of them in the official list, and one EPCI.
pub(crate) fn sample() -> Tables {
    let collectivites = Collectivites {
        communes: vec![CommuneRef {
            code_insee: "35016".into(),
            nom: "Baulon".into(),
            siren: "213500168".into(),
            codes_postaux: vec!["35580".into(), "35581".into()],
            departement: "35".into(),
        }],
        epcis: vec![EpciRef {
            siren: "243500634".into(),
            nom: "CC Vallons de Haute-Bretagne".into(),
            nature: "CC".into(),
            membres: vec!["35016".into(), "35050".into()],
        }],
    };
    Tables::build(
        vec![
            ecole("0350122T", "Ecole les Lucioles", "35016", "BAULON", true),
            ecole(
                "0350165P",
                "Ecole élémentaire",
                "35050",
                "Saint-Cardroc",
                true,
            ),
            ecole("0540232J", "Ecole fermée", "35016", "BAULON", false),
        ],
        &collectivites,
    )
}

#[test]
fn round_trip_is_exact_and_deterministic() {
    let t = sample();
    let bytes = t.encode();
    assert_eq!(&bytes[..8], MAGIC);
    let back = Tables::decode(&bytes).unwrap();
    assert_eq!(back, t);
    assert_eq!(back.encode(), bytes);
    let empty = Tables::build(Vec::new(), &Collectivites::default());
    assert_eq!(Tables::decode(&empty.encode()).unwrap(), empty);
    assert_eq!(back.ecole(0).code_insee, "35016");
    assert_eq!(back.str(back.communes.name[0]), "Baulon", "official name");
    assert_eq!(
        back.communes.open_schools[0], 1,
        "closed school not counted"
    );
}

/// Format 1 as the buckets hold it: the sample's snapshot is the one the code wrote before its
/// tables were split (length and checksum of those bytes), so that snapshots already written
/// still load. Failing here means the format changed: raise `VERSION` with it.
#[test]
fn format_1_is_unchanged() {
    let bytes = sample().encode();
    assert_eq!(bytes.len(), 805);
    assert_eq!(bytes[24..32], 0x502d_bebe_79fb_99b6u64.to_le_bytes());
}

#[test]
fn every_truncation_is_refused() {
    let bytes = sample().encode();
    for len in 0..bytes.len() {
        let err = Tables::decode(&bytes[..len]).unwrap_err();
        match len {
            0..8 => assert_eq!(err, SnapshotError::NotASnapshot),
            _ => assert!(
                matches!(err, SnapshotError::Truncated { .. }),
                "{len}: {err}"
            ),
        }
    }
    let err = Tables::decode(&bytes[..bytes.len() - 1]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "instantané tronqué : {} octets sur {}",
            bytes.len() - 1,
            bytes.len()
        )
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        Tables::decode(&longer),
        Err(SnapshotError::Corrupt(_))
    ));
}

#[test]
fn any_changed_byte_is_refused() {
    let bytes = sample().encode();
    for at in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[at] ^= 0x20;
        assert!(Tables::decode(&bad).is_err(), "byte {at} changed, accepted");
    }
    let mut bad = bytes.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert_eq!(
        Tables::decode(&bad).unwrap_err().to_string(),
        "instantané corrompu : somme de contrôle fausse"
    );
}

#[test]
fn another_version_or_another_file_is_refused() {
    let mut bytes = sample().encode();
    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    let err = Tables::decode(&bytes).unwrap_err();
    assert_eq!(
        err,
        SnapshotError::Version {
            found: 2,
            supported: 1
        }
    );
    assert!(err.to_string().contains("format 2"), "{err}");
    assert_eq!(
        Tables::decode(br#"[{"uai":"0350122T"}]"#).unwrap_err(),
        SnapshotError::NotASnapshot
    );
}

/// Well-formed bytes with a right checksum but references out of bounds (a bug in a
/// writer, not a transmission error): refused too, never a panic later.
#[test]
fn inconsistent_tables_are_refused_even_with_a_right_checksum() {
    let reseal = |t: &Tables| {
        let mut b = t.encode();
        let sum = checksum(&b[HEADER..]);
        b[24..32].copy_from_slice(&sum.to_le_bytes());
        b
    };
    let mut t = sample();
    t.schools.name[1] = 999;
    assert_eq!(
        Tables::decode(&reseal(&t)),
        Err(SnapshotError::Corrupt("chaîne inconnue dans les écoles"))
    );
    let mut t = sample();
    t.communes.open_schools[0] = 10;
    assert!(Tables::decode(&reseal(&t)).is_err());
    let mut t = sample();
    t.strings.offsets[1] = t.strings.blob.len() as u32 + 1;
    assert!(Tables::decode(&reseal(&t)).is_err());
    let mut t = sample();
    t.index.word_offset.push(0);
    assert!(Tables::decode(&reseal(&t)).is_err());
    let mut t = sample();
    t.index.keys.push('x');
    assert!(Tables::decode(&reseal(&t)).is_err());
}
