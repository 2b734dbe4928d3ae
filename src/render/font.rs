//! A small TrueType reader and subsetter, so that the convention PDF can embed the few glyphs of
//! Liberation Sans it shows (Type0 / CIDFontType2, Identity-H, `CIDToGIDMap /Identity`), as
//! PDF/A-2b requires, without the compile time of a full font stack.
//!
//! Only what the PDF needs is read: the cmap (formats 4 and 12), the horizontal metrics, the
//! metrics of the font descriptor, the PostScript name and the `glyf` outlines. The subset keeps
//! the outlines byte for byte but drops hinting (the PDF viewer rasterises without it) and the
//! cmap (the PDF addresses glyphs by id). Every read is bounds-checked: a malformed font gives a
//! [`FontError`], never a panic.

use std::collections::BTreeMap;

/// Why a font could not be read or subset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FontError {
    #[error("not a TrueType font with glyf outlines (sfnt version {0:#010x})")]
    NotTrueType(u32),
    #[error("font truncated: {what} needs bytes {offset}..{end}, only {len} there")]
    Truncated {
        what: &'static str,
        offset: usize,
        end: usize,
        len: usize,
    },
    #[error("the font has no '{0}' table")]
    MissingTable(&'static str),
    #[error("malformed '{table}' table: {reason}")]
    Malformed { table: &'static str, reason: String },
    #[error("glyph {gid} does not exist: the font has {num_glyphs} glyphs")]
    NoSuchGlyph { gid: u16, num_glyphs: u16 },
    #[error("glyph {gid} is malformed: {reason}")]
    BadGlyph { gid: u16, reason: &'static str },
}

fn malformed(table: &'static str, reason: impl Into<String>) -> FontError {
    FontError::Malformed {
        table,
        reason: reason.into(),
    }
}

/// A named byte range, whose reads fail with [`FontError::Truncated`] naming it.
#[derive(Clone, Copy)]
struct Bytes<'a> {
    what: &'static str,
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    fn new(what: &'static str, data: &'a [u8]) -> Self {
        Bytes { what, data }
    }

    fn len(&self) -> usize {
        self.data.len()
    }

    fn slice(&self, offset: usize, len: usize) -> Result<&'a [u8], FontError> {
        let truncated = || FontError::Truncated {
            what: self.what,
            offset,
            end: offset.saturating_add(len),
            len: self.data.len(),
        };
        let end = offset.checked_add(len).ok_or_else(truncated)?;
        self.data.get(offset..end).ok_or_else(truncated)
    }

    fn sub(&self, offset: usize, len: usize) -> Result<Bytes<'a>, FontError> {
        Ok(Bytes::new(self.what, self.slice(offset, len)?))
    }

    /// From `offset` to the end.
    fn tail(&self, offset: usize) -> Result<Bytes<'a>, FontError> {
        let len = self
            .data
            .len()
            .checked_sub(offset)
            .ok_or(FontError::Truncated {
                what: self.what,
                offset,
                end: offset,
                len: self.data.len(),
            })?;
        self.sub(offset, len)
    }

    fn u8(&self, offset: usize) -> Result<u8, FontError> {
        Ok(self.slice(offset, 1)?[0])
    }

    fn u16(&self, offset: usize) -> Result<u16, FontError> {
        let b = self.slice(offset, 2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn i16(&self, offset: usize) -> Result<i16, FontError> {
        Ok(self.u16(offset)? as i16)
    }

    fn u32(&self, offset: usize) -> Result<u32, FontError> {
        let b = self.slice(offset, 4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// What the PDF FontDescriptor needs, in font units (divide by `units_per_em`, times 1000).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceMetrics {
    pub units_per_em: u16,
    /// hhea ascender: what rusttype (hence genpdf's line layout) uses too.
    pub ascender: i16,
    /// hhea descender, negative below the baseline.
    pub descender: i16,
    /// OS/2 sCapHeight, or the ascender when the OS/2 table is older than version 2.
    pub cap_height: i16,
    /// head xMin, yMin, xMax, yMax.
    pub bbox: [i16; 4],
    /// post italicAngle in degrees, counter-clockwise (negative for Liberation's italics); 0 without post.
    pub italic_angle: f32,
    /// OS/2 usWeightClass (400 without OS/2), to estimate the descriptor's StemV.
    pub weight_class: u16,
}

/// A parsed TrueType face (borrowing the font bytes).
pub struct Face<'a> {
    head: Bytes<'a>,
    hhea: Bytes<'a>,
    maxp: Bytes<'a>,
    hmtx: Bytes<'a>,
    loca: Bytes<'a>,
    glyf: Bytes<'a>,
    os2: Option<Bytes<'a>>,
    name: Option<Bytes<'a>>,
    post: Option<Bytes<'a>>,
    cmap: Cmap<'a>,
    num_glyphs: u16,
    num_hmetrics: u16,
    long_loca: bool,
    metrics: FaceMetrics,
}

/// The Unicode subtables found, format 12 (all planes) first.
#[derive(Default)]
struct Cmap<'a> {
    format12: Option<Bytes<'a>>,
    format4: Option<Bytes<'a>>,
}

/// A subset font and how its glyphs were renumbered.
#[derive(Debug, Clone)]
pub struct Subset {
    /// The TrueType font file.
    pub font: Vec<u8>,
    /// Old glyph id -> new glyph id, for every glyph kept (0 -> 0 included).
    pub map: BTreeMap<u16, u16>,
}

impl Subset {
    /// The glyph id in the subset of the original glyph `old`, if kept.
    pub fn new_id(&self, old: u16) -> Option<u16> {
        self.map.get(&old).copied()
    }

    /// Number of glyphs in the subset, .notdef included.
    pub fn glyph_count(&self) -> usize {
        self.map.len()
    }
}

type Tag = [u8; 4];

/// The table directory: tag -> table bytes.
fn read_directory(ttf: &[u8]) -> Result<Vec<(Tag, &[u8])>, FontError> {
    let file = Bytes::new("table directory", ttf);
    let version = file.u32(0)?;
    // 0x00010000, or 'true' for old Apple fonts; 'OTTO' (CFF) and 'ttcf' (collections) are not handled.
    if version != 0x0001_0000 && version != u32::from_be_bytes(*b"true") {
        return Err(FontError::NotTrueType(version));
    }
    let count = usize::from(file.u16(4)?);
    let mut tables = Vec::with_capacity(count);
    for i in 0..count {
        let record = file.sub(12 + 16 * i, 16)?;
        let tag: Tag = record.u32(0)?.to_be_bytes();
        let offset = record.u32(8)? as usize;
        let len = record.u32(12)? as usize;
        // Every table must lie inside the file, so that a truncated file is always refused.
        tables.push((tag, Bytes::new("table", ttf).slice(offset, len)?));
    }
    Ok(tables)
}

fn find<'a>(tables: &[(Tag, &'a [u8])], tag: &'static str) -> Option<Bytes<'a>> {
    tables
        .iter()
        .find(|(t, _)| t == tag.as_bytes())
        .map(|(_, data)| Bytes::new(tag, data))
}

