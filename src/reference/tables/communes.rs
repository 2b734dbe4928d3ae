//! Communes that have open schools: named, with their département and postal codes, from the
//! official list where it has them, and the range of their open schools.

use super::{check, offsets, table, Corrupt, Interner, Strings};
use crate::domain::school::Ecole;
use crate::reference::decoupage::{departement_of, CommuneRef};
use std::collections::HashMap;

table! {
    /// Communes that have open schools, sorted by INSEE code.
    pub(crate) struct CommuneTable {
        pub insee_code: Vec<u32>,
        /// The official name, else the directory's.
        pub name: Vec<u32>,
        pub departement: Vec<u32>,
        /// Commune `k`'s postal codes are
        /// `postal_codes[postal_code_offsets[k]..postal_code_offsets[k + 1]]` (sorted).
        pub postal_code_offsets: Vec<u32>,
        pub postal_codes: Vec<u32>,
        /// Commune `k`'s open schools are `first_school[k]..first_school[k] + open_schools[k]`.
        pub first_school: Vec<u32>,
        pub open_schools: Vec<u32>,
    }
}

impl CommuneTable {
    /// The communes of `ecoles` (in `SchoolTable` order) that have open schools, their names,
    /// départements and postal codes completed from the `official` list.
    pub fn build(ecoles: &[Ecole], official: &[CommuneRef], s: &mut Interner) -> CommuneTable {
        let official: HashMap<&str, &CommuneRef> = official
            .iter()
            .map(|c| (c.code_insee.as_str(), c))
            .collect();
        let mut t = CommuneTable {
            postal_code_offsets: vec![0],
            ..CommuneTable::default()
        };
        let mut i = 0;
        while i < ecoles.len() {
            let code = ecoles[i].code_insee.as_str();
            let end = i + ecoles[i..].partition_point(|e| e.code_insee == code);
            let open = ecoles[i..end].iter().take_while(|e| e.ouverte).count();
            if open > 0 {
                let reference = official.get(code);
                let (nom, departement) = match reference {
                    Some(c) => (c.nom.as_str(), c.departement.clone()),
                    None => (ecoles[i].commune.as_str(), departement_of(code)),
                };
                let mut cps: Vec<&str> = ecoles[i..i + open]
                    .iter()
                    .map(|e| e.code_postal.as_str())
                    .filter(|cp| !cp.is_empty())
                    .chain(
                        reference
                            .iter()
                            .flat_map(|c| c.codes_postaux.iter().map(String::as_str)),
                    )
                    .collect();
                cps.sort_unstable();
                cps.dedup();
                t.insee_code.push(s.id(code));
                t.name.push(s.id(nom));
                t.departement.push(s.id(&departement));
                t.postal_codes.extend(cps.into_iter().map(|cp| s.id(cp)));
                t.postal_code_offsets.push(t.postal_codes.len() as u32);
                t.first_school.push(i as u32);
                t.open_schools.push(open as u32);
            }
            i = end;
        }
        t
    }

    pub fn len(&self) -> usize {
        self.insee_code.len()
    }

    /// Index of the commune with this INSEE code.
    pub fn index_of(&self, strings: &Strings, code: &str) -> Option<usize> {
        strings.position(&self.insee_code, code)
    }

    /// Commune `k`'s postal codes (string ids).
    pub fn postal_codes_of(&self, k: usize) -> &[u32] {
        let o = &self.postal_code_offsets;
        &self.postal_codes[o[k] as usize..o[k + 1] as usize]
    }

    /// Commune `k`'s open schools (indices in `SchoolTable`).
    pub fn schools_of(&self, k: usize) -> std::ops::Range<usize> {
        let start = self.first_school[k] as usize;
        start..start + self.open_schools[k] as usize
    }

    /// Read from a snapshot: columns of one length, strings known, school ranges within the
    /// `schools` of the school table.
    pub fn validate(&self, strings: &Strings, schools: usize) -> Result<(), Corrupt> {
        let m = self.len();
        for col in [
            &self.name,
            &self.departement,
            &self.first_school,
            &self.open_schools,
        ] {
            check(
                col.len() == m,
                "colonnes des communes de longueurs différentes",
            )?;
        }
        check(
            self.postal_code_offsets.len() == m + 1
                && offsets(&self.postal_code_offsets, self.postal_codes.len(), None),
            "codes postaux des communes",
        )?;
        check(
            strings.known(&self.insee_code, false)
                && strings.known(&self.name, false)
                && strings.known(&self.departement, false)
                && strings.known(&self.postal_codes, false),
            "chaîne inconnue dans les communes",
        )?;
        check(
            self.first_school
                .iter()
                .zip(&self.open_schools)
                .all(|(&s, &k)| s as usize + k as usize <= schools),
            "écoles d’une commune hors limites",
        )
    }
}
