//! The reference data as columns: each table (schools, communes, collectivités here; the
//! commune search index in `search`) is a struct of `u32` arrays (string ids, indices,
//! offsets) and text, declared with `table!` so that its list of columns is written once and
//! serves writing the snapshot, reading it back and counting memory alike.
//!
//! Every string is stored once for all tables (`Strings`) and referred to by a `u32` id.
//!
//! This module and its tables import nothing of `search` or `snapshot`, which are built on
//! them: the modules of `reference` form no circle.

pub mod collectivites;
pub mod communes;
pub mod schools;

use std::ops::Range;

/// "No string" (a school without `SIREN_SIRET`).
pub(crate) const NONE: u32 = u32::MAX;

/// A column as the snapshot stores it: text, or an array of `u32`.
pub(crate) enum Column<'a> {
    Text(&'a String),
    U32s(&'a Vec<u32>),
}

/// A column to fill when reading a snapshot.
pub(crate) enum ColumnMut<'a> {
    Text(&'a mut String),
    U32s(&'a mut Vec<u32>),
}

/// A table, a table of tables, or one column: its columns, always in the same order (the
/// snapshot's). `Default` is the table with no column read yet, what decoding fills.
pub(crate) trait Columns: Default {
    fn columns(&self) -> Vec<Column<'_>>;
    fn columns_mut(&mut self) -> Vec<ColumnMut<'_>>;

    /// Heap bytes of the columns.
    fn heap_bytes(&self) -> usize {
        self.columns()
            .iter()
            .map(|c| match c {
                Column::Text(s) => s.capacity(),
                Column::U32s(v) => v.capacity() * 4,
            })
            .sum()
    }
}

impl Columns for String {
    fn columns(&self) -> Vec<Column<'_>> {
        vec![Column::Text(self)]
    }

    fn columns_mut(&mut self) -> Vec<ColumnMut<'_>> {
        vec![ColumnMut::Text(self)]
    }
}

impl Columns for Vec<u32> {
    fn columns(&self) -> Vec<Column<'_>> {
        vec![Column::U32s(self)]
    }

    fn columns_mut(&mut self) -> Vec<ColumnMut<'_>> {
        vec![ColumnMut::U32s(self)]
    }
}

/// Declares a table: the struct, and its `Columns` in the order its fields are written, so
/// that the snapshot's reader and writer cannot disagree on which column comes where.
macro_rules! table {
    (
        $(#[$meta:meta])*
        pub(crate) struct $name:ident {
            $($(#[$field_meta:meta])* pub $field:ident: $type:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default, PartialEq)]
        pub(crate) struct $name {
            $($(#[$field_meta])* pub $field: $type,)*
        }

        impl $crate::reference::tables::Columns for $name {
            fn columns(&self) -> Vec<$crate::reference::tables::Column<'_>> {
                let mut columns = Vec::new();
                $(columns.extend($crate::reference::tables::Columns::columns(&self.$field));)*
                columns
            }

            fn columns_mut(&mut self) -> Vec<$crate::reference::tables::ColumnMut<'_>> {
                let mut columns = Vec::new();
                $(columns.extend(
                    $crate::reference::tables::Columns::columns_mut(&mut self.$field)
                );)*
                columns
            }
        }
    };
}
pub(crate) use table;

table! {
    /// Interned strings: id `i` is `blob[offsets[i]..offsets[i + 1]]`.
    pub(crate) struct Strings {
        pub blob: String,
        pub offsets: Vec<u32>,
    }
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

    /// The index in `sorted` (distinct string ids, sorted by their strings) of `s`.
    pub fn position(&self, sorted: &[u32], s: &str) -> Option<usize> {
        position(sorted.len(), |i| self.get(sorted[i]), s)
    }

    /// True when every id is a string of the table (or `NONE`, when `nullable`).
    pub fn known(&self, ids: &[u32], nullable: bool) -> bool {
        let n = self.len() as u32;
        ids.iter().all(|&i| i < n || (nullable && i == NONE))
    }

    /// Read from a snapshot: what every later `get` relies on.
    pub fn validate(&self) -> Result<(), Corrupt> {
        check(
            offsets(&self.offsets, self.blob.len(), Some(&self.blob)),
            "table des chaînes",
        )
    }
}

/// Builds `Strings`, giving one id per distinct string: an open-addressing table of ids whose
/// keys are the strings already in the buffer (no copy of each string as a map key). Ids are
/// given in the order strings are first seen, so the same data gives the same snapshot.
pub(crate) struct Interner {
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
    pub fn new() -> Self {
        Interner {
            slots: vec![NONE; 1 << 10],
            strings: Strings {
                blob: String::new(),
                offsets: vec![0],
            },
        }
    }

    /// The strings given an id so far.
    pub fn strings(&self) -> &Strings {
        &self.strings
    }

    pub fn into_strings(self) -> Strings {
        self.strings
    }

    pub fn id(&mut self, s: &str) -> u32 {
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

/// First index in `lo..hi` where `pred` is false (`pred` true then false over the range).
fn partition_point(lo: usize, hi: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (lo, hi);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The range of `0..n` whose keys (sorted) start with `prefix`.
pub(crate) fn prefix_range<'a>(
    n: usize,
    key: impl Fn(usize) -> &'a str,
    prefix: &str,
) -> Range<usize> {
    let start = partition_point(0, n, |i| key(i) < prefix);
    let end = partition_point(start, n, |i| key(i).starts_with(prefix));
    start..end
}

/// The index in `0..n` whose key (sorted, distinct) is `s`.
pub(crate) fn position<'a>(n: usize, key: impl Fn(usize) -> &'a str, s: &str) -> Option<usize> {
    let i = partition_point(0, n, |i| key(i) < s);
    (i < n && key(i) == s).then_some(i)
}

/// Why tables read from a snapshot do not hold (`snapshot` makes it a `SnapshotError`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Corrupt(pub &'static str);

/// `Ok` when `ok`, else the tables are corrupt for the reason `what`.
pub(crate) fn check(ok: bool, what: &'static str) -> Result<(), Corrupt> {
    if ok {
        Ok(())
    } else {
        Err(Corrupt(what))
    }
}

/// Offsets from 0, non-decreasing, ending at `end`, each on a character boundary of `text`.
pub(crate) fn offsets(o: &[u32], end: usize, text: Option<&str>) -> bool {
    o.first() == Some(&0)
        && o.last().map(|&x| x as usize) == Some(end)
        && o.windows(2).all(|w| w[0] <= w[1])
        && text.is_none_or(|s| o.iter().all(|&x| s.is_char_boundary(x as usize)))
}

/// Every index below `len`.
pub(crate) fn within(v: &[u32], len: usize) -> bool {
    v.iter().all(|&i| (i as usize) < len)
}
