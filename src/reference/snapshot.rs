//! The compact form of the reference data: the same tables in memory and in the snapshot the
//! importer writes (`reference/annuaire.bin`), so that a cold start is one read of the bytes
//! into a few arrays, with no parsing of names, no normalisation and no sorting.
//!
//! Every string is stored once (interned) in one buffer and referred to by a `u32` id; schools
//! are sorted by commune, open ones first, then by name, so that a commune's schools are one
//! contiguous range; the commune search index (normalised names, word starts, postal codes) is
//! built at import time.
//!
//! File layout, little-endian:
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | magic `CONVREF\n` |
//! | 8..12 | format version (`VERSION`) |
//! | 12..16 | reserved, 0 (anything else is refused) |
//! | 16..24 | length of the payload |
//! | 24..32 | checksum of the payload |
//! | 32.. | payload: each table in the order of `Tables::encode`, a `u32` array as its length then its items, a string as its byte length then its UTF-8 bytes |
//!
//! A snapshot of another version, truncated, or whose checksum or references do not hold is
//! refused with a `SnapshotError`; nothing of it is used.

use super::decoupage::{Collectivites, CommuneRef};
use super::{departement_of, search, search_key};
use crate::domain::school::Ecole;
use std::collections::HashMap;

/// First bytes of a snapshot.
pub const MAGIC: &[u8; 8] = b"CONVREF\n";
/// Format version written, and the only one read.
pub const VERSION: u32 = 1;
const HEADER: usize = 32;
/// "No string" (a school without `SIREN_SIRET`).
pub(crate) const NONE: u32 = u32::MAX;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("ce n’est pas un instantané de données de référence (signature absente)")]
    NotASnapshot,
    #[error(
        "instantané au format {found}, or ce programme ne lit que le format {supported} : \
         déployez la version des fonctions qui l’a écrit, ou relancez l’import de l’export \
         complet avec celle-ci (admin import-annuaire <fichier> --base-vide)"
    )]
    Version { found: u32, supported: u32 },
    #[error("instantané tronqué : {got} octets sur {expected}")]
    Truncated { got: u64, expected: u64 },
    #[error("instantané corrompu : {0}")]
    Corrupt(&'static str),
}

/// Interned strings: id `i` is `blob[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, PartialEq)]
pub(crate) struct Strings {
    blob: String,
    offsets: Vec<u32>,
}

impl Strings {
    pub fn get(&self, id: u32) -> &str {
        let i = id as usize;
        &self.blob[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    pub fn opt(&self, id: u32) -> Option<&str> {
        (id != NONE).then(|| self.get(id))
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }
}

/// Builds `Strings`, giving one id per distinct string: an open-addressing table of ids whose
/// keys are the strings already in the buffer (no copy of each string as a map key).
struct Interner {
    slots: Vec<u32>,
    strings: Strings,
}

fn hash(s: &str) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = s.len() as u64;
    let mut words = s.as_bytes().chunks_exact(8);
    for w in &mut words {
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w.try_into().unwrap())).wrapping_mul(K);
    }
    let mut last = [0u8; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    h = (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K);
    h ^ (h >> 32)
}

impl Interner {
    fn new() -> Self {
        Interner {
            slots: vec![NONE; 1 << 10],
            strings: Strings {
                blob: String::new(),
                offsets: vec![0],
            },
        }
    }

    fn id(&mut self, s: &str) -> u32 {
        let mask = self.slots.len() - 1;
        let mut at = hash(s) as usize & mask;
        loop {
            match self.slots[at] {
                NONE => break,
                id if self.strings.get(id) == s => return id,
                _ => at = (at + 1) & mask,
            }
        }
        let id = self.strings.len() as u32;
        self.strings.blob.push_str(s);
        self.strings.offsets.push(self.strings.blob.len() as u32);
        self.slots[at] = id;
        if self.strings.len() * 2 > self.slots.len() {
            self.grow();
        }
        id
    }

    fn grow(&mut self) {
        let mut slots = vec![NONE; self.slots.len() * 2];
        let mask = slots.len() - 1;
        for id in 0..self.strings.len() as u32 {
            let mut at = hash(self.strings.get(id)) as usize & mask;
            while slots[at] != NONE {
                at = (at + 1) & mask;
            }
            slots[at] = id;
        }
        self.slots = slots;
    }
}

