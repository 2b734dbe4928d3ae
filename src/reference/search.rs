//! Commune search in microseconds: sorted key arrays searched by binary search (full names,
//! names from each word, postal codes), a linear scan only for "contains" when the better
//! ranks did not fill the page.

use super::search_key;
use super::Commune;
use std::collections::BTreeMap;

#[derive(Default)]
pub struct CommuneIndex {
    /// idx → INSEE code, name and number of schools (ranking ties).
    codes: Vec<String>,
    noms: Vec<String>,
    ecoles: Vec<u32>,
    /// (search key of the full name, idx), sorted.
    names: Vec<(String, u32)>,
    /// (search key from the start of its 2nd, 3rd… word, idx), sorted.
    words: Vec<(String, u32)>,
    /// (postal code, idx), sorted.
    postal: Vec<(String, u32)>,
    /// Every full-name key, each followed by '\n', for the "contains" scan (one SIMD
    /// substring search over the whole buffer instead of one search per commune).
    haystack: String,
    /// Start of each idx's key in `haystack`.
    starts: Vec<u32>,
}

fn prefix_range<'a>(sorted: &'a [(String, u32)], prefix: &str) -> &'a [(String, u32)] {
    let start = sorted.partition_point(|(k, _)| k.as_str() < prefix);
    let len = sorted[start..].partition_point(|(k, _)| k.starts_with(prefix));
    &sorted[start..start + len]
}

impl CommuneIndex {
    pub fn new(communes: &BTreeMap<String, Commune>) -> Self {
        let mut ix = CommuneIndex::default();
        for (i, c) in communes.values().enumerate() {
            let i = i as u32;
            ix.codes.push(c.code_insee.clone());
            ix.noms.push(c.nom.clone());
            ix.ecoles.push(c.ecoles.len() as u32);
            ix.names.push((c.cle.clone(), i));
            ix.starts.push(ix.haystack.len() as u32);
            ix.haystack.push_str(&c.cle);
            ix.haystack.push('\n');
            for (pos, _) in c.cle.match_indices(' ') {
                ix.words.push((c.cle[pos + 1..].to_string(), i));
            }
            for cp in &c.codes_postaux {
                ix.postal.push((cp.clone(), i));
            }
        }
        ix.names.sort();
        ix.words.sort();
        ix.postal.sort();
        ix
    }

    /// INSEE codes, best first: exact name > name prefix > word prefix > contains, ties by
    /// number of schools then name; or by postal code / INSEE code for digits.
    pub fn search(&self, q: &str, limit: usize) -> Vec<&str> {
        let q = q.trim();
        if q.is_empty() || limit == 0 {
            return Vec::new();
        }
        let mut hits: Vec<(u8, u32)> = Vec::new();
        let mut seen = vec![false; self.codes.len()];
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
            if let Ok(i) = self.codes.binary_search(&upper) {
                take(0, i as u32, &mut hits);
            }
            for (_, i) in prefix_range(&self.postal, q) {
                take(1, *i, &mut hits);
            }
        } else {
            let key = search_key(q);
            if key.is_empty() {
                return Vec::new();
            }
            for (k, i) in prefix_range(&self.names, &key) {
                take(if *k == key { 0 } else { 1 }, *i, &mut hits);
            }
            for (_, i) in prefix_range(&self.words, &key) {
                take(2, *i, &mut hits);
            }
            if hits.len() < limit {
                for at in memchr::memmem::find_iter(self.haystack.as_bytes(), key.as_bytes()) {
                    let i = self.starts.partition_point(|&s| s as usize <= at) - 1;
                    take(3, i as u32, &mut hits);
                }
            }
        }
        let order = |a: &(u8, u32), b: &(u8, u32)| {
            a.0.cmp(&b.0)
                .then(self.ecoles[b.1 as usize].cmp(&self.ecoles[a.1 as usize]))
                .then(self.noms[a.1 as usize].cmp(&self.noms[b.1 as usize]))
        };
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit - 1, order);
            hits.truncate(limit);
        }
        hits.sort_by(order);
        hits.into_iter()
            .map(|(_, i)| self.codes[i as usize].as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_queries_do_not_panic() {
        let ix = CommuneIndex::default();
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
            assert!(ix.search(q, 20).is_empty(), "{q}");
        }
    }
}