fn require<'a>(tables: &[(Tag, &'a [u8])], tag: &'static str) -> Result<Bytes<'a>, FontError> {
    find(tables, tag).ok_or(FontError::MissingTable(tag))
}

impl<'a> Face<'a> {
    pub fn parse(ttf: &'a [u8]) -> Result<Face<'a>, FontError> {
        let tables = read_directory(ttf)?;
        let head = require(&tables, "head")?;
        let hhea = require(&tables, "hhea")?;
        let maxp = require(&tables, "maxp")?;
        check_head(head)?;
        let num_glyphs = maxp.u16(4)?;
        let num_hmetrics = hhea.u16(34)?;
        if num_glyphs == 0 || num_hmetrics == 0 || num_hmetrics > num_glyphs {
            return Err(malformed(
                "hhea",
                format!("{num_hmetrics} horizontal metrics for {num_glyphs} glyphs"),
            ));
        }
        let long_loca = head.u16(50)? == 1;
        let (glyphs, hmetrics) = (usize::from(num_glyphs), usize::from(num_hmetrics));
        // Long metrics, then the left side bearings of the glyphs past them.
        let hmtx_len = 4 * hmetrics + 2 * (glyphs - hmetrics);
        let loca_len = if long_loca { 4 } else { 2 } * (glyphs + 1);
        let face = Face {
            head,
            hhea,
            maxp,
            hmtx: require(&tables, "hmtx")?.sub(0, hmtx_len)?,
            loca: require(&tables, "loca")?.sub(0, loca_len)?,
            glyf: require(&tables, "glyf")?,
            os2: find(&tables, "OS/2"),
            name: find(&tables, "name"),
            post: find(&tables, "post"),
            cmap: find(&tables, "cmap")
                .map(read_cmap)
                .transpose()?
                .unwrap_or_default(),
            num_glyphs,
            num_hmetrics,
            long_loca,
            metrics: read_metrics(&tables)?,
        };
        Ok(face)
    }

    pub fn units_per_em(&self) -> u16 {
        self.metrics.units_per_em
    }

    /// Number of glyphs in the font (maxp numGlyphs).
    pub fn glyph_count(&self) -> u16 {
        self.num_glyphs
    }

    /// Glyph id of a character through the cmap (format 12 if present, else 4), None if absent.
    pub fn glyph(&self, c: char) -> Option<u16> {
        let code = u32::from(c);
        let gid = self
            .cmap
            .format12
            .and_then(|t| cmap12_lookup(t, code))
            .or_else(|| self.cmap.format4.and_then(|t| cmap4_lookup(t, code)))?;
        (gid != 0 && gid < self.num_glyphs).then_some(gid)
    }

    /// Advance width of a glyph in font units (hmtx; glyphs past numberOfHMetrics take the last
    /// one). 0 for a glyph id past the font's glyphs.
    pub fn advance(&self, gid: u16) -> u16 {
        if gid >= self.num_glyphs {
            return 0;
        }
        let index = usize::from(gid.min(self.num_hmetrics - 1));
        // parse() checked hmtx holds numberOfHMetrics long metrics.
        self.hmtx.u16(4 * index).unwrap_or(0)
    }

    pub fn metrics(&self) -> FaceMetrics {
        self.metrics
    }

    /// PostScript name (name table, nameID 6), for BaseFont; restricted to the characters a PDF
    /// name and a PostScript name allow. "Unnamed" if the font has none.
    pub fn postscript_name(&self) -> String {
        let name: String = self
            .name
            .and_then(read_postscript_name)
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_graphic() && !"[](){}<>/%#".contains(*c))
            .take(63)
            .collect();
        if name.is_empty() {
            "Unnamed".to_string()
        } else {
            name
        }
    }

    /// A subset with the glyphs given (old ids), renumbered: new id 0 is .notdef, then the
    /// requested glyphs in ascending old-id order as 1..=n, then the components of composite
    /// glyphs (transitively) that were not requested. Returns the font bytes and the mapping
    /// old->new.
    pub fn subset(&self, glyphs: &[u16]) -> Result<Subset, FontError> {
        let order = self.closure(glyphs)?;
        let map: BTreeMap<u16, u16> = order
            .iter()
            .enumerate()
            .map(|(new, &old)| (old, new as u16))
            .collect();
        let (glyf, offsets) = self.write_glyf(&order, &map)?;
        // Short offsets are halved: possible while the glyf table stays under 128 KiB.
        let long_loca = glyf.len() > 2 * usize::from(u16::MAX);
        let count = order.len() as u16;
        let mut tables: Vec<(Tag, Vec<u8>)> = vec![
            (*b"head", self.write_head(long_loca)),
            (*b"hhea", patch_u16(self.hhea.data, 34, count)),
            (*b"maxp", patch_u16(self.maxp.data, 4, count)),
            (*b"hmtx", self.write_hmtx(&order)?),
            (*b"loca", write_loca(&offsets, long_loca)),
            (*b"glyf", glyf),
            (*b"post", self.write_post()),
        ];
        for (tag, table) in [(*b"OS/2", self.os2), (*b"name", self.name)] {
            if let Some(table) = table {
                tables.push((tag, table.data.to_vec()));
            }
        }
        Ok(Subset {
            font: assemble(tables),
            map,
        })
    }

