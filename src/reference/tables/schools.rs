//! Schools, one row each, sorted by INSEE code, open before closed, then name and UAI: a
//! commune's open schools are one contiguous range (see `communes`).

use super::{check, position, prefix_range, table, within, Corrupt, Interner, Strings, NONE};
use crate::domain::school::Ecole;

table! {
    /// Every school of the directory, open or closed.
    pub(crate) struct SchoolTable {
        pub uai: Vec<u32>,
        pub name: Vec<u32>,
        pub nature: Vec<u32>,
        pub status: Vec<u32>,
        pub insee_code: Vec<u32>,
        /// The commune's name as the directory writes it.
        pub commune_name: Vec<u32>,
        pub postal_code: Vec<u32>,
        /// `NONE` when absent.
        pub siren_siret: Vec<u32>,
        /// 1 open, 0 closed.
        pub open: Vec<u32>,
        /// Schools sorted by UAI.
        pub by_uai: Vec<u32>,
        /// Open schools that have a `SIREN_SIRET`, sorted by it.
        pub by_siren: Vec<u32>,
    }
}

impl SchoolTable {
    /// Sorts `ecoles` into table order (what `CommuneTable::build` then reads) and interns
    /// them.
    pub fn build(ecoles: &mut [Ecole], s: &mut Interner) -> SchoolTable {
        ecoles.sort_unstable_by(|a, b| {
            a.code_insee
                .cmp(&b.code_insee)
                .then(b.ouverte.cmp(&a.ouverte))
                .then_with(|| a.nom.cmp(&b.nom))
                .then_with(|| a.uai.cmp(&b.uai))
        });
        let mut t = SchoolTable::default();
        for e in ecoles.iter() {
            t.uai.push(s.id(&e.uai));
            t.name.push(s.id(&e.nom));
            t.nature.push(s.id(&e.nature));
            t.status.push(s.id(&e.statut));
            t.insee_code.push(s.id(&e.code_insee));
            t.commune_name.push(s.id(&e.commune));
            t.postal_code.push(s.id(&e.code_postal));
            t.siren_siret
                .push(e.siren_siret.as_deref().map_or(NONE, |x| s.id(x)));
            t.open.push(u32::from(e.ouverte));
        }
        let strings = s.strings();
        let n = t.len() as u32;
        let mut by_uai: Vec<u32> = (0..n).collect();
        by_uai.sort_by(|&a, &b| {
            strings
                .get(t.uai[a as usize])
                .cmp(strings.get(t.uai[b as usize]))
        });
        let mut by_siren: Vec<u32> = (0..n)
            .filter(|&i| t.open[i as usize] != 0 && t.siren_siret[i as usize] != NONE)
            .collect();
        by_siren.sort_by(|&a, &b| {
            strings
                .get(t.siren_siret[a as usize])
                .cmp(strings.get(t.siren_siret[b as usize]))
                .then(a.cmp(&b))
        });
        (t.by_uai, t.by_siren) = (by_uai, by_siren);
        t
    }

    pub fn len(&self) -> usize {
        self.uai.len()
    }

    /// School `i` as the domain knows it.
    pub fn ecole(&self, strings: &Strings, i: usize) -> Ecole {
        let s = |col: &Vec<u32>| strings.get(col[i]).to_string();
        Ecole {
            uai: s(&self.uai),
            nom: s(&self.name),
            nature: s(&self.nature),
            statut: s(&self.status),
            code_insee: s(&self.insee_code),
            commune: s(&self.commune_name),
            code_postal: s(&self.postal_code),
            siren_siret: strings.opt(self.siren_siret[i]).map(str::to_string),
            ouverte: self.open[i] != 0,
        }
    }

    /// The school that has this UAI.
    pub fn by_uai(&self, strings: &Strings, uai: &str) -> Option<usize> {
        let by_uai = &self.by_uai;
        position(
            by_uai.len(),
            |p| strings.get(self.uai[by_uai[p] as usize]),
            uai,
        )
        .map(|p| by_uai[p] as usize)
    }

    /// Open schools whose `SIREN_SIRET` starts with `siren`, sorted by it.
    pub fn run_by(&self, strings: &Strings, siren: &str) -> Vec<usize> {
        let s = &self.by_siren;
        let found = prefix_range(
            s.len(),
            |p| strings.get(self.siren_siret[s[p] as usize]),
            siren,
        );
        s[found].iter().map(|&i| i as usize).collect()
    }

    /// Read from a snapshot: every column as long as the others, every string and index
    /// known.
    pub fn validate(&self, strings: &Strings) -> Result<(), Corrupt> {
        let n = self.len();
        // The columns of one string each; `uai` is the one the others are measured against.
        let texts = [
            &self.uai,
            &self.name,
            &self.nature,
            &self.status,
            &self.insee_code,
            &self.commune_name,
            &self.postal_code,
        ];
        let others = [&self.siren_siret, &self.open, &self.by_uai];
        for col in texts[1..].iter().chain(&others) {
            check(
                col.len() == n,
                "colonnes des écoles de longueurs différentes",
            )?;
        }
        for col in texts {
            check(strings.known(col, false), "chaîne inconnue dans les écoles")?;
        }
        check(
            strings.known(&self.siren_siret, true),
            "SIREN_SIRET inconnu",
        )?;
        check(
            within(&self.by_uai, n) && within(&self.by_siren, n),
            "index des écoles hors limites",
        )?;
        check(
            self.by_siren
                .iter()
                .all(|&i| self.siren_siret[i as usize] != NONE),
            "index SIREN vers une école sans SIREN",
        )
    }
}
