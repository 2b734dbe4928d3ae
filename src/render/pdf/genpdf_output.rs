//! Reading back what genpdf (printpdf 0.3, through lopdf) wrote: the pages in order, each with
//! its media box and its uncompressed content stream. Nothing else of that file is kept.

/// One page as genpdf laid it out.
pub struct RawPage {
    /// [x1 y1 x2 y2], in points.
    pub media_box: String,
    pub content: Vec<u8>,
}

/// The pages of a file genpdf wrote, in order; None if it is not laid out as printpdf writes.
pub fn pages(pdf: &[u8]) -> Option<Vec<RawPage>> {
    let objects = objects(pdf)?;
    let get = |n: usize| objects.iter().find(|(m, _)| *m == n).map(|(_, b)| *b);
    let catalog = objects
        .iter()
        .map(|(_, b)| *b)
        .find(|b| dict_has(b, b"/Type", b"/Catalog"))?;
    let pages_root = get(reference(catalog, b"/Pages")?)?;
    let kids = references(value_after(pages_root, b"/Kids")?);
    kids.into_iter()
        .map(|k| {
            let page = get(k)?;
            let content_obj = get(reference(page, b"/Contents")?)?;
            Some(RawPage {
                media_box: array_text(value_after(page, b"/MediaBox")?)?,
                content: stream_data(content_obj)?.to_vec(),
            })
        })
        .collect()
}

/// (object number, bytes from "n 0 obj" to the next object) through the xref table.
fn objects(pdf: &[u8]) -> Option<Vec<(usize, &[u8])>> {
    let xref_at = memchr::memmem::rfind(pdf, b"\nxref\n")? + 1;
    let table = std::str::from_utf8(&pdf[xref_at..]).ok()?;
    let mut lines = table.lines().skip(1);
    let mut header = lines.next()?.split_whitespace();
    let first: usize = header.next()?.parse().ok()?;
    let count: usize = header.next()?.parse().ok()?;
    let mut entries = Vec::with_capacity(count);
    for (i, l) in lines.take(count).enumerate() {
        if l.get(17..18) == Some("n") {
            entries.push((first + i, l.get(..10)?.parse::<usize>().ok()?));
        }
    }
    let mut sorted: Vec<usize> = entries.iter().map(|&(_, o)| o).collect();
    sorted.push(xref_at);
    sorted.sort_unstable();
    entries
        .into_iter()
        .map(|(n, start)| {
            let end = sorted[sorted.partition_point(|&o| o <= start)];
            Some((n, pdf.get(start..end)?))
        })
        .collect()
}

fn dict_has(obj: &[u8], key: &[u8], value: &[u8]) -> bool {
    value_after(obj, key).is_some_and(|v| v.starts_with(value))
}

/// The bytes after `key` in an object, leading whitespace skipped.
fn value_after<'a>(obj: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut from = 0;
    loop {
        let at = from + memchr::memmem::find(&obj[from..], key)?;
        let rest = &obj[at + key.len()..];
        // A key, not the prefix of a longer name (/Type vs /TypeX).
        if rest.first().is_some_and(|b| b.is_ascii_alphanumeric()) {
            from = at + key.len();
            continue;
        }
        let skip = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        return Some(&rest[skip..]);
    }
}

/// "n 0 R" after `key`.
fn reference(obj: &[u8], key: &[u8]) -> Option<usize> {
    let v = value_after(obj, key)?;
    let v = v.strip_prefix(b"[").unwrap_or(v);
    references(v).into_iter().next()
}

/// Object numbers of the "n 0 R" references at the start of `v`, up to its closing bracket.
fn references(v: &[u8]) -> Vec<usize> {
    let v = v.strip_prefix(b"[").unwrap_or(v);
    let end = v
        .iter()
        .position(|&b| b == b']' || b == b'/' || b == b'>')
        .unwrap_or(v.len());
    let text = String::from_utf8_lossy(&v[..end]);
    let tokens: Vec<&str> = text.split_whitespace().collect();
    tokens
        .windows(3)
        .filter(|w| w[2] == "R" && w[1] == "0")
        .filter_map(|w| w[0].parse().ok())
        .collect()
}

fn array_text(v: &[u8]) -> Option<String> {
    let v = v.strip_prefix(b"[")?;
    let end = v.iter().position(|&b| b == b']')?;
    let nums: Vec<f64> = std::str::from_utf8(&v[..end])
        .ok()?
        .split_whitespace()
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    (nums.len() == 4).then(|| {
        let n: Vec<String> = nums.iter().map(|x| format!("{x:.2}")).collect();
        format!("[{}]", n.join(" "))
    })
}

/// The data of an uncompressed stream object (printpdf writes them so; a filter means a
/// file we do not know).
fn stream_data(obj: &[u8]) -> Option<&[u8]> {
    let dict_end = memchr::memmem::find(obj, b"stream")?;
    if memchr::memmem::find(&obj[..dict_end], b"/Filter").is_some() {
        return None;
    }
    let len_value = value_after(&obj[..dict_end], b"/Length")?;
    let digits = len_value.iter().take_while(|b| b.is_ascii_digit()).count();
    let len: usize = std::str::from_utf8(&len_value[..digits])
        .ok()?
        .parse()
        .ok()?;
    let mut start = dict_end + b"stream".len();
    if obj.get(start) == Some(&b'\r') {
        start += 1;
    }
    if obj.get(start) == Some(&b'\n') {
        start += 1;
    }
    obj.get(start..start + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_keys_are_read_as_written() {
        assert_eq!(references(b"[3 0 R 10 0 R]/Count 2"), vec![3, 10]);
        assert_eq!(
            reference(b"<</Type /Page /Contents 7 0 R>>", b"/Contents"),
            Some(7)
        );
        assert_eq!(reference(b"<</Contents [8 0 R]>>", b"/Contents"), Some(8));
        assert!(dict_has(
            b"<</Type/Catalog/Pages 2 0 R>>",
            b"/Type",
            b"/Catalog"
        ));
        assert!(!dict_has(b"<</TypeX/Catalog>>", b"/Type", b"/Catalog"));
        assert_eq!(
            array_text(b"[0 0 595.2756 841.8898]").unwrap(),
            "[0.00 0.00 595.28 841.89]"
        );
    }

    #[test]
    fn stream_data_refuses_filters() {
        assert_eq!(
            stream_data(b"1 0 obj<</Length 3>>stream\nabc\nendstream").unwrap(),
            b"abc"
        );
        assert!(stream_data(b"1 0 obj<</Length 3/Filter/FlateDecode>>stream\nabc").is_none());
    }
}