    /// The old ids of the subset, in new-id order.
    fn closure(&self, glyphs: &[u16]) -> Result<Vec<u16>, FontError> {
        let mut kept = vec![false; usize::from(self.num_glyphs)];
        let mut order = vec![0];
        kept[0] = true;
        let mut requested = glyphs.to_vec();
        requested.sort_unstable();
        for gid in requested {
            self.check_gid(gid)?;
            if !std::mem::replace(&mut kept[usize::from(gid)], true) {
                order.push(gid);
            }
        }
        // Components join the end of the list, and are themselves walked when reached there.
        let mut i = 0;
        while i < order.len() {
            let gid = order[i];
            for component in self.components(gid)? {
                self.check_gid(component.glyph)
                    .map_err(|_| FontError::BadGlyph {
                        gid,
                        reason: "a component refers to a glyph past the font's glyphs",
                    })?;
                if !std::mem::replace(&mut kept[usize::from(component.glyph)], true) {
                    order.push(component.glyph);
                }
            }
            i += 1;
        }
        Ok(order)
    }

    fn check_gid(&self, gid: u16) -> Result<(), FontError> {
        if gid < self.num_glyphs {
            Ok(())
        } else {
            Err(FontError::NoSuchGlyph {
                gid,
                num_glyphs: self.num_glyphs,
            })
        }
    }

    /// The glyf record of `gid`, as loca delimits it.
    fn glyph_data(&self, gid: u16) -> Result<&'a [u8], FontError> {
        let i = usize::from(gid);
        let (start, end) = if self.long_loca {
            (
                self.loca.u32(4 * i)? as usize,
                self.loca.u32(4 * i + 4)? as usize,
            )
        } else {
            let at = |i| Ok::<_, FontError>(2 * usize::from(self.loca.u16(2 * i)?));
            (at(i)?, at(i + 1)?)
        };
        let len = end.checked_sub(start).ok_or(FontError::BadGlyph {
            gid,
            reason: "its loca offsets decrease",
        })?;
        self.glyf.slice(start, len)
    }

    fn components(&self, gid: u16) -> Result<Vec<Component>, FontError> {
        let data = self.glyph_data(gid)?;
        match outline_kind(gid, data)? {
            Outline::Composite => composite_components(gid, data),
            _ => Ok(Vec::new()),
        }
    }

    /// The glyf table of the subset and the offset of each glyph (plus the end).
    fn write_glyf(
        &self,
        order: &[u16],
        map: &BTreeMap<u16, u16>,
    ) -> Result<(Vec<u8>, Vec<usize>), FontError> {
        let mut glyf = Vec::new();
        let mut offsets = Vec::with_capacity(order.len() + 1);
        for &gid in order {
            offsets.push(glyf.len());
            let data = self.glyph_data(gid)?;
            match outline_kind(gid, data)? {
                Outline::Empty => {}
                Outline::Simple => glyf.extend(strip_simple(gid, data)?),
                Outline::Composite => glyf.extend(rewrite_composite(gid, data, map)?),
            }
            // 4-byte aligned glyphs, as the spec recommends (and short loca needs even offsets).
            glyf.resize(glyf.len().next_multiple_of(4), 0);
        }
        offsets.push(glyf.len());
        Ok((glyf, offsets))
    }

    fn write_hmtx(&self, order: &[u16]) -> Result<Vec<u8>, FontError> {
        let mut hmtx = Vec::with_capacity(4 * order.len());
        for &gid in order {
            hmtx.extend(self.advance(gid).to_be_bytes());
            hmtx.extend(self.left_side_bearing(gid)?.to_be_bytes());
        }
        Ok(hmtx)
    }

    fn left_side_bearing(&self, gid: u16) -> Result<i16, FontError> {
        let (g, h) = (usize::from(gid), usize::from(self.num_hmetrics));
        if g < h {
            self.hmtx.i16(4 * g + 2)
        } else {
            self.hmtx.i16(4 * h + 2 * (g - h))
        }
    }

    fn write_head(&self, long_loca: bool) -> Vec<u8> {
        // checkSumAdjustment is zero while the checksums are computed; assemble() sets it.
        let head = patch_u32(self.head.data, 8, 0);
        patch_u16(&head, 50, u16::from(long_loca))
    }

    /// post format 3.0: the header (italic angle, underline) without glyph names.
    fn write_post(&self) -> Vec<u8> {
        let mut post = match self.post.and_then(|p| p.slice(0, 32).ok()) {
            Some(header) => header.to_vec(),
            None => vec![0; 32],
        };
        post[..4].copy_from_slice(&0x0003_0000u32.to_be_bytes());
        post
    }
}

/// Checks of head whose failure means the bytes are not a usable font.
fn check_head(head: Bytes) -> Result<(), FontError> {
    if head.len() < 54 {
        return Err(malformed(
            "head",
            format!("{} bytes, 54 expected", head.len()),
        ));
    }
    if head.u32(12)? != 0x5F0F_3CF5 {
        return Err(malformed("head", "bad magic number"));
    }
    if head.u16(50)? > 1 {
        return Err(malformed("head", "indexToLocFormat is neither 0 nor 1"));
    }
    let units = head.u16(18)?;
    if !(16..=16384).contains(&units) {
        return Err(malformed("head", format!("unitsPerEm {units}")));
    }
    Ok(())
}

fn read_metrics(tables: &[(Tag, &[u8])]) -> Result<FaceMetrics, FontError> {
    let head = require(tables, "head")?;
    let hhea = require(tables, "hhea")?;
    let ascender = hhea.i16(4)?;
    let os2 = find(tables, "OS/2");
    // sCapHeight exists from OS/2 version 2 on.
    let cap_height = os2
        .filter(|t| t.u16(0).is_ok_and(|v| v >= 2))
        .and_then(|t| t.i16(88).ok())
        .unwrap_or(ascender);
    let italic_angle = find(tables, "post")
        .and_then(|t| t.u32(4).ok())
        .map_or(0.0, |fixed| fixed as i32 as f32 / 65536.0);
    Ok(FaceMetrics {
        units_per_em: head.u16(18)?,
        ascender,
        descender: hhea.i16(6)?,
        cap_height,
        bbox: [head.i16(36)?, head.i16(38)?, head.i16(40)?, head.i16(42)?],
        italic_angle,
        weight_class: os2.and_then(|t| t.u16(4).ok()).unwrap_or(400),
    })
}

