//! Commune search in microseconds: sorted index arrays searched by binary search (full names,
//! names from each word, postal codes), a linear scan only for "contains" when the better
//! ranks did not fill the page. The arrays are built at import time (`build`) and shipped in
//! the snapshot; loading them needs no normalisation and no sorting.

use super::search_key;
use super::snapshot::Tables;

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
fn prefix_range<'a>(
    n: usize,
    key: impl Fn(usize) -> &'a str,
    prefix: &str,
) -> std::ops::Range<usize> {
    let start = partition_point(0, n, |i| key(i) < prefix);
    let end = partition_point(start, n, |i| key(i).starts_with(prefix));
    start..end
}

/// Import time: the search keys of the communes (in commune order) into the haystack, and the
/// sorted name, word and postal code indices.
pub(crate) fn build(t: &mut Tables, keys: &[String]) {
    let mut haystack = String::with_capacity(keys.iter().map(|k| k.len() + 1).sum());
    let mut key_start = Vec::with_capacity(keys.len() + 1);
    let mut words: Vec<(u32, u32)> = Vec::new();
    let mut postal: Vec<(u32, u32)> = Vec::new();
    for (k, key) in keys.iter().enumerate() {
        key_start.push(haystack.len() as u32);
        haystack.push_str(key);
        haystack.push('\n');
        for (pos, _) in key.match_indices(' ') {
            words.push((k as u32, pos as u32 + 1));
        }
        for &cp in &t.cps[t.c_cp[k] as usize..t.c_cp[k + 1] as usize] {
            postal.push((k as u32, cp));
        }
    }
    key_start.push(haystack.len() as u32);
    let key = |k: u32| {
        let k = k as usize;
        &haystack[key_start[k] as usize..key_start[k + 1] as usize - 1]
    };
    let mut names: Vec<u32> = (0..keys.len() as u32).collect();
    names.sort_by(|&a, &b| key(a).cmp(key(b)).then(a.cmp(&b)));
    words.sort_by(|&(a, i), &(b, j)| {
        key(a)[i as usize..]
            .cmp(&key(b)[j as usize..])
            .then(a.cmp(&b))
    });
    postal.sort_by(|&(a, x), &(b, y)| t.str(x).cmp(t.str(y)).then(a.cmp(&b)));
    // Ranking order among equals: more schools first, then name.
    let mut by_rank: Vec<u32> = (0..keys.len() as u32).collect();
    by_rank.sort_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        t.c_nb[b]
            .cmp(&t.c_nb[a])
            .then_with(|| t.str(t.c_nom[a]).cmp(t.str(t.c_nom[b])))
            .then(a.cmp(&b))
    });
    t.c_rank = vec![0; keys.len()];
    for (r, &k) in by_rank.iter().enumerate() {
        t.c_rank[k as usize] = r as u32;
    }
    t.by_rank = by_rank;
    t.names = names;
    (t.word_commune, t.word_at) = words.into_iter().unzip();
    (t.postal_commune, t.postal_cp) = postal.into_iter().unzip();
    t.haystack = haystack;
    t.key_start = key_start;
}

/// Communes (indices), best first: exact name > name prefix > word prefix > contains, ties by
/// number of schools then name; or by postal code / INSEE code for digits.
pub(crate) fn search(t: &Tables, q: &str, limit: usize) -> Vec<u32> {
    let q = q.trim();
    if q.is_empty() || limit == 0 {
        return Vec::new();
    }
    let mut hits: Vec<(u8, u32)> = Vec::new();
    let mut seen = vec![false; t.communes()];
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
        if let Some(i) = t.commune_index(&upper) {
            take(0, i as u32, &mut hits);
        }
        for p in prefix_range(t.postal_cp.len(), |p| t.str(t.postal_cp[p]), q) {
            take(1, t.postal_commune[p], &mut hits);
        }
    } else {
        let key = search_key(q);
        if key.is_empty() {
            return Vec::new();
        }
        for p in prefix_range(t.names.len(), |p| t.key(t.names[p] as usize), &key) {
            let i = t.names[p];
            // Its key starts with `key`: equal when as long.
            let len = t.key_start[i as usize + 1] - t.key_start[i as usize] - 1;
            take(u8::from(len as usize != key.len()), i, &mut hits);
        }
        // Word prefixes rank after every name prefix: not needed once those fill the page.
        if hits.len() < limit {
            let word = |p: usize| &t.key(t.word_commune[p] as usize)[t.word_at[p] as usize..];
            for p in prefix_range(t.word_commune.len(), word, &key) {
                take(2, t.word_commune[p], &mut hits);
            }
        }
        if hits.len() < limit {
            for at in memchr::memmem::find_iter(t.haystack.as_bytes(), key.as_bytes()) {
                let i = t.key_start.partition_point(|&s| s as usize <= at) - 1;
                take(3, i as u32, &mut hits);
            }
        }
    }
    // Rank, then the commune's precomputed order (schools, name): unique keys.
    let mut keys: Vec<u64> = hits
        .into_iter()
        .map(|(rank, i)| u64::from(rank) << 32 | u64::from(t.c_rank[i as usize]))
        .collect();
    if keys.len() > limit {
        keys.select_nth_unstable(limit - 1);
        keys.truncate(limit);
    }
    keys.sort_unstable();
    keys.into_iter()
        .map(|k| t.by_rank[(k & u64::from(u32::MAX)) as usize])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_queries_do_not_panic() {
        let t = Tables::build(Vec::new(), &Default::default());
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
            assert!(search(&t, q, 20).is_empty(), "{q}");
        }
    }
}