/// The reference data as columns of string ids and indices.
#[derive(Debug, PartialEq)]
pub(crate) struct Tables {
    pub strings: Strings,

    // Schools, sorted by INSEE code, open before closed, then name and UAI.
    pub uai: Vec<u32>,
    pub nom: Vec<u32>,
    pub nature: Vec<u32>,
    pub statut: Vec<u32>,
    pub code_insee: Vec<u32>,
    pub commune: Vec<u32>,
    pub code_postal: Vec<u32>,
    /// `NONE` when absent.
    pub siren_siret: Vec<u32>,
    /// 1 open, 0 closed.
    pub ouverte: Vec<u32>,
    /// Schools sorted by UAI.
    pub by_uai: Vec<u32>,
    /// Open schools that have a `SIREN_SIRET`, sorted by it.
    pub by_siren: Vec<u32>,

    // Communes that have open schools, sorted by INSEE code.
    pub c_code: Vec<u32>,
    pub c_nom: Vec<u32>,
    pub c_departement: Vec<u32>,
    /// Commune `k`'s postal codes are `cps[c_cp[k]..c_cp[k + 1]]` (sorted).
    pub c_cp: Vec<u32>,
    pub cps: Vec<u32>,
    /// Commune `k`'s open schools are `c_ecoles[k]..c_ecoles[k] + c_nb[k]`.
    pub c_ecoles: Vec<u32>,
    pub c_nb: Vec<u32>,

    // Commune search (see `search`).
    /// Every commune's search key followed by '\n', in commune order.
    pub haystack: String,
    /// Commune `k`'s key is `haystack[key_start[k]..key_start[k + 1] - 1]`.
    pub key_start: Vec<u32>,
    /// Communes sorted by search key.
    pub names: Vec<u32>,
    /// Ranking among equally good matches: communes sorted by number of open schools
    /// (descending) then name, and each commune's position in that order.
    pub by_rank: Vec<u32>,
    pub c_rank: Vec<u32>,
    /// (commune, byte offset of a word after the first in its key), sorted by the key's rest.
    pub word_commune: Vec<u32>,
    pub word_at: Vec<u32>,
    /// (commune, postal code), sorted by postal code.
    pub postal_commune: Vec<u32>,
    pub postal_cp: Vec<u32>,

    // Collectivités: communes (all those that have schools) and EPCI, each sorted by SIREN.
    pub r_siren: Vec<u32>,
    pub r_nom: Vec<u32>,
    pub r_code: Vec<u32>,
    pub e_siren: Vec<u32>,
    pub e_nom: Vec<u32>,
    /// CC, CA, CU, METRO…
    pub e_nature: Vec<u32>,
    /// EPCI `k`'s members (INSEE codes) are `membres[e_membres[k]..e_membres[k + 1]]`.
    pub e_membres: Vec<u32>,
    pub membres: Vec<u32>,
}

impl Tables {
    pub fn str(&self, id: u32) -> &str {
        self.strings.get(id)
    }

    pub fn schools(&self) -> usize {
        self.uai.len()
    }

    pub fn communes(&self) -> usize {
        self.c_code.len()
    }

    /// Commune `k`'s search key.
    pub fn key(&self, k: usize) -> &str {
        &self.haystack[self.key_start[k] as usize..self.key_start[k + 1] as usize - 1]
    }

    /// Index of the commune with this INSEE code.
    pub fn commune_index(&self, code: &str) -> Option<usize> {
        let i = self.c_code.partition_point(|&id| self.str(id) < code);
        (i < self.communes() && self.str(self.c_code[i]) == code).then_some(i)
    }

    /// School `i` as the domain knows it.
    pub fn ecole(&self, i: usize) -> Ecole {
        let s = |col: &Vec<u32>| self.str(col[i]).to_string();
        Ecole {
            uai: s(&self.uai),
            nom: s(&self.nom),
            nature: s(&self.nature),
            statut: s(&self.statut),
            code_insee: s(&self.code_insee),
            commune: s(&self.commune),
            code_postal: s(&self.code_postal),
            siren_siret: self.strings.opt(self.siren_siret[i]).map(str::to_string),
            ouverte: self.ouverte[i] != 0,
        }
    }

