//! Commune search in microseconds: sorted index arrays searched by binary search (full names,
//! names from each word, postal codes), a linear scan only for "contains" when the better
//! ranks did not fill the page. The index is built at import time (`SearchIndex::build`) and
//! shipped in the snapshot; loading it needs no normalisation and no sorting.

use super::tables::communes::CommuneTable;
use super::tables::{check, offsets, prefix_range, table, within, Corrupt, Strings};

/// Lowercase, accents removed, hyphens and apostrophes as spaces, "st"/"ste" as
/// "saint"/"sainte": the form names are compared in.
pub fn search_key(s: &str) -> String {
    let folded: String = s
        .chars()
        .flat_map(|c| c.to_lowercase())
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ÿ' => 'y',
            'ç' => 'c',
            'œ' => 'o',
            '-' | '\'' | '’' | '.' | ',' => ' ',
            c => c,
        })
        .collect();
    folded
        .split_whitespace()
        .map(|w| match w {
            "st" => "saint",
            "ste" => "sainte",
            w => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

table! {
    /// The commune search index, over the communes of a `CommuneTable` (commune `k` here is
    /// commune `k` there).
    pub(crate) struct SearchIndex {
        /// Every commune's search key followed by '\n', in commune order.
        pub keys: String,
        /// Commune `k`'s key is `keys[key_offsets[k]..key_offsets[k + 1] - 1]`.
        pub key_offsets: Vec<u32>,
        /// Communes sorted by search key.
        pub by_key: Vec<u32>,
        /// Ranking among equally good matches: communes sorted by number of open schools
        /// (descending) then name, and each commune's position in that order.
        pub by_rank: Vec<u32>,
        pub rank: Vec<u32>,
        /// (commune, byte offset of a word after the first in its key), sorted by the key's
        /// rest.
        pub word_commune: Vec<u32>,
        pub word_offset: Vec<u32>,
        /// (commune, postal code), sorted by postal code.
        pub postal_commune: Vec<u32>,
        pub postal_code: Vec<u32>,
    }
}

impl SearchIndex {
    /// Commune `k`'s search key.
    pub fn key(&self, k: usize) -> &str {
        &self.keys[self.key_offsets[k] as usize..self.key_offsets[k + 1] as usize - 1]
    }

    /// Import time: the search keys of the communes (in commune order), and the sorted name,
    /// word and postal code indices.
    pub fn build(strings: &Strings, communes: &CommuneTable) -> SearchIndex {
        let n = communes.len();
        let names: Vec<String> = (0..n)
            .map(|k| search_key(strings.get(communes.name[k])))
            .collect();
        let mut keys = String::with_capacity(names.iter().map(|k| k.len() + 1).sum());
        let mut key_offsets = Vec::with_capacity(n + 1);
        let mut words: Vec<(u32, u32)> = Vec::new();
        let mut postal: Vec<(u32, u32)> = Vec::new();
        for (k, name) in names.iter().enumerate() {
            key_offsets.push(keys.len() as u32);
            keys.push_str(name);
            keys.push('\n');
            for (pos, _) in name.match_indices(' ') {
                words.push((k as u32, pos as u32 + 1));
            }
            for &cp in communes.postal_codes_of(k) {
                postal.push((k as u32, cp));
            }
        }
        key_offsets.push(keys.len() as u32);
        let mut t = SearchIndex {
            keys,
            key_offsets,
            ..SearchIndex::default()
        };
        let key = |k: u32| t.key(k as usize);
        let mut by_key: Vec<u32> = (0..n as u32).collect();
        by_key.sort_by(|&a, &b| key(a).cmp(key(b)).then(a.cmp(&b)));
        words.sort_by(|&(a, i), &(b, j)| {
            key(a)[i as usize..]
                .cmp(&key(b)[j as usize..])
                .then(a.cmp(&b))
        });
        postal.sort_by(|&(a, x), &(b, y)| strings.get(x).cmp(strings.get(y)).then(a.cmp(&b)));
        // Ranking order among equals: more schools first, then name.
        let name = |k: usize| strings.get(communes.name[k]);
        let mut by_rank: Vec<u32> = (0..n as u32).collect();
        by_rank.sort_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            communes.open_schools[b]
                .cmp(&communes.open_schools[a])
                .then_with(|| name(a).cmp(name(b)))
                .then(a.cmp(&b))
        });
        t.rank = vec![0; n];
        for (r, &k) in by_rank.iter().enumerate() {
            t.rank[k as usize] = r as u32;
        }
        t.by_rank = by_rank;
        t.by_key = by_key;
        (t.word_commune, t.word_offset) = words.into_iter().unzip();
        (t.postal_commune, t.postal_code) = postal.into_iter().unzip();
        t
    }

    /// Communes (indices in `communes`, which the index was built over), best first: exact
    /// name > name prefix > word prefix > contains, ties by number of schools then name; or by
    /// postal code / INSEE code for digits.
    pub fn search(
        &self,
        strings: &Strings,
        communes: &CommuneTable,
        q: &str,
        limit: usize,
    ) -> Vec<u32> {
        let q = q.trim();
        if q.is_empty() || limit == 0 {
            return Vec::new();
        }
        let mut hits: Vec<(u8, u32)> = Vec::new();
        let mut seen = vec![false; communes.len()];
        let mut take = |rank: u8, i: u32, hits: &mut Vec<(u8, u32)>| {
            if !std::mem::replace(&mut seen[i as usize], true) {
                hits.push((rank, i));
            }
        };
        let digits = q.chars().all(|c| c.is_ascii_digit());
        let corsica = q.len() == 5
            && q.get(..2)
                .is_some_and(|d| d.eq_ignore_ascii_case("2a") || d.eq_ignore_ascii_case("2b"))
            && q[2..].bytes().all(|b| b.is_ascii_digit());
        if digits || corsica {
            let upper = q.to_ascii_uppercase();
            if let Some(i) = communes.index_of(strings, &upper) {
                take(0, i as u32, &mut hits);
            }
            let postal = |p: usize| strings.get(self.postal_code[p]);
            for p in prefix_range(self.postal_code.len(), postal, q) {
                take(1, self.postal_commune[p], &mut hits);
            }
        } else {
            let key = search_key(q);
            if key.is_empty() {
                return Vec::new();
            }
            let by_key = &self.by_key;
            for p in prefix_range(by_key.len(), |p| self.key(by_key[p] as usize), &key) {
                let i = by_key[p] as usize;
                // Its key starts with `key`: equal when as long.
                let len = self.key_offsets[i + 1] - self.key_offsets[i] - 1;
                take(u8::from(len as usize != key.len()), i as u32, &mut hits);
            }
            // Word prefixes rank after every name prefix: not needed once those fill the page.
            if hits.len() < limit {
                let word = |p: usize| {
                    &self.key(self.word_commune[p] as usize)[self.word_offset[p] as usize..]
                };
                for p in prefix_range(self.word_commune.len(), word, &key) {
                    take(2, self.word_commune[p], &mut hits);
                }
            }
            if hits.len() < limit {
                for at in memchr::memmem::find_iter(self.keys.as_bytes(), key.as_bytes()) {
                    let i = self.key_offsets.partition_point(|&s| s as usize <= at) - 1;
                    take(3, i as u32, &mut hits);
                }
            }
        }
        // Rank, then the commune's precomputed order (schools, name): unique keys.
        let mut keys: Vec<u64> = hits
            .into_iter()
            .map(|(rank, i)| u64::from(rank) << 32 | u64::from(self.rank[i as usize]))
            .collect();
        if keys.len() > limit {
            keys.select_nth_unstable(limit - 1);
            keys.truncate(limit);
        }
        keys.sort_unstable();
        keys.into_iter()
            .map(|k| self.by_rank[(k & u64::from(u32::MAX)) as usize])
            .collect()
    }

    /// Read from a snapshot: one key per commune of the `communes` table, every index within
    /// it, every word offset on a character of its key, every postal code a known string.
    pub fn validate(&self, strings: &Strings, communes: usize) -> Result<(), Corrupt> {
        let m = communes;
        check(
            self.key_offsets.len() == m + 1
                && offsets(&self.key_offsets, self.keys.len(), Some(&self.keys))
                && self.key_offsets[1..]
                    .iter()
                    .zip(&self.key_offsets)
                    .all(|(&end, &start)| {
                        end > start && self.keys.as_bytes()[end as usize - 1] == b'\n'
                    }),
            "clés de recherche",
        )?;
        check(
            [&self.by_key, &self.by_rank, &self.rank]
                .iter()
                .all(|v| v.len() == m && within(v, m)),
            "index des noms",
        )?;
        check(
            self.word_commune.len() == self.word_offset.len()
                && within(&self.word_commune, m)
                && self
                    .word_commune
                    .iter()
                    .zip(&self.word_offset)
                    .all(|(&k, &at)| {
                        let key = self.key(k as usize);
                        (at as usize) <= key.len() && key.is_char_boundary(at as usize)
                    }),
            "index des mots",
        )?;
        check(
            self.postal_commune.len() == self.postal_code.len()
                && within(&self.postal_commune, m)
                && strings.known(&self.postal_code, false),
            "index des codes postaux",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::tables::Interner;

    #[test]
    fn odd_queries_do_not_panic() {
        let mut interner = Interner::new();
        let communes = CommuneTable::build(&[], &[], &mut interner);
        let strings = interner.into_strings();
        let index = SearchIndex::build(&strings, &communes);
        for q in [
            "€ab",
            "€€",
            "2é",
            "2A00",
            "2a004",
            "é",
            "\u{0}",
            "ab\u{301}cde",
        ] {
            assert!(index.search(&strings, &communes, q, 20).is_empty(), "{q}");
        }
    }
}
