//! The compact form of the reference data: the same tables in memory and in the snapshot the
//! importer writes (`reference/annuaire.bin`), so that a cold start is one read of the bytes
//! into a few arrays, with no parsing of names, no normalisation and no sorting.
//!
//! The tables (`tables::schools`, `tables::communes`, `tables::collectivites`, and the
//! commune search index of `search`) are built at import time by `Tables::build`; this module
//! writes them, reads them back and checks them.
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
//! | 32.. | payload: the text columns, then the `u32` columns, each in the order of `Tables` (its tables, and each table's columns, in the order `table!` declares them); a `u32` array as its length then its items, a string as its byte length then its UTF-8 bytes |
//!
//! Texts before arrays is the layout of format 1, kept so that snapshots already written load
//! as they are; reordering or adding a column changes the format, and `VERSION` with it.
//!
//! A snapshot of another version, truncated, or whose checksum or references do not hold is
//! refused with a `SnapshotError`; nothing of it is used.

use super::decoupage::Collectivites;
use super::search::SearchIndex;
use super::tables::collectivites::CollectiviteTable;
use super::tables::communes::CommuneTable;
use super::tables::schools::SchoolTable;
use super::tables::{table, Column, ColumnMut, Columns, Corrupt, Interner, Strings};
use crate::domain::school::Ecole;

/// First bytes of a snapshot.
pub const MAGIC: &[u8; 8] = b"CONVREF\n";
/// Format version written, and the only one read.
pub const VERSION: u32 = 1;
/// Bytes before the payload.
pub(crate) const HEADER: usize = 32;

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

impl From<Corrupt> for SnapshotError {
    fn from(Corrupt(what): Corrupt) -> Self {
        SnapshotError::Corrupt(what)
    }
}

table! {
    /// The reference data, as the snapshot holds it: the strings every table refers to, then
    /// the tables.
    pub(crate) struct Tables {
        pub strings: Strings,
        pub schools: SchoolTable,
        pub communes: CommuneTable,
        pub index: SearchIndex,
        pub collectivites: CollectiviteTable,
    }
}

impl Tables {
    pub fn str(&self, id: u32) -> &str {
        self.strings.get(id)
    }

    /// School `i` as the domain knows it.
    pub fn ecole(&self, i: usize) -> Ecole {
        self.schools.ecole(&self.strings, i)
    }

    /// Import-time work: interning, the communes that have open schools (named, departement
    /// and postal codes completed from the official list), sorting, the search index.
    pub fn build(mut ecoles: Vec<Ecole>, collectivites: &Collectivites) -> Tables {
        // Strings get their ids in this order: schools, communes, collectivités.
        let mut s = Interner::new();
        let schools = SchoolTable::build(&mut ecoles, &mut s);
        let communes = CommuneTable::build(&ecoles, &collectivites.communes, &mut s);
        let collectivites = CollectiviteTable::build(collectivites, &mut s);
        let strings = s.into_strings();
        let index = SearchIndex::build(&strings, &communes);
        Tables {
            strings,
            schools,
            communes,
            index,
            collectivites,
        }
    }

    /// The snapshot bytes (deterministic: the same data gives the same bytes).
    pub fn encode(&self) -> Vec<u8> {
        let columns = self.columns();
        let mut payload = Vec::with_capacity(self.heap_bytes() + columns.len() * 4);
        let length = |n: usize, out: &mut Vec<u8>| {
            out.extend_from_slice(&(n as u32).to_le_bytes());
        };
        for c in &columns {
            if let Column::Text(s) = c {
                length(s.len(), &mut payload);
                payload.extend_from_slice(s.as_bytes());
            }
        }
        for c in &columns {
            if let Column::U32s(v) = c {
                length(v.len(), &mut payload);
                for x in v.iter() {
                    payload.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        seal(&payload)
    }

    /// Reads a snapshot: header, checksum, tables, then every reference checked, so that no
    /// lookup can go out of bounds afterwards.
    pub fn decode(bytes: &[u8]) -> Result<Tables, SnapshotError> {
        let mut r = Reader(payload(bytes)?);
        let mut t = Tables::default();
        let mut columns = t.columns_mut();
        for c in &mut columns {
            if let ColumnMut::Text(s) = c {
                **s = r.string()?;
            }
        }
        for c in &mut columns {
            if let ColumnMut::U32s(v) = c {
                **v = r.u32s()?;
            }
        }
        if !r.0.is_empty() {
            return Err(SnapshotError::Corrupt("octets en trop après les tables"));
        }
        t.validate()?;
        Ok(t)
    }

    /// Each table's checks, in file order; a table's checks rely on those of the tables
    /// before it (the strings, the number of schools and of communes).
    fn validate(&self) -> Result<(), Corrupt> {
        let strings = &self.strings;
        strings.validate()?;
        self.schools.validate(strings)?;
        self.communes.validate(strings, self.schools.len())?;
        self.index.validate(strings, self.communes.len())?;
        self.collectivites.validate(strings)
    }
}

/// The payload of a snapshot, once its header (magic, version, length) and checksum hold.
fn payload(bytes: &[u8]) -> Result<&[u8], SnapshotError> {
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
    Ok(payload)
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
pub(crate) mod tests;