    /// Import-time work: interning, the communes that have open schools (named, departement
    /// and postal codes completed from the official list), sorting, the search index.
    pub fn build(mut ecoles: Vec<Ecole>, collectivites: &Collectivites) -> Tables {
        ecoles.sort_unstable_by(|a, b| {
            a.code_insee
                .cmp(&b.code_insee)
                .then(b.ouverte.cmp(&a.ouverte))
                .then_with(|| a.nom.cmp(&b.nom))
                .then_with(|| a.uai.cmp(&b.uai))
        });
        let official: HashMap<&str, &CommuneRef> = collectivites
            .communes
            .iter()
            .map(|c| (c.code_insee.as_str(), c))
            .collect();
        let mut s = Interner::new();
        let mut t = Tables::empty();
        for e in &ecoles {
            t.uai.push(s.id(&e.uai));
            t.nom.push(s.id(&e.nom));
            t.nature.push(s.id(&e.nature));
            t.statut.push(s.id(&e.statut));
            t.code_insee.push(s.id(&e.code_insee));
            t.commune.push(s.id(&e.commune));
            t.code_postal.push(s.id(&e.code_postal));
            t.siren_siret
                .push(e.siren_siret.as_deref().map_or(NONE, |x| s.id(x)));
            t.ouverte.push(u32::from(e.ouverte));
        }
        let mut keys = Vec::new();
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
                t.c_code.push(s.id(code));
                t.c_nom.push(s.id(nom));
                t.c_departement.push(s.id(&departement));
                t.cps.extend(cps.into_iter().map(|cp| s.id(cp)));
                t.c_cp.push(t.cps.len() as u32);
                t.c_ecoles.push(i as u32);
                t.c_nb.push(open as u32);
                keys.push(search_key(nom));
            }
            i = end;
        }
        let mut refs: Vec<&CommuneRef> = collectivites.communes.iter().collect();
        refs.sort_by(|a, b| a.siren.cmp(&b.siren));
        for c in refs {
            t.r_siren.push(s.id(&c.siren));
            t.r_nom.push(s.id(&c.nom));
            t.r_code.push(s.id(&c.code_insee));
        }
        let mut epcis: Vec<_> = collectivites.epcis.iter().collect();
        epcis.sort_by(|a, b| a.siren.cmp(&b.siren));
        for e in epcis {
            t.e_siren.push(s.id(&e.siren));
            t.e_nom.push(s.id(&e.nom));
            t.e_nature.push(s.id(&e.nature));
            t.membres.extend(e.membres.iter().map(|m| s.id(m)));
            t.e_membres.push(t.membres.len() as u32);
        }
        t.strings = s.strings;
        let n = t.schools() as u32;
        let mut by_uai: Vec<u32> = (0..n).collect();
        by_uai.sort_by(|&a, &b| t.str(t.uai[a as usize]).cmp(t.str(t.uai[b as usize])));
        let mut by_siren: Vec<u32> = (0..n)
            .filter(|&i| t.ouverte[i as usize] != 0 && t.siren_siret[i as usize] != NONE)
            .collect();
        by_siren.sort_by(|&a, &b| {
            t.str(t.siren_siret[a as usize])
                .cmp(t.str(t.siren_siret[b as usize]))
                .then(a.cmp(&b))
        });
        (t.by_uai, t.by_siren) = (by_uai, by_siren);
        search::build(&mut t, &keys);
        t
    }

    fn empty() -> Tables {
        Tables {
            strings: Strings {
                blob: String::new(),
                offsets: vec![0],
            },
            uai: Vec::new(),
            nom: Vec::new(),
            nature: Vec::new(),
            statut: Vec::new(),
            code_insee: Vec::new(),
            commune: Vec::new(),
            code_postal: Vec::new(),
            siren_siret: Vec::new(),
            ouverte: Vec::new(),
            by_uai: Vec::new(),
            by_siren: Vec::new(),
            c_code: Vec::new(),
            c_nom: Vec::new(),
            c_departement: Vec::new(),
            c_cp: vec![0],
            cps: Vec::new(),
            c_ecoles: Vec::new(),
            c_nb: Vec::new(),
            haystack: String::new(),
            key_start: vec![0],
            names: Vec::new(),
            by_rank: Vec::new(),
            c_rank: Vec::new(),
            word_commune: Vec::new(),
            word_at: Vec::new(),
            postal_commune: Vec::new(),
            postal_cp: Vec::new(),
            r_siren: Vec::new(),
            r_nom: Vec::new(),
            r_code: Vec::new(),
            e_siren: Vec::new(),
            e_nom: Vec::new(),
            e_nature: Vec::new(),
            e_membres: vec![0],
            membres: Vec::new(),
        }
    }

    /// The `u32` tables, in file order.
    fn columns(&self) -> [&Vec<u32>; 35] {
        [
            &self.strings.offsets,
            &self.uai,
            &self.nom,
            &self.nature,
            &self.statut,
            &self.code_insee,
            &self.commune,
            &self.code_postal,
            &self.siren_siret,
            &self.ouverte,
            &self.by_uai,
            &self.by_siren,
            &self.c_code,
            &self.c_nom,
            &self.c_departement,
            &self.c_cp,
            &self.cps,
            &self.c_ecoles,
            &self.c_nb,
            &self.key_start,
            &self.names,
            &self.by_rank,
            &self.c_rank,
            &self.word_commune,
            &self.word_at,
            &self.postal_commune,
            &self.postal_cp,
            &self.r_siren,
            &self.r_nom,
            &self.r_code,
            &self.e_siren,
            &self.e_nom,
            &self.e_nature,
            &self.e_membres,
            &self.membres,
        ]
    }

    fn columns_mut(&mut self) -> [&mut Vec<u32>; 35] {
        [
            &mut self.strings.offsets,
            &mut self.uai,
            &mut self.nom,
            &mut self.nature,
            &mut self.statut,
            &mut self.code_insee,
            &mut self.commune,
            &mut self.code_postal,
            &mut self.siren_siret,
            &mut self.ouverte,
            &mut self.by_uai,
            &mut self.by_siren,
            &mut self.c_code,
            &mut self.c_nom,
            &mut self.c_departement,
            &mut self.c_cp,
            &mut self.cps,
            &mut self.c_ecoles,
            &mut self.c_nb,
            &mut self.key_start,
            &mut self.names,
            &mut self.by_rank,
            &mut self.c_rank,
            &mut self.word_commune,
            &mut self.word_at,
            &mut self.postal_commune,
            &mut self.postal_cp,
            &mut self.r_siren,
            &mut self.r_nom,
            &mut self.r_code,
            &mut self.e_siren,
            &mut self.e_nom,
            &mut self.e_nature,
            &mut self.e_membres,
            &mut self.membres,
        ]
    }

    /// Heap bytes of the tables.
    pub fn heap_bytes(&self) -> usize {
        self.columns()
            .iter()
            .map(|c| c.capacity() * 4)
            .sum::<usize>()
            + self.strings.blob.capacity()
            + self.haystack.capacity()
    }

    /// The snapshot bytes (deterministic: the same data gives the same bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut payload = Vec::with_capacity(self.heap_bytes() + 35 * 4 + 8);
        let string = |s: &str, out: &mut Vec<u8>| {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        string(&self.strings.blob, &mut payload);
        string(&self.haystack, &mut payload);
        for c in self.columns() {
            payload.extend_from_slice(&(c.len() as u32).to_le_bytes());
            for x in c {
                payload.extend_from_slice(&x.to_le_bytes());
            }
        }
        seal(&payload)
    }

    /// Reads a snapshot: header, checksum, tables, then every reference checked, so that no
    /// lookup can go out of bounds afterwards.
    pub fn decode(bytes: &[u8]) -> Result<Tables, SnapshotError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        if bytes.len() < HEADER {
            return Err(SnapshotError::Truncated {
                got: bytes.len() as u64,
                expected: HEADER as u64,
            });
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let version = u32_at(8);
        if version != VERSION {
            return Err(SnapshotError::Version {
                found: version,
                supported: VERSION,
            });
        }
        if u32_at(12) != 0 {
            return Err(SnapshotError::Corrupt("en-tête : champ réservé non nul"));
        }
        let expected = (HEADER as u64).saturating_add(u64_at(16));
        if (bytes.len() as u64) < expected {
            return Err(SnapshotError::Truncated {
                got: bytes.len() as u64,
                expected,
            });
        }
        if bytes.len() as u64 > expected {
            return Err(SnapshotError::Corrupt("octets en trop après les données"));
        }
        let payload = &bytes[HEADER..];
        if checksum(payload) != u64_at(24) {
            return Err(SnapshotError::Corrupt("somme de contrôle fausse"));
        }
        let mut r = Reader(payload);
        let mut t = Tables::empty();
        t.strings.blob = r.string()?;
        t.haystack = r.string()?;
        for c in t.columns_mut() {
            *c = r.u32s()?;
        }
        if !r.0.is_empty() {
            return Err(SnapshotError::Corrupt("octets en trop après les tables"));
        }
        t.validate()?;
        Ok(t)
    }

    fn validate(&self) -> Result<(), SnapshotError> {
        fn check(ok: bool, what: &'static str) -> Result<(), SnapshotError> {
            if ok {
                Ok(())
            } else {
                Err(SnapshotError::Corrupt(what))
            }
        }
        /// Offsets from 0, non-decreasing, ending at `end`, each on a character boundary.
        fn offsets(o: &[u32], end: usize, text: Option<&str>) -> bool {
            o.first() == Some(&0)
                && o.last().map(|&x| x as usize) == Some(end)
                && o.windows(2).all(|w| w[0] <= w[1])
                && text.is_none_or(|s| o.iter().all(|&x| s.is_char_boundary(x as usize)))
        }
        let o = &self.strings.offsets;
        check(
            offsets(o, self.strings.blob.len(), Some(&self.strings.blob)),
            "table des chaînes",
        )?;
        let n_str = self.strings.len() as u32;
        let ids =
            |v: &[u32], nullable: bool| v.iter().all(|&i| i < n_str || (nullable && i == NONE));
        let n = self.schools();
        for col in [
            &self.nom,
            &self.nature,
            &self.statut,
            &self.code_insee,
            &self.commune,
            &self.code_postal,
            &self.siren_siret,
            &self.ouverte,
            &self.by_uai,
        ] {
            check(
                col.len() == n,
                "colonnes des écoles de longueurs différentes",
            )?;
        }
        for col in [
            &self.uai,
            &self.nom,
            &self.nature,
            &self.statut,
            &self.code_insee,
            &self.commune,
            &self.code_postal,
        ] {
            check(ids(col, false), "chaîne inconnue dans les écoles")?;
        }
        check(ids(&self.siren_siret, true), "SIREN_SIRET inconnu")?;
        let within = |v: &[u32], len: usize| v.iter().all(|&i| (i as usize) < len);
        check(
            within(&self.by_uai, n) && within(&self.by_siren, n),
            "index des écoles hors limites",
        )?;
        check(
            self.by_siren
                .iter()
                .all(|&i| self.siren_siret[i as usize] != NONE),
            "index SIREN vers une école sans SIREN",
        )?;

        let m = self.communes();
        for col in [&self.c_nom, &self.c_departement, &self.c_ecoles, &self.c_nb] {
            check(
                col.len() == m,
                "colonnes des communes de longueurs différentes",
            )?;
        }
        check(
            self.c_cp.len() == m + 1 && offsets(&self.c_cp, self.cps.len(), None),
            "codes postaux des communes",
        )?;
        check(
            ids(&self.c_code, false)
                && ids(&self.c_nom, false)
                && ids(&self.c_departement, false)
                && ids(&self.cps, false),
            "chaîne inconnue dans les communes",
        )?;
        check(
            self.c_ecoles
                .iter()
                .zip(&self.c_nb)
                .all(|(&s, &k)| s as usize + k as usize <= n),
            "écoles d’une commune hors limites",
        )?;

        check(
            self.key_start.len() == m + 1
                && offsets(&self.key_start, self.haystack.len(), Some(&self.haystack))
                && self.key_start[1..]
                    .iter()
                    .zip(&self.key_start)
                    .all(|(&end, &start)| {
                        end > start && self.haystack.as_bytes()[end as usize - 1] == b'\n'
                    }),
            "clés de recherche",
        )?;
        check(
            [&self.names, &self.by_rank, &self.c_rank]
                .iter()
                .all(|v| v.len() == m && within(v, m)),
            "index des noms",
        )?;
        check(
            self.word_commune.len() == self.word_at.len()
                && within(&self.word_commune, m)
                && self
                    .word_commune
                    .iter()
                    .zip(&self.word_at)
                    .all(|(&k, &at)| {
                        let key = self.key(k as usize);
                        (at as usize) <= key.len() && key.is_char_boundary(at as usize)
                    }),
            "index des mots",
        )?;
        check(
            self.postal_commune.len() == self.postal_cp.len()
                && within(&self.postal_commune, m)
                && ids(&self.postal_cp, false),
            "index des codes postaux",
        )?;

        let r = self.r_siren.len();
        check(
            self.r_nom.len() == r
                && self.r_code.len() == r
                && ids(&self.r_siren, false)
                && ids(&self.r_nom, false)
                && ids(&self.r_code, false),
            "communes des collectivités",
        )?;
        let e = self.e_siren.len();
        check(
            self.e_nom.len() == e
                && self.e_nature.len() == e
                && self.e_membres.len() == e + 1
                && offsets(&self.e_membres, self.membres.len(), None)
                && ids(&self.e_siren, false)
                && ids(&self.e_nom, false)
                && ids(&self.e_nature, false)
                && ids(&self.membres, false),
            "EPCI",
        )
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        if self.0.len() < n {
            return Err(SnapshotError::Corrupt("table plus longue que le fichier"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn len(&mut self) -> Result<usize, SnapshotError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()) as usize)
    }

    fn string(&mut self) -> Result<String, SnapshotError> {
        let n = self.len()?;
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| SnapshotError::Corrupt("texte qui n’est pas de l’UTF-8"))
    }

    fn u32s(&mut self) -> Result<Vec<u32>, SnapshotError> {
        let n = self.len()?;
        let bytes = self.take(n.saturating_mul(4))?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect())
    }
}