/// The Unicode subtables of the cmap, their headers checked so that lookups only fail on
/// glyph-id arrays.
fn read_cmap(cmap: Bytes) -> Result<Cmap, FontError> {
    let mut found = Cmap::default();
    let count = usize::from(cmap.u16(2)?);
    for i in 0..count {
        let record = cmap.sub(4 + 8 * i, 8)?;
        let (platform, encoding) = (record.u16(0)?, record.u16(2)?);
        // Unicode: platform 0 (any encoding), or Windows BMP (1) and full repertoire (10).
        if !(platform == 0 || (platform == 3 && (encoding == 1 || encoding == 10))) {
            continue;
        }
        let sub = cmap.tail(record.u32(4)? as usize)?;
        match sub.u16(0)? {
            4 if found.format4.is_none() => found.format4 = Some(check_cmap4(sub)?),
            12 if found.format12.is_none() => found.format12 = Some(check_cmap12(sub)?),
            _ => {}
        }
    }
    Ok(found)
}

fn check_cmap4(sub: Bytes) -> Result<Bytes, FontError> {
    let seg_x2 = usize::from(sub.u16(6)?);
    if seg_x2 % 2 != 0 {
        return Err(malformed("cmap", "odd segCountX2 in format 4"));
    }
    // The four segment arrays; the glyph id array after them is checked at each read. The
    // subtable's own length is not trusted: fonts with large BMP coverage overflow it.
    sub.slice(14, 4 * seg_x2 + 2)?;
    Ok(sub)
}

fn check_cmap12(sub: Bytes) -> Result<Bytes, FontError> {
    let groups = sub.u32(12)? as usize;
    let len = groups
        .checked_mul(12)
        .ok_or_else(|| malformed("cmap", "too many format 12 groups"))?;
    sub.sub(0, 16usize.saturating_add(len))
}

/// Format 4: segments of the BMP, found by binary search on their end codes.
fn cmap4_lookup(sub: Bytes, code: u32) -> Option<u16> {
    let code = u16::try_from(code).ok()?;
    let seg_x2 = usize::from(sub.u16(6).ok()?);
    let seg_count = seg_x2 / 2;
    let end_at = |i: usize| sub.u16(14 + 2 * i).ok();
    let (mut lo, mut hi) = (0, seg_count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if end_at(mid)? < code {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let seg = lo;
    if seg >= seg_count {
        return None;
    }
    let start = sub.u16(16 + seg_x2 + 2 * seg).ok()?;
    let delta = sub.u16(16 + 2 * seg_x2 + 2 * seg).ok()?;
    let range_at = 16 + 3 * seg_x2 + 2 * seg;
    let range_offset = usize::from(sub.u16(range_at).ok()?);
    if code < start {
        return None;
    }
    if range_offset == 0 {
        return Some(code.wrapping_add(delta));
    }
    // idRangeOffset counts from its own position into the glyph id array.
    let at = range_at + range_offset + 2 * usize::from(code - start);
    let gid = sub.u16(at).ok()?;
    (gid != 0).then(|| gid.wrapping_add(delta))
}

/// Format 12: sorted groups of consecutive codes mapped to consecutive glyphs.
fn cmap12_lookup(sub: Bytes, code: u32) -> Option<u16> {
    let groups = sub.u32(12).ok()? as usize;
    let group = |i: usize| -> Option<(u32, u32, u32)> {
        let at = 16 + 12 * i;
        Some((
            sub.u32(at).ok()?,
            sub.u32(at + 4).ok()?,
            sub.u32(at + 8).ok()?,
        ))
    };
    let (mut lo, mut hi) = (0, groups);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let (start, end, first) = group(mid)?;
        if end < code {
            lo = mid + 1;
        } else if start > code {
            hi = mid;
        } else {
            return u16::try_from(first.checked_add(code - start)?).ok();
        }
    }
    None
}

/// The first name record with nameID 6 in a Unicode or Mac Roman encoding.
fn read_postscript_name(name: Bytes) -> Option<String> {
    let count = usize::from(name.u16(2).ok()?);
    let strings = usize::from(name.u16(4).ok()?);
    (0..count).find_map(|i| {
        let record = name.sub(6 + 12 * i, 12).ok()?;
        if record.u16(6).ok()? != 6 {
            return None;
        }
        let (platform, encoding) = (record.u16(0).ok()?, record.u16(2).ok()?);
        let len = usize::from(record.u16(8).ok()?);
        let offset = strings.checked_add(usize::from(record.u16(10).ok()?))?;
        let bytes = name.slice(offset, len).ok()?;
        match (platform, encoding) {
            (0, _) | (3, 0 | 1 | 10) => {
                let units: Vec<u16> = bytes
                    .chunks_exact(2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]))
                    .collect();
                String::from_utf16(&units).ok()
            }
            // Mac Roman: the characters a PostScript name may use are ASCII anyway.
            (1, 0) => Some(bytes.iter().map(|&b| char::from(b)).collect()),
            _ => None,
        }
    })
}

enum Outline {
    Empty,
    Simple,
    Composite,
}

fn outline_kind(gid: u16, data: &[u8]) -> Result<Outline, FontError> {
    if data.is_empty() {
        return Ok(Outline::Empty);
    }
    let contours = Bytes::new("glyf", data).i16(0)?;
    if data.len() < 10 {
        return Err(FontError::BadGlyph {
            gid,
            reason: "shorter than a glyph header",
        });
    }
    match contours {
        0.. => Ok(Outline::Simple),
        -1 => Ok(Outline::Composite),
        _ => Err(FontError::BadGlyph {
            gid,
            reason: "negative contour count other than -1",
        }),
    }
}

/// A simple glyph without its instructions: header, contour ends, instructionLength 0, then the
/// flags and coordinates as they were (trailing padding dropped).
fn strip_simple(gid: u16, data: &[u8]) -> Result<Vec<u8>, FontError> {
    let glyph = Bytes::new("glyf", data);
    let contours = usize::from(glyph.u16(0)?);
    let ends_end = 10 + 2 * contours;
    let points = match contours {
        0 => 0,
        _ => usize::from(glyph.u16(ends_end - 2)?) + 1,
    };
    let instructions = usize::from(glyph.u16(ends_end)?);
    let flags_start = ends_end + 2 + instructions;
    let end = points_end(gid, glyph, flags_start, points)?;
    let mut out = Vec::with_capacity(end - instructions);
    out.extend_from_slice(glyph.slice(0, ends_end)?);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(glyph.slice(flags_start, end - flags_start)?);
    Ok(out)
}

