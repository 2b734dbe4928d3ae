//! Collectivités by SIREN: the communes of the official list (those that have schools, open or
//! not) and the EPCI that contain one of them, with their members.

use super::{check, offsets, table, Corrupt, Interner, Strings};
use crate::reference::decoupage::{Collectivites, CommuneRef};

table! {
    /// Communes and EPCI, each sorted by SIREN.
    pub(crate) struct CollectiviteTable {
        pub commune_siren: Vec<u32>,
        pub commune_name: Vec<u32>,
        pub commune_insee_code: Vec<u32>,
        pub epci_siren: Vec<u32>,
        pub epci_name: Vec<u32>,
        /// CC, CA, CU, METRO…
        pub epci_kind: Vec<u32>,
        /// EPCI `k`'s members (INSEE codes) are
        /// `epci_members[epci_member_offsets[k]..epci_member_offsets[k + 1]]`.
        pub epci_member_offsets: Vec<u32>,
        pub epci_members: Vec<u32>,
    }
}

impl CollectiviteTable {
    pub fn build(collectivites: &Collectivites, s: &mut Interner) -> CollectiviteTable {
        let mut t = CollectiviteTable {
            epci_member_offsets: vec![0],
            ..CollectiviteTable::default()
        };
        let mut communes: Vec<&CommuneRef> = collectivites.communes.iter().collect();
        communes.sort_by(|a, b| a.siren.cmp(&b.siren));
        for c in communes {
            t.commune_siren.push(s.id(&c.siren));
            t.commune_name.push(s.id(&c.nom));
            t.commune_insee_code.push(s.id(&c.code_insee));
        }
        let mut epcis: Vec<_> = collectivites.epcis.iter().collect();
        epcis.sort_by(|a, b| a.siren.cmp(&b.siren));
        for e in epcis {
            t.epci_siren.push(s.id(&e.siren));
            t.epci_name.push(s.id(&e.nom));
            t.epci_kind.push(s.id(&e.nature));
            t.epci_members.extend(e.membres.iter().map(|m| s.id(m)));
            t.epci_member_offsets.push(t.epci_members.len() as u32);
        }
        t
    }

    /// Index of the commune that has this SIREN.
    pub fn commune(&self, strings: &Strings, siren: &str) -> Option<usize> {
        strings.position(&self.commune_siren, siren)
    }

    /// Index of the EPCI that has this SIREN.
    pub fn epci(&self, strings: &Strings, siren: &str) -> Option<usize> {
        strings.position(&self.epci_siren, siren)
    }

    /// EPCI `k`'s member communes (INSEE codes, string ids).
    pub fn members_of(&self, k: usize) -> &[u32] {
        let o = &self.epci_member_offsets;
        &self.epci_members[o[k] as usize..o[k + 1] as usize]
    }

    /// Read from a snapshot: columns of one length, strings known.
    pub fn validate(&self, strings: &Strings) -> Result<(), Corrupt> {
        let r = self.commune_siren.len();
        check(
            self.commune_name.len() == r
                && self.commune_insee_code.len() == r
                && strings.known(&self.commune_siren, false)
                && strings.known(&self.commune_name, false)
                && strings.known(&self.commune_insee_code, false),
            "communes des collectivités",
        )?;
        let e = self.epci_siren.len();
        check(
            self.epci_name.len() == e
                && self.epci_kind.len() == e
                && self.epci_member_offsets.len() == e + 1
                && offsets(&self.epci_member_offsets, self.epci_members.len(), None)
                && strings.known(&self.epci_siren, false)
                && strings.known(&self.epci_name, false)
                && strings.known(&self.epci_kind, false)
                && strings.known(&self.epci_members, false),
            "EPCI",
        )
    }
}
