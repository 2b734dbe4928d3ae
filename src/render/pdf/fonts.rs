//! The convention's fonts, embedded: each face of Liberation Sans the document uses, subset to
//! its glyphs (`render::font`), as a Type0 font with Identity-H encoding (two-byte glyph ids
//! in the content streams), a widths array taken from the same font program, and a ToUnicode
//! map so that the text copies, searches and reads aloud as written (PDF/A-2b 6.2.11,
//! PDF/UA-1 7.21).

use super::objects::{deflate, name, Ref, Writer};
use crate::render::font::{Face, FontError};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

/// One face as the content streams address it: character → glyph id in the subset.
pub struct Encoder {
    /// The cached subset's own map (shared, not copied per document).
    prepared: Arc<Prepared>,
}

impl Encoder {
    /// The hex string operand of `Tj` for `text` (characters the face lacks draw .notdef,
    /// which `pdf_safe` upstream makes impossible for the document's own text).
    pub fn hex(&self, text: impl Iterator<Item = char>, out: &mut Vec<u8>) {
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        out.push(b'<');
        for c in text {
            let g = self.prepared.glyphs.get(&c).copied().unwrap_or(0);
            out.extend([12, 8, 4, 0].map(|shift| DIGITS[usize::from((g >> shift) & 0xf)]));
        }
        out.push(b'>');
    }
}

#[derive(Clone, Copy, Debug)]
pub struct FaceStyle {
    pub bold: bool,
    pub italic: bool,
}

/// Everything of one embedded face that depends only on the face and the characters: the
/// subset, deflated, its widths and names, its ToUnicode map. Kept in a small per-process
/// cache: most of the bold and italic text is the convention's own (headings, the approval
/// statement), so consecutive conventions of a warm function embed the same subsets.
struct Prepared {
    glyphs: BTreeMap<char, u16>,
    base: String,
    w_array: String,
    descriptor: String,
    font: Vec<u8>,
    font_len: usize,
    to_unicode: Vec<u8>,
}

/// Entries of the cache: a few documents' worth of the four faces.
const CACHED: usize = 32;

type Cache = Mutex<VecDeque<((usize, Vec<char>), Arc<Prepared>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(VecDeque::with_capacity(CACHED)))
}

/// Empties the cache (the benchmark measures a document whose characters are new).
pub fn forget_prepared() {
    cache().lock().expect("font cache").clear();
}

fn prepared(
    ttf: &'static [u8],
    chars: &BTreeSet<char>,
    style: FaceStyle,
) -> Result<Arc<Prepared>, FontError> {
    let cache = cache();
    let key = (
        ttf.as_ptr() as usize,
        chars.iter().copied().collect::<Vec<char>>(),
    );
    if let Some((_, p)) = cache
        .lock()
        .expect("font cache")
        .iter()
        .find(|(k, _)| *k == key)
    {
        return Ok(p.clone());
    }
    let p = Arc::new(prepare(ttf, chars, style)?);
    let mut c = cache.lock().expect("font cache");
    if c.len() == CACHED {
        c.pop_front();
    }
    c.push_back((key, p.clone()));
    Ok(p)
}

fn prepare(ttf: &[u8], chars: &BTreeSet<char>, style: FaceStyle) -> Result<Prepared, FontError> {
    let face = Face::parse(ttf)?;
    let old: BTreeMap<char, u16> = chars
        .iter()
        .filter_map(|&c| face.glyph(c).map(|g| (c, g)))
        .collect();
    let mut wanted: Vec<u16> = old.values().copied().collect();
    wanted.sort_unstable();
    wanted.dedup();
    let subset = face.subset(&wanted)?;
    let glyphs: BTreeMap<char, u16> = old
        .iter()
        .filter_map(|(&c, &g)| subset.new_id(g).map(|n| (c, n)))
        .collect();

    let upem = f64::from(face.units_per_em());
    let scale = |v: f64| (v * 1000.0 / upem).round() as i64;
    // Widths of the new glyph ids 1..=n (0 is .notdef), in thousandths of an em.
    let mut w_array = String::from("[");
    let widths: BTreeMap<u16, i64> = subset
        .map
        .iter()
        .map(|(&old_id, &new_id)| (new_id, scale(f64::from(face.advance(old_id)))))
        .collect();
    for (id, width) in &widths {
        let _ = write!(w_array, "{id}[{width}]");
    }
    w_array.push(']');
    let m = face.metrics();
    // A subset's name carries a tag of six capitals (ISO 32000-1, 9.6.4), here drawn from
    // the glyphs it holds, so that the same subset always has the same name.
    let tag = subset_tag(&wanted);
    let base = name(&format!("{tag}+{}", face.postscript_name()));
    // Non-symbolic (32), italic (64) for the slanted faces.
    let flags = 32 + if style.italic { 64 } else { 0 };
    // Liberation Sans's own post table angle; the stems are guesses readers only use when
    // they substitute a font, which an embedded one never needs.
    let italic_angle = if style.italic { -12 } else { 0 };
    let descriptor = format!(
        "/Type/FontDescriptor/FontName{base}/Flags {flags}/FontBBox[{} {} {} {}]/ItalicAngle {}/Ascent {}/Descent {}/CapHeight {}/StemV {}",
        scale(f64::from(m.bbox[0])),
        scale(f64::from(m.bbox[1])),
        scale(f64::from(m.bbox[2])),
        scale(f64::from(m.bbox[3])),
        italic_angle,
        scale(f64::from(m.ascender)),
        scale(f64::from(m.descender)),
        scale(f64::from(m.cap_height)),
        if style.bold { 120 } else { 80 },
    );
    Ok(Prepared {
        base,
        w_array,
        descriptor,
        font: deflate(&subset.font, 6),
        font_len: subset.font.len(),
        to_unicode: deflate(to_unicode_cmap(&glyphs).as_bytes(), 6),
        glyphs,
    })
}