/// Where the coordinates of a simple glyph end, by walking its flags.
fn points_end(
    gid: u16,
    glyph: Bytes,
    flags_start: usize,
    points: usize,
) -> Result<usize, FontError> {
    const X_SHORT: u8 = 0x02;
    const Y_SHORT: u8 = 0x04;
    const REPEAT: u8 = 0x08;
    const X_SAME_OR_POSITIVE: u8 = 0x10;
    const Y_SAME_OR_POSITIVE: u8 = 0x20;
    let coordinate_size =
        |flags: u8, short: u8, same: u8| match (flags & short != 0, flags & same != 0) {
            (true, _) => 1,
            (false, true) => 0,
            (false, false) => 2,
        };
    let (mut at, mut seen, mut x_bytes, mut y_bytes) = (flags_start, 0, 0, 0);
    while seen < points {
        let flags = glyph.u8(at)?;
        at += 1;
        let mut times = 1;
        if flags & REPEAT != 0 {
            times += usize::from(glyph.u8(at)?);
            at += 1;
        }
        seen += times;
        x_bytes += times * coordinate_size(flags, X_SHORT, X_SAME_OR_POSITIVE);
        y_bytes += times * coordinate_size(flags, Y_SHORT, Y_SAME_OR_POSITIVE);
    }
    if seen != points {
        return Err(FontError::BadGlyph {
            gid,
            reason: "its flags repeat past the last point",
        });
    }
    let end = at + x_bytes + y_bytes;
    glyph.slice(0, end)?;
    Ok(end)
}

const ARG_1_AND_2_ARE_WORDS: u16 = 0x0001;
const WE_HAVE_A_SCALE: u16 = 0x0008;
const MORE_COMPONENTS: u16 = 0x0020;
const WE_HAVE_AN_X_AND_Y_SCALE: u16 = 0x0040;
const WE_HAVE_A_TWO_BY_TWO: u16 = 0x0080;
const WE_HAVE_INSTRUCTIONS: u16 = 0x0100;

/// One component record of a composite glyph: `data[at..end]`.
struct Component {
    at: usize,
    end: usize,
    glyph: u16,
}

fn composite_components(gid: u16, data: &[u8]) -> Result<Vec<Component>, FontError> {
    let glyph = Bytes::new("glyf", data);
    let mut components = Vec::new();
    let mut at = 10;
    loop {
        let flags = glyph.u16(at)?;
        let arguments = if flags & ARG_1_AND_2_ARE_WORDS != 0 {
            4
        } else {
            2
        };
        let transform = if flags & WE_HAVE_A_SCALE != 0 {
            2
        } else if flags & WE_HAVE_AN_X_AND_Y_SCALE != 0 {
            4
        } else if flags & WE_HAVE_A_TWO_BY_TWO != 0 {
            8
        } else {
            0
        };
        let end = at + 4 + arguments + transform;
        glyph.slice(at, end - at).map_err(|_| FontError::BadGlyph {
            gid,
            reason: "a component record runs past the glyph",
        })?;
        components.push(Component {
            at,
            end,
            glyph: glyph.u16(at + 2)?,
        });
        if flags & MORE_COMPONENTS == 0 {
            return Ok(components);
        }
        at = end;
    }
}

/// A composite glyph with its component ids renumbered and its instructions dropped.
fn rewrite_composite(
    gid: u16,
    data: &[u8],
    map: &BTreeMap<u16, u16>,
) -> Result<Vec<u8>, FontError> {
    let mut out = data[..10].to_vec();
    for component in composite_components(gid, data)? {
        let record = &data[component.at..component.end];
        let flags = u16::from_be_bytes([record[0], record[1]]) & !WE_HAVE_INSTRUCTIONS;
        // closure() kept every component, so the map has it.
        let new = map
            .get(&component.glyph)
            .copied()
            .ok_or(FontError::BadGlyph {
                gid,
                reason: "a component was not kept",
            })?;
        out.extend(flags.to_be_bytes());
        out.extend(new.to_be_bytes());
        out.extend_from_slice(&record[4..]);
    }
    Ok(out)
}

fn patch_u16(table: &[u8], offset: usize, value: u16) -> Vec<u8> {
    let mut out = table.to_vec();
    out[offset..offset + 2].copy_from_slice(&value.to_be_bytes());
    out
}

fn patch_u32(table: &[u8], offset: usize, value: u32) -> Vec<u8> {
    let mut out = table.to_vec();
    out[offset..offset + 4].copy_from_slice(&value.to_be_bytes());
    out
}

fn write_loca(offsets: &[usize], long: bool) -> Vec<u8> {
    let mut loca = Vec::with_capacity(offsets.len() * 4);
    for &offset in offsets {
        if long {
            loca.extend((offset as u32).to_be_bytes());
        } else {
            loca.extend(((offset / 2) as u16).to_be_bytes());
        }
    }
    loca
}

/// The OpenType table checksum: the sum of the big-endian u32 words, zero-padded.
fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

