//! Page content: genpdf's page streams become ours. genpdf lays out and draws frames; the
//! text and the QR code are drawn at markers (see `render::text` and `render::elements`),
//! replaced here by their operators inside marked content (ISO 32000-1, 14.6) tied to the
//! structure tree, while every other drawing becomes an artifact (PDF/UA-1 7.1).

use super::fonts::Encoder;
use crate::render::structure::{Elem, Kid, Mark, Structure};
use crate::render::text::{decode, Line, LINE_MARKER_RGB};
use std::io::Write as _;

/// The marker colour of the QR code, (3, 5, 8)/255 as printpdf writes it; never used otherwise.
pub const QR_MARKER_RGB: &[u8] = b"0.01 0.02 0.03 RG\n";

/// Placeholder printed where the page count goes; replaced when the lines are placed, once the
/// count is known, which spares a second layout pass. `¤` never comes from data (see `pdf_safe`).
pub const PAGE_COUNT_PLACEHOLDER: &str = "¤¤¤";

/// What the pages of one document share while they are converted.
pub struct Pages<'a> {
    pub lines: &'a [Line],
    pub encoders: &'a [Option<Encoder>; 4],
    pub structure: &'a Structure,
    /// The QR code's text and figure element.
    pub qr: Option<(&'a str, Elem)>,
    /// The page count, as printed.
    pub count: String,
    placed: Vec<bool>,
    /// Per page, the element of each marked content, by MCID: the parent tree's arrays.
    pub parents: Vec<Vec<Elem>>,
}