/// A snapshot of `payload`: the header (magic, version, length, checksum) then the payload.
/// Public for the fuzz target, which seals arbitrary payloads to test the checks behind the
/// checksum.
pub fn seal(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&checksum(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// 64-bit checksum of the payload: any change of one 8-byte word changes it (each step is a
/// bijection of the state); not a defence against tampering, which the bucket's access is.
fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let step = |h: u64, w: u64| (h ^ w).wrapping_mul(K).rotate_left(31);
    let mut h = 0x243F_6A88_85A3_08D3 ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h = step(h, u64::from_le_bytes(w.try_into().unwrap()));
    }
    let mut last = [0u8; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    h = step(h, u64::from_le_bytes(last));
    h ^ (h >> 29)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::decoupage::EpciRef;

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

    fn sample() -> Tables {
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
        assert_eq!(back.str(back.c_nom[0]), "Baulon", "official name");
        assert_eq!(back.c_nb[0], 1, "closed school not counted");
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

    /// Any byte of the payload changed and the checksum recomputed (what a buggy writer could
    /// produce): refused, or accepted and then every lookup answers without panicking.
    #[test]
    fn resealed_mutations_never_panic() {
        use crate::domain::school::SchoolDirectory;
        let bytes = sample().encode();
        for at in HEADER..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut b = bytes.clone();
                b[at] ^= bit;
                let sum = checksum(&b[HEADER..]);
                b[24..32].copy_from_slice(&sum.to_le_bytes());
                let Ok(d) = crate::reference::Directory::from_snapshot(&b) else {
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
                    let _ = d.ecole(&crate::domain::uai::Uai::parse(uai).unwrap());
                }
                let _ = (d.ecoles(), d.commune("35016"), d.to_snapshot());
            }
        }
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
        t.nom[1] = 999;
        assert_eq!(
            Tables::decode(&reseal(&t)),
            Err(SnapshotError::Corrupt("chaîne inconnue dans les écoles"))
        );
        let mut t = sample();
        t.c_nb[0] = 10;
        assert!(Tables::decode(&reseal(&t)).is_err());
        let mut t = sample();
        t.strings.offsets[1] = t.strings.blob.len() as u32 + 1;
        assert!(Tables::decode(&reseal(&t)).is_err());
        let mut t = sample();
        t.word_at.push(0);
        assert!(Tables::decode(&reseal(&t)).is_err());
        let mut t = sample();
        t.haystack.push('x');
        assert!(Tables::decode(&reseal(&t)).is_err());
    }
}