/// The font file: directory sorted by tag, tables 4-byte aligned, checksums, and head's
/// checkSumAdjustment (whose slot in `head` must be zero on entry).
fn assemble(mut tables: Vec<(Tag, Vec<u8>)>) -> Vec<u8> {
    tables.sort_by_key(|table| table.0);
    let count = tables.len() as u16;
    let entry_selector = 15 - count.leading_zeros() as u16;
    let search_range = 16 * (1u16 << entry_selector);
    let mut font = Vec::new();
    font.extend(0x0001_0000u32.to_be_bytes());
    for field in [
        count,
        search_range,
        entry_selector,
        16 * count - search_range,
    ] {
        font.extend(field.to_be_bytes());
    }
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (tag, data) in &tables {
        font.extend(tag);
        font.extend(checksum(data).to_be_bytes());
        font.extend((offset as u32).to_be_bytes());
        font.extend((data.len() as u32).to_be_bytes());
        if tag == b"head" {
            head_at = Some(offset);
        }
        offset += data.len().next_multiple_of(4);
    }
    for (_, data) in &tables {
        font.extend(data);
        font.resize(font.len().next_multiple_of(4), 0);
    }
    if let Some(head) = head_at {
        let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&font));
        font[head + 8..head + 12].copy_from_slice(&adjustment.to_be_bytes());
    }
    font
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    const STYLES: [&str; 4] = ["Regular", "Bold", "Italic", "BoldItalic"];
    static FONTS: [&[u8]; 4] = [
        include_bytes!("../../data/fonts/LiberationSans-Regular.ttf"),
        include_bytes!("../../data/fonts/LiberationSans-Bold.ttf"),
        include_bytes!("../../data/fonts/LiberationSans-Italic.ttf"),
        include_bytes!("../../data/fonts/LiberationSans-BoldItalic.ttf"),
    ];
    const SAMPLE: &str = "« L’Haÿ-les-Roses — École n° 1 « Les Œillets » 10 € »";
    const PAGE_EXTRA: &str = "éèêàçôûî«»’—€œŒÉ";

    fn faces() -> impl Iterator<Item = (&'static str, Face<'static>)> {
        STYLES
            .iter()
            .zip(FONTS)
            .map(|(style, ttf)| (*style, Face::parse(ttf).expect(style)))
    }

    fn font_path(style: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("data/fonts/LiberationSans-{style}.ttf"))
    }

    /// Printable ASCII and the French characters of a convention page.
    fn page_text() -> String {
        (' '..='~').chain(PAGE_EXTRA.chars()).collect()
    }

    fn glyphs_of(face: &Face, text: &str) -> Vec<u16> {
        text.chars()
            .map(|c| {
                face.glyph(c)
                    .unwrap_or_else(|| panic!("no glyph for {c:?}"))
            })
            .collect()
    }

    /// The table directory of a font: tag, offset, length, in file order.
    fn directory(ttf: &[u8]) -> Vec<(String, usize, usize)> {
        let file = Bytes::new("test", ttf);
        (0..usize::from(file.u16(4).unwrap()))
            .map(|i| {
                let tag = String::from_utf8_lossy(&ttf[12 + 16 * i..16 + 16 * i]).into_owned();
                let offset = file.u32(20 + 16 * i).unwrap() as usize;
                (tag, offset, file.u32(24 + 16 * i).unwrap() as usize)
            })
            .collect()
    }

    fn table_tags(ttf: &[u8]) -> Vec<String> {
        directory(ttf).into_iter().map(|(tag, _, _)| tag).collect()
    }

    fn table_at(ttf: &[u8], tag: &str) -> usize {
        directory(ttf).into_iter().find(|t| t.0 == tag).unwrap().1
    }

    #[test]
    fn french_characters_have_glyphs_with_the_advances_fonttools_reads() {
        // Glyph ids and advances as fontTools 4.68 reads them (cmap, hmtx), per style.
        let expected = [
            ('é', 171, [1139, 1139, 1139, 1139]),
            ('«', 109, [1139, 1139, 1139, 1139]),
            ('’', 2021, [455, 569, 455, 569]),
            ('€', 2088, [1139, 1139, 1139, 1139]),
            ('Œ', 276, [2048, 2048, 2048, 2048]),
        ];
        for (i, (style, face)) in faces().enumerate() {
            for (c, gid, advances) in expected {
                assert_eq!(face.glyph(c), Some(gid), "{style} {c:?}");
                assert_eq!(face.advance(gid), advances[i], "{style} {c:?}");
            }
            assert_eq!(face.glyph('\u{10FFFF}'), None, "{style}");
            assert_eq!(face.glyph('\u{E000}'), None, "{style}: private use");
        }
    }

    #[test]
    fn metrics_and_names_are_those_of_the_descriptor() {
        let names = [
            "LiberationSans",
            "LiberationSans-Bold",
            "LiberationSans-Italic",
            "LiberationSans-BoldItalic",
        ];
        for ((style, face), name) in faces().zip(names) {
            assert_eq!(face.postscript_name(), name);
            let m = face.metrics();
            assert_eq!(face.units_per_em(), 2048);
            assert_eq!((m.ascender, m.descender, m.cap_height), (1854, -434, 1409));
            let italic = style.contains("Italic");
            assert_eq!(m.italic_angle, if italic { -12.0 } else { 0.0 }, "{style}");
            assert_eq!(
                m.weight_class,
                if style.starts_with("Bold") { 700 } else { 400 }
            );
        }
        let regular = Face::parse(FONTS[0]).unwrap().metrics();
        assert_eq!(regular.bbox, [-1114, -621, 2666, 2007]);
    }

    #[test]
    fn past_the_last_long_metric_glyphs_take_the_last_advance() {
        let face = Face::parse(FONTS[0]).unwrap();
        let subset = face.subset(&[face.glyph('A').unwrap()]).unwrap();
        // Two long metrics only: the second glyph's advance holds for the third.
        let mut ttf = subset.font.clone();
        let hhea = table_at(&ttf, "hhea");
        ttf[hhea + 34..hhea + 36].copy_from_slice(&1u16.to_be_bytes());
        let one_metric = Face::parse(&ttf).unwrap();
        assert_eq!(one_metric.advance(1), one_metric.advance(0));
        assert_eq!(one_metric.advance(1), face.advance(0));
        assert_eq!(one_metric.advance(2), 0, "no glyph 2");
    }

    #[test]
    fn subsets_load_in_fonttools_with_identical_outlines() {
        let dir = tempfile::tempdir().unwrap();
        for (style, face) in faces() {
            for (label, text) in [("sample", SAMPLE.to_string()), ("page", page_text())] {
                let subset = face.subset(&glyphs_of(&face, &text)).unwrap();
                let path = dir.path().join(format!("{style}-{label}.ttf"));
                std::fs::write(&path, &subset.font).unwrap();
                let said = fonttools_check(&font_path(style), &path, &face, &subset, &text);
                println!("{style} {label}: fontTools {said}");
            }
        }
    }

    /// Runs scripts/check_font_subset.py; its verdict, or a panic with its failures.
    fn fonttools_check(
        original: &Path,
        path: &Path,
        face: &Face,
        subset: &Subset,
        text: &str,
    ) -> String {
        // The venv of make test, which pins fontTools (scripts/requirements.txt).
        let python = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
        let install =
            "run `scripts/setup-tools.sh` (it installs fontTools from scripts/requirements.txt)";
        let chars: Vec<_> = text
            .chars()
            .map(|c| {
                let gid = face.glyph(c).unwrap();
                serde_json::json!([c.to_string(), gid, face.advance(gid)])
            })
            .collect();
        let request = serde_json::json!({
            "original": original, "subset": path, "chars": chars,
            "map": subset.map.iter().collect::<Vec<_>>(),
        });
        let mut child = std::process::Command::new(python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/scripts/check_font_subset.py"
            ))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python} ({e}): {install}"));
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(request.to_string().as_bytes()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
        match out.status.code() {
            Some(0) => said,
            Some(2) => panic!("fontTools is missing from {python}: {install}"),
            _ => panic!("fontTools refuses {}:\n{said}", path.display()),
        }
    }

    #[test]
    fn subsets_keep_no_hinting_and_no_cmap() {
        let face = Face::parse(FONTS[0]).unwrap();
        let subset = face.subset(&glyphs_of(&face, SAMPLE)).unwrap();
        let tags = table_tags(&subset.font);
        assert_eq!(
            tags,
            ["OS/2", "glyf", "head", "hhea", "hmtx", "loca", "maxp", "name", "post"]
        );
        let small = Face::parse(&subset.font).unwrap();
        assert_eq!(usize::from(small.glyph_count()), subset.glyph_count());
        assert_eq!(small.glyph('L'), None, "no cmap");
        for new in 0..small.glyph_count() {
            let data = small.glyph_data(new).unwrap();
            match outline_kind(new, data).unwrap() {
                Outline::Empty => {}
                Outline::Simple => {
                    let contours = usize::from(u16::from_be_bytes([data[0], data[1]]));
                    assert_eq!(&data[10 + 2 * contours..12 + 2 * contours], [0, 0]);
                }
                Outline::Composite => {
                    let components = composite_components(new, data).unwrap();
                    assert_eq!(
                        components.last().unwrap().end,
                        data.len(),
                        "trailing instructions"
                    );
                    for c in &components {
                        assert_eq!(
                            u16::from_be_bytes([data[c.at], data[c.at + 1]]) & WE_HAVE_INSTRUCTIONS,
                            0
                        );
                    }
                }
            }
        }
        for (&old, &new) in &subset.map {
            assert_eq!(small.advance(new), face.advance(old));
        }
    }

    #[test]
    fn composite_glyphs_bring_their_components() {
        let face = Face::parse(FONTS[0]).unwrap();
        let (e_acute, e) = (face.glyph('é').unwrap(), face.glyph('e').unwrap());
        let acute = face.glyph('´').unwrap();
        let components: Vec<u16> = face
            .components(e_acute)
            .unwrap()
            .iter()
            .map(|c| c.glyph)
            .collect();
        assert_eq!(components, [e, acute], "é is e + acute in Liberation Sans");

        let alone = face.subset(&[e_acute]).unwrap();
        let expected = BTreeMap::from([(0, 0), (e_acute, 1), (e, 2), (acute, 3)]);
        assert_eq!(alone.map, expected);
        let small = Face::parse(&alone.font).unwrap();
        let renumbered: Vec<u16> = small
            .components(1)
            .unwrap()
            .iter()
            .map(|c| c.glyph)
            .collect();
        assert_eq!(renumbered, [2, 3]);

        // Asked for, e takes its place in old-id order and is not added twice.
        let both = face.subset(&[e_acute, e, e]).unwrap();
        assert_eq!(
            both.map,
            BTreeMap::from([(0, 0), (e, 1), (e_acute, 2), (acute, 3)])
        );
        assert_eq!(both.new_id(acute), Some(3));
        assert_eq!(both.new_id(face.glyph('z').unwrap()), None);
    }

    #[test]
    fn requested_glyphs_are_numbered_in_old_id_order() {
        let face = Face::parse(FONTS[0]).unwrap();
        let glyphs: Vec<u16> = "zAa".chars().map(|c| face.glyph(c).unwrap()).collect();
        let subset = face
            .subset(&[glyphs[0], 0, glyphs[1], glyphs[2], glyphs[1]])
            .unwrap();
        let mut sorted = glyphs.clone();
        sorted.sort_unstable();
        let news: Vec<u16> = sorted.iter().map(|&g| subset.new_id(g).unwrap()).collect();
        assert_eq!(news, [1, 2, 3]);
        assert_eq!((subset.new_id(0), subset.glyph_count()), (Some(0), 4));
    }

    /// A font of the given glyf records, on Liberation's head/hhea/maxp, advances 500.
    fn synthetic_font(glyphs: &[Vec<u8>]) -> Vec<u8> {
        let base = Face::parse(FONTS[0]).unwrap();
        let count = glyphs.len() as u16;
        let mut glyf = Vec::new();
        let mut offsets = vec![0];
        for g in glyphs {
            glyf.extend(g);
            offsets.push(glyf.len());
        }
        let hmtx: Vec<u8> = glyphs.iter().flat_map(|_| [1, 244, 0, 0]).collect();
        assemble(vec![
            (*b"head", base.write_head(true)),
            (*b"hhea", patch_u16(base.hhea.data, 34, count)),
            (*b"maxp", patch_u16(base.maxp.data, 4, count)),
            (*b"hmtx", hmtx),
            (*b"loca", write_loca(&offsets, true)),
            (*b"glyf", glyf),
        ])
    }

    /// A triangle, with two bytes of instructions.
    fn simple_glyph() -> Vec<u8> {
        let mut g = Vec::new();
        for v in [1i16, 0, 0, 100, 100, 2, 2] {
            g.extend(v.to_be_bytes()); // contours, bbox, last point, instructionLength
        }
        g.extend([0xB0, 0x01, 0x01, 0x01, 0x01]); // PUSHB 1; flags: on curve, word coordinates
        for v in [0i16, 100, -50, 0, 0, 100] {
            g.extend(v.to_be_bytes());
        }
        g
    }

    /// One component moved by (10, 20), with instructions after it.
    fn composite_glyph(component: u16) -> Vec<u8> {
        let mut g = Vec::new();
        for v in [-1i16, 0, 0, 100, 100] {
            g.extend(v.to_be_bytes());
        }
        g.extend((ARG_1_AND_2_ARE_WORDS | 0x0002 | WE_HAVE_INSTRUCTIONS).to_be_bytes());
        g.extend(component.to_be_bytes());
        g.extend([0, 10, 0, 20, 0, 1, 0xB0]);
        g
    }

    #[test]
    fn components_of_components_are_kept() {
        // 3 -> 2 -> 1, composites of composites, which Liberation Sans does not have.
        let ttf = synthetic_font(&[
            Vec::new(),
            simple_glyph(),
            composite_glyph(1),
            composite_glyph(2),
        ]);
        let face = Face::parse(&ttf).unwrap();
        let subset = face.subset(&[3]).unwrap();
        assert_eq!(subset.map, BTreeMap::from([(0, 0), (3, 1), (2, 2), (1, 3)]));
        let small = Face::parse(&subset.font).unwrap();
        let strip = |g: &[u8]| g[..g.len() - 3].to_vec(); // instructions gone
        let mut first = strip(&composite_glyph(2));
        first[10..12].copy_from_slice(&(ARG_1_AND_2_ARE_WORDS | 0x0002).to_be_bytes());
        assert_eq!(small.glyph_data(1).unwrap(), [first, vec![0; 2]].concat());
        assert_eq!(small.components(2).unwrap()[0].glyph, 3);
        let triangle = small.glyph_data(3).unwrap();
        let mut expected = simple_glyph();
        expected.splice(12..16, [0, 0]); // instructionLength 0, PUSHB 1 gone
        assert_eq!(triangle[..expected.len()], expected);
        assert_eq!(small.advance(3), 500);
    }

    #[test]
    fn unknown_glyphs_are_refused() {
        let face = Face::parse(FONTS[0]).unwrap();
        let err = face.subset(&[36, 9999]).unwrap_err();
        assert_eq!(
            err,
            FontError::NoSuchGlyph {
                gid: 9999,
                num_glyphs: 2620
            }
        );
        assert_eq!(
            err.to_string(),
            "glyph 9999 does not exist: the font has 2620 glyphs"
        );
    }

    #[test]
    fn other_formats_are_refused() {
        let mut otf = FONTS[0].to_vec();
        otf[..4].copy_from_slice(b"OTTO");
        assert!(matches!(Face::parse(&otf), Err(FontError::NotTrueType(_))));
        assert!(Face::parse(b"").is_err());
    }

    #[test]
    fn cmap_format_12_reaches_past_the_bmp() {
        let mut sub = Vec::new();
        for v in [12u32 << 16, 16 + 24, 0, 2] {
            sub.extend(v.to_be_bytes());
        }
        for v in [0x41u32, 0x5A, 10, 0x1F600, 0x1F64F, 500] {
            sub.extend(v.to_be_bytes());
        }
        let table = Bytes::new("cmap", &sub);
        let table = check_cmap12(table).unwrap();
        assert_eq!(cmap12_lookup(table, 'C' as u32), Some(12));
        assert_eq!(cmap12_lookup(table, 0x1F601), Some(501));
        assert_eq!(cmap12_lookup(table, 'a' as u32), None);
        assert_eq!(cmap12_lookup(table, 0x1F650), None);
    }

    #[test]
    fn page_subsets_are_small_and_quick() {
        for (style, face) in faces() {
            let glyphs = glyphs_of(&face, &page_text());
            let start = Instant::now();
            let subset = face.subset(&glyphs).unwrap();
            let took = start.elapsed();
            println!(
                "{style}: {} glyphs, {} bytes uncompressed, subset in {took:?}",
                subset.glyph_count(),
                subset.font.len()
            );
            assert!(
                subset.font.len() < 25_000,
                "{style}: {} bytes",
                subset.font.len()
            );
        }
    }

    /// Everything a caller may do with a font; must not panic, whatever the bytes.
    fn exercise(ttf: &[u8]) -> Result<(), FontError> {
        let face = Face::parse(ttf)?;
        let _ = (face.metrics(), face.postscript_name(), face.units_per_em());
        let glyphs: Vec<u16> = SAMPLE.chars().filter_map(|c| face.glyph(c)).collect();
        for gid in 0..face.glyph_count().saturating_add(2) {
            face.advance(gid);
        }
        let all: Vec<u16> = (0..face.glyph_count().min(200)).collect();
        for request in [glyphs, all] {
            let subset = face.subset(&request)?;
            let again = Face::parse(&subset.font).expect("a subset that parses");
            assert_eq!(usize::from(again.glyph_count()), subset.glyph_count());
        }
        Ok(())
    }

    #[test]
    fn truncated_fonts_are_errors() {
        let face = Face::parse(FONTS[0]).unwrap();
        let small = face.subset(&glyphs_of(&face, SAMPLE)).unwrap().font;
        for ttf in [FONTS[0], &small] {
            let end = directory(ttf)
                .iter()
                .map(|(_, at, len)| at + len)
                .max()
                .unwrap();
            let cuts =
                (0..600).chain((600..end).step_by(if ttf.len() > 100_000 { 331 } else { 3 }));
            for cut in cuts.chain([end - 1]) {
                assert!(
                    exercise(&ttf[..cut]).is_err(),
                    "cut at {cut} of {}",
                    ttf.len()
                );
            }
        }
    }

    /// xorshift64: reproducible without a seeded crate.
    struct Random(u64);
    impl Random {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    #[test]
    fn garbled_fonts_never_panic() {
        let face = Face::parse(FONTS[0]).unwrap();
        let small = face.subset(&glyphs_of(&face, &page_text())).unwrap().font;
        // Glyph 3 is its own component: a cycle must neither loop nor overflow.
        let nested = synthetic_font(&[
            Vec::new(),
            simple_glyph(),
            composite_glyph(1),
            composite_glyph(3),
        ]);
        // In the full font, flips aim at the directory and the tables read, not GPOS.
        let read = [
            "head", "hhea", "maxp", "cmap", "loca", "name", "OS/2", "post",
        ];
        let regions: Vec<(usize, usize)> = directory(FONTS[0])
            .into_iter()
            .filter(|(tag, _, _)| read.contains(&tag.as_str()))
            .map(|(_, at, len)| (at, len.min(4096)))
            .chain([(0, 12 + 16 * 20)])
            .collect();
        let mut random = Random(0x5EED_F0E7);
        let (mut ok, mut err) = (0, 0);
        for round in 0..4000 {
            let (mut ttf, region) = match round % 4 {
                0 => (FONTS[0].to_vec(), regions[random.below(regions.len())]),
                1 => (nested.clone(), (0, nested.len())),
                _ => (small.clone(), (0, small.len())),
            };
            for _ in 0..1 + random.below(4) {
                let at = region.0 + random.below(region.1);
                ttf[at] ^= 1 + random.below(255) as u8;
            }
            match exercise(&ttf) {
                Ok(()) => ok += 1,
                Err(_) => err += 1,
            }
        }
        println!("garbled fonts: {ok} still usable, {err} refused");
        assert!(err > 0);
    }
}