impl<'a> Pages<'a> {
    pub fn new(
        lines: &'a [Line],
        encoders: &'a [Option<Encoder>; 4],
        structure: &'a Structure,
        qr: Option<(&'a str, Elem)>,
        count: usize,
    ) -> Self {
        Pages {
            lines,
            encoders,
            structure,
            qr,
            count: count.to_string(),
            placed: vec![false; lines.len()],
            parents: Vec::new(),
        }
    }

    /// True once every laid-out line is in a page: text never silently goes missing.
    pub fn all_placed(&self) -> bool {
        self.placed.iter().all(|&p| p)
    }

    /// The content stream of the next page from genpdf's (decoded, uncompressed). None if it
    /// is not as genpdf and printpdf 0.3 write it.
    pub fn convert(&mut self, raw: &[u8]) -> Option<Vec<u8>> {
        let page = self.parents.len();
        self.parents.push(Vec::new());
        let body = strip_layer(raw)?;
        // genpdf itself writes no text here: every text goes through `render::text`.
        if contains_operator(body, b"BT") {
            return None;
        }
        let mut out = Vec::with_capacity(body.len() * 2);
        let mut rest = body;
        loop {
            let line = memchr::memmem::find(rest, LINE_MARKER_RGB);
            let qr = memchr::memmem::find(rest, QR_MARKER_RGB);
            let (at, is_qr) = match (line, qr) {
                (None, None) => break,
                (Some(l), Some(q)) if q < l => (q, true),
                (Some(l), _) => (l, false),
                (None, Some(q)) => (q, true),
            };
            artifact(&mut out, &rest[..at]);
            let stroke = &rest[at + LINE_MARKER_RGB.len()..];
            let ((x1, y1, x2), end) = marker_stroke(stroke)?;
            if is_qr {
                let (text, figure) = self.qr?;
                let ops = qr_operators(text, x1, y1, x2 - x1)?;
                self.open(&mut out, page, Mark::In(figure));
                out.extend_from_slice(ops.as_bytes());
            } else {
                let index = ((x2 - x1).round() as usize).checked_sub(1)?;
                let line = self.lines.get(index)?;
                // Each line exactly once: a second marker would mean a layout we do not know.
                if std::mem::replace(self.placed.get_mut(index)?, true) {
                    return None;
                }
                self.open(&mut out, page, line.mark);
                self.text(&mut out, line, x1, y1 - line.baseline)?;
            }
            out.extend_from_slice(b"EMC\n");
            rest = &stroke[end..];
        }
        artifact(&mut out, rest);
        Some(out)
    }

    /// Opens the marked content of `mark`: an artifact, or the next MCID of the page tied to
    /// its element.
    fn open(&mut self, out: &mut Vec<u8>, page: usize, mark: Mark) {
        match mark {
            Mark::Artifact => out.extend_from_slice(b"/Artifact BMC\n"),
            Mark::In(elem) => {
                let mcids = &mut self.parents[page];
                let mcid = mcids.len();
                mcids.push(elem);
                self.structure.push_kid(elem, Kid::Content { page, mcid });
                let role = self.structure.role(elem).name();
                let _ = writeln!(out, "/{role} <</MCID {mcid}>> BDC");
            }
        }
    }

    /// One text object: one `Tj` per font run, the glyphs advancing by the font's own widths
    /// (the ones the line was measured with).
    fn text(&self, out: &mut Vec<u8>, line: &Line, x: f64, y: f64) -> Option<()> {
        out.extend_from_slice(b"BT\n");
        fixed2(out, x);
        out.push(b' ');
        fixed2(out, y);
        out.extend_from_slice(b" Td\n");
        for run in &line.runs {
            let encoder = self.encoders.get(run.font)?.as_ref()?;
            let _ = writeln!(out, "/F{} {} Tf", run.font, run.size);
            let text = expand_page_count(&run.text, &self.count);
            encoder.hex(text.into_iter(), out);
            out.extend_from_slice(b" Tj\n");
        }
        out.extend_from_slice(b"ET\n");
        Some(())
    }
}

/// `v` with two decimals, as `{v:.2}` writes it but without the float formatting machinery
/// (one per line of text: it showed in the profile).
fn fixed2(out: &mut Vec<u8>, v: f64) {
    let hundredths = (v * 100.0).round() as i64;
    if hundredths < 0 {
        out.push(b'-');
    }
    let h = hundredths.unsigned_abs();
    let _ = write!(out, "{}.{:02}", h / 100, h % 100);
}

/// The characters of a run, the page count in place of its placeholder.
pub fn expand_page_count(text: &[u8], count: &str) -> Vec<char> {
    let placeholder = crate::render::text::encode(PAGE_COUNT_PLACEHOLDER);
    let mut chars = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(&b) = rest.first() {
        if rest.starts_with(&placeholder) {
            chars.extend(count.chars());
            rest = &rest[placeholder.len()..];
            continue;
        }
        chars.push(decode(b).unwrap_or('?'));
        rest = &rest[1..];
    }
    chars
}

/// Drawing that is not content (frames of the annex table, colour settings): an artifact.
fn artifact(out: &mut Vec<u8>, ops: &[u8]) {
    if ops.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    out.extend_from_slice(b"/Artifact BMC\n");
    out.extend_from_slice(ops);
    if !ops.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(b"EMC\n");
}

/// printpdf wraps each layer in an optional-content group and a saved state
/// (`/OC /MC0 BDC q … Q EMC`); the convention has one layer and no optional content, and the
/// marked content we add must not straddle that state: both wrappers go.
fn strip_layer(raw: &[u8]) -> Option<&[u8]> {
    let s = trim(raw);
    let start = memchr::memmem::find(s, b"BDC")? + 3;
    let s = trim(&s[start..]);
    let s = s.strip_prefix(b"q")?;
    let s = trim(s).strip_suffix(b"EMC")?;
    let s = trim(s).strip_suffix(b"Q")?;
    Some(trim(s))
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

fn contains_operator(ops: &[u8], op: &[u8]) -> bool {
    ops.split(|b| b.is_ascii_whitespace()).any(|t| t == op)
}

/// The stroke that follows a marker's colour, as printpdf writes it: "x1 y1 m\nx2 y2 l\nS\n",
/// in points from the page's lower-left corner. Returns (x1, y1, x2) and its length in bytes.
fn marker_stroke(stroke: &[u8]) -> Option<((f64, f64, f64), usize)> {
    let end = memchr::memmem::find(stroke, b"\nS\n")? + 3;
    let mut nums = std::str::from_utf8(&stroke[..end])
        .ok()?
        .split_whitespace()
        .filter_map(|t| t.parse::<f64>().ok());
    Some(((nums.next()?, nums.next()?, nums.next()?), end))
}

/// The modules of a QR code of `text` (level M), row by row. The mask is fixed instead of the
/// one with the lowest penalty score: any mask decodes, and scoring all eight took a tenth of
/// the whole rendering time.
fn qr_modules(text: &str) -> Option<(usize, Vec<qrcode::Color>)> {
    use qrcode::{canvas, ec, EcLevel};
    let level = EcLevel::M;
    let bits = qrcode::bits::encode_auto(text.as_bytes(), level).ok()?;
    let version = bits.version();
    let (data, ec_data) = ec::construct_codewords(&bits.into_bytes(), version, level).ok()?;
    let mut canvas = canvas::Canvas::new(version, level);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec_data);
    canvas.apply_mask(canvas::MaskPattern::Checkerboard);
    Some((usize::try_from(version.width()).ok()?, canvas.into_colors()))
}

/// The QR modules of `text` as PDF path operators filling the square (x, y) – (x2, y2), in
/// points: one rectangle per horizontal run of dark modules, then a single fill.
fn qr_operators(text: &str, x: f64, y_top: f64, side: f64) -> Option<String> {
    use std::fmt::Write as _;
    let (width, colors) = qr_modules(text)?;
    let module = side / (width + 8) as f64; // 4-module quiet zone on each side
    let mut ops = String::from("q 0 0 0 rg\n");
    for row in 0..width {
        let mut col = 0;
        while col < width {
            if colors[row * width + col] != qrcode::Color::Dark {
                col += 1;
                continue;
            }
            let start = col;
            while col < width && colors[row * width + col] == qrcode::Color::Dark {
                col += 1;
            }
            let rx = x + (start + 4) as f64 * module;
            let ry = y_top - (row + 5) as f64 * module;
            let _ = writeln!(
                ops,
                "{rx:.2} {ry:.2} {:.2} {module:.3} re",
                (col - start) as f64 * module
            );
        }
    }
    ops.push_str("f Q\n");
    Some(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_numbers_read_as_floats_do() {
        for v in [0.0, 1.5, -2.25, 595.2756, 12.005, -0.004, 841.89] {
            let mut out = Vec::new();
            fixed2(&mut out, v);
            let s = String::from_utf8(out).unwrap();
            assert!(
                (s.parse::<f64>().unwrap() - v).abs() <= 0.005 + 1e-9,
                "{v} → {s}"
            );
        }
    }

    #[test]
    fn the_layer_wrappers_go() {
        let raw = b"/OC /MC0 BDC\nq\n0 0 0 RG\n1 2 m\n3 4 l\nS\nQ\nEMC\n";
        assert_eq!(strip_layer(raw).unwrap(), b"0 0 0 RG\n1 2 m\n3 4 l\nS");
        assert!(strip_layer(b"q 1 2 m Q").is_none());
    }

    #[test]
    fn drawing_becomes_an_artifact_and_blanks_vanish() {
        let mut out = Vec::new();
        artifact(&mut out, b"  \n");
        assert!(out.is_empty());
        artifact(&mut out, b"1 2 m\n3 4 l\nS");
        assert_eq!(out, b"/Artifact BMC\n1 2 m\n3 4 l\nS\nEMC\n");
    }

    #[test]
    fn the_page_count_replaces_its_placeholder() {
        let text = crate::render::text::encode("page 2 / ¤¤¤ — fin");
        let chars: String = expand_page_count(&text, "12").into_iter().collect();
        assert_eq!(chars, "page 2 / 12 — fin");
    }
}