/// Writes the font objects of `face` for the characters `chars`; returns the Type0 font's
/// reference and the encoder of its text.
pub fn embed(
    w: &mut Writer,
    ttf: &'static [u8],
    chars: &BTreeSet<char>,
    style: FaceStyle,
) -> Result<(Ref, Encoder), FontError> {
    let p = prepared(ttf, chars, style)?;
    let type0 = w.alloc();
    let cid = w.alloc();
    let descriptor = w.alloc();
    let file = w.alloc();
    let to_unicode = w.alloc();
    let base = &p.base;
    w.object(
        type0,
        &format!(
            "<</Type/Font/Subtype/Type0/BaseFont{base}/Encoding/Identity-H/DescendantFonts[{cid}]/ToUnicode {to_unicode}>>"
        ),
    );
    w.object(
        cid,
        &format!(
            "<</Type/Font/Subtype/CIDFontType2/BaseFont{base}/CIDSystemInfo<</Registry(Adobe)/Ordering(Identity)/Supplement 0>>/FontDescriptor {descriptor}/DW 0/W{}/CIDToGIDMap/Identity>>",
            p.w_array
        ),
    );
    w.object(
        descriptor,
        &format!("<<{}/FontFile2 {file}>>", p.descriptor),
    );
    w.stream_as_is(
        file,
        &format!("/Length1 {}/Filter/FlateDecode", p.font_len),
        &p.font,
    );
    w.stream_as_is(to_unicode, "/Filter/FlateDecode", &p.to_unicode);
    Ok((type0, Encoder { prepared: p }))
}

fn subset_tag(glyphs: &[u16]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for g in glyphs {
        h.update(g.to_be_bytes());
    }
    h.finalize()[..6]
        .iter()
        .map(|b| char::from(b'A' + b % 26))
        .collect()
}

/// The CMap from glyph ids back to the characters they were chosen for. A glyph drawn for two
/// characters (the space and the no-break space share one in some fonts) reads as the first.
fn to_unicode_cmap(glyphs: &BTreeMap<char, u16>) -> String {
    let mut back: BTreeMap<u16, char> = BTreeMap::new();
    for (&c, &g) in glyphs {
        back.entry(g).or_insert(c);
    }
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo <</Registry (Adobe) /Ordering (UCS) /Supplement 0>> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<_> = back.into_iter().collect();
    // At most 100 mappings per block (PDF's CMap limit).
    for chunk in entries.chunks(100) {
        let _ = writeln!(s, "{} beginbfchar", chunk.len());
        for (g, c) in chunk {
            let mut units = [0u16; 2];
            let utf16: String = c
                .encode_utf16(&mut units)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            let _ = writeln!(s, "<{g:04X}> <{utf16}>");
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cmap_maps_each_glyph_back_once() {
        let glyphs: BTreeMap<char, u16> = [(' ', 3), ('\u{a0}', 3), ('é', 4), ('😀', 5)].into();
        let cmap = to_unicode_cmap(&glyphs);
        assert!(cmap.contains("3 beginbfchar"));
        assert!(cmap.contains("<0003> <0020>"));
        assert!(cmap.contains("<0004> <00E9>"));
        assert!(cmap.contains("<0005> <D83DDE00>"));
    }

    #[test]
    fn subset_tags_are_six_capitals_and_stable() {
        let t = subset_tag(&[1, 2, 3]);
        assert_eq!(t.len(), 6);
        assert!(t.bytes().all(|b| b.is_ascii_uppercase()));
        assert_eq!(t, subset_tag(&[1, 2, 3]));
        assert_ne!(t, subset_tag(&[1, 2, 4]));
    }
}
