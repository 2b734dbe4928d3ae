//! genpdf elements the convention needs and genpdf lacks: a table whose header repeats on every
//! page, a QR code drawn as filled rectangles; and `finish`, which completes what genpdf wrote
//! (text lines and QR code at their markers, page count, stream compression).

use super::text::{encode, Line, LINE_MARKER_RGB};
use genpdf::elements::TableLayout;
use genpdf::render::Area;
use genpdf::style::Style;
use genpdf::{Context, Element, Mm, Position, RenderResult};

/// A table whose header row is printed again at the top of each page it continues on.
pub struct RepeatingHeaderTable {
    header: Box<dyn Fn() -> TableLayout>,
    body: TableLayout,
}

impl RepeatingHeaderTable {
    pub fn new(header: impl Fn() -> TableLayout + 'static, body: TableLayout) -> Self {
        RepeatingHeaderTable {
            header: Box::new(header),
            body,
        }
    }
}

impl Element for RepeatingHeaderTable {
    fn render(
        &mut self,
        context: &Context,
        mut area: Area<'_>,
        style: Style,
    ) -> Result<RenderResult, genpdf::error::Error> {
        let mut header = (self.header)();
        let h = header.render(context, area.clone(), style)?;
        area.add_offset(Position::new(0, h.size.height));
        let mut result = self.body.render(context, area, style)?;
        result.size.height += h.size.height;
        result.size.width = result.size.width.max(h.size.width);
        Ok(result)
    }
}

/// A QR code of `text`, `side` wide. genpdf only draws 1 pt strokes, which would take
/// thousands of them; so the element reserves its square and draws one marker stroke at its
/// corner, and [`finish`] replaces the marker with the modules as filled rectangles, written
/// straight into the page's content stream (a few hundred bytes, crisp at any zoom).
pub struct QrCode {
    side: Mm,
}

/// The marker colour, (3, 5, 8)/255 as printpdf writes it; never used otherwise.
const MARKER_RGB: &str = "0.01 0.02 0.03 RG";

impl QrCode {
    pub fn new(side: Mm) -> Self {
        QrCode { side }
    }
}

impl Element for QrCode {
    fn render(
        &mut self,
        _: &Context,
        area: Area<'_>,
        style: Style,
    ) -> Result<RenderResult, genpdf::error::Error> {
        let mut result = RenderResult::default();
        if area.size().height < self.side {
            result.has_more = true;
            return Ok(result);
        }
        // From the top-left to the bottom-right corner of the square.
        let marker = style.with_color(genpdf::style::Color::Rgb(3, 5, 8));
        area.draw_line(
            vec![Position::new(0, 0), Position::new(self.side, self.side)],
            marker,
        );
        result.size = genpdf::Size::new(self.side, self.side);
        Ok(result)
    }
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
            ops.push_str(&format!(
                "{rx:.2} {ry:.2} {:.2} {module:.3} re\n",
                (col - start) as f64 * module
            ));
        }
    }
    ops.push_str("f Q\n");
    Some(ops)
}

/// Replaces the QR marker stroke in a content stream by the QR modules of `text`.
fn inject_qr(content: &str, text: &str) -> Option<String> {
    let at = content.find(MARKER_RGB)?;
    let start = at + MARKER_RGB.len();
    let ((x1, y1, x2), len) = marker_stroke(&content.as_bytes()[start..])?;
    let ops = qr_operators(text, x1, y1, x2 - x1)?;
    Some(format!(
        "{}{}{}",
        &content[..at],
        ops,
        &content[start + len..]
    ))
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

/// Placeholder printed where the page count goes; replaced when the lines are placed, once the
/// count is known, which spares a second layout pass. `¤` never comes from data (see `pdf_safe`).
pub const PAGE_COUNT_PLACEHOLDER: &str = "¤¤¤";

/// Replaces each line marker of a content stream (see [`super::text`]) by the text operators
/// of its line: one text object, one `Tj` per font run, the glyphs advancing by the font's
/// own widths (the ones the line was measured with).
fn place_lines(
    content: &[u8],
    lines: &[Line],
    placed: &mut [bool],
    pages: &str,
) -> Option<Vec<u8>> {
    use std::io::Write;
    let placeholder = encode(PAGE_COUNT_PLACEHOLDER);
    let mut out = Vec::with_capacity(content.len() + lines.len() * 64);
    let mut rest = content;
    while let Some(at) = memchr::memmem::find(rest, LINE_MARKER_RGB) {
        out.extend_from_slice(&rest[..at]);
        let stroke = &rest[at + LINE_MARKER_RGB.len()..];
        let ((x1, y1, x2), end) = marker_stroke(stroke)?;
        let index = ((x2 - x1).round() as usize).checked_sub(1)?;
        let line = lines.get(index)?;
        // Each line exactly once: a second marker would mean a layout we do not understand.
        if std::mem::replace(placed.get_mut(index)?, true) {
            return None;
        }
        write!(out, "BT\n{x1:.2} {:.2} Td\n", y1 - line.baseline).ok()?;
        for run in &line.runs {
            write!(out, "/{} {} Tf\n(", run.font, run.size).ok()?;
            let mut text = &run.text[..];
            while !text.is_empty() {
                if text.starts_with(&placeholder) {
                    out.extend_from_slice(pages.as_bytes());
                    text = &text[placeholder.len()..];
                    continue;
                }
                if matches!(text[0], b'(' | b')' | b'\\') {
                    out.push(b'\\');
                }
                out.push(text[0]);
                text = &text[1..];
            }
            out.extend_from_slice(b") Tj\n");
        }
        out.extend_from_slice(b"ET\n");
        rest = &stroke[end..];
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// Finishes the PDF that genpdf (printpdf 0.3) wrote: writes the text lines at their markers
/// with the page count in place of its placeholder, draws the QR code at its marker, and
/// deflates the page contents, which printpdf leaves uncompressed (it divides the size by
/// about four). Objects are located through the xref table, then written again
/// with a new one. Returns None if the file is not laid out as printpdf writes it, or if a
/// laid-out line did not find its marker.
pub fn finish(
    pdf: &[u8],
    pages: usize,
    qr_text: Option<&str>,
    text_lines: &[Line],
) -> Option<Vec<u8>> {
    use std::io::Write;
    let xref_at = find_last(pdf, b"\nxref\n")? + 1;
    let table = std::str::from_utf8(&pdf[xref_at..]).ok()?;
    let mut lines = table.lines().skip(1);
    let count: usize = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let offsets: Vec<usize> = lines
        .by_ref()
        .take(count)
        .skip(1)
        .map(|l| l[..10].parse().ok())
        .collect::<Option<_>>()?;
    let trailer_at = table.find("trailer")?;
    let trailer_end = table.find("startxref")?;
    let trailer = &table[trailer_at..trailer_end];

    let pages = pages.to_string();
    let mut placed = vec![false; text_lines.len()];
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&i| offsets[i]);
    let mut out = Vec::with_capacity(pdf.len() / 3);
    out.extend_from_slice(&pdf[..*offsets.iter().min()?]);
    let mut new_offsets = vec![0usize; offsets.len()];
    let mut sorted = offsets.clone();
    sorted.push(xref_at);
    sorted.sort_unstable();
    for &i in &order {
        let start = offsets[i];
        let end = sorted[sorted.partition_point(|&o| o <= start)];
        let obj = &pdf[start..end];
        new_offsets[i] = out.len();
        const HEAD: &[u8] = b" 0 obj<</Length ";
        match find(obj, HEAD) {
            Some(h) if obj[h + HEAD.len()..].starts_with_digits_then(b">>stream\n") => {
                let len_start = h + HEAD.len();
                let len_end =
                    len_start + obj[len_start..].iter().position(|b| !b.is_ascii_digit())?;
                let len: usize = std::str::from_utf8(&obj[len_start..len_end])
                    .ok()?
                    .parse()
                    .ok()?;
                let data_start = len_end + b">>stream\n".len();
                let data = obj.get(data_start..data_start + len)?;
                // printpdf writes the operators in ASCII.
                let mut text = String::from_utf8_lossy(data).into_owned();
                if let Some(qr) = qr_text.filter(|_| text.contains(MARKER_RGB)) {
                    text = inject_qr(&text, qr)?;
                }
                let text = place_lines(
                    &single_byte_strings(text.as_bytes()),
                    text_lines,
                    &mut placed,
                    &pages,
                )?;
                let mut z = flate2::write::ZlibEncoder::new(
                    Vec::with_capacity(text.len() / 3),
                    flate2::Compression::new(COMPRESSION),
                );
                z.write_all(&text).ok()?;
                let z = z.finish().ok()?;
                out.extend_from_slice(&obj[..h]);
                writeln!(
                    out,
                    " 0 obj<</Length {}/Filter/FlateDecode>>stream",
                    z.len()
                )
                .ok()?;
                out.extend_from_slice(&z);
                out.extend_from_slice(&obj[data_start + len..]);
            }
            _ => out.extend_from_slice(obj),
        }
    }
    let xref = out.len();
    write!(out, "xref\n0 {count}\n0000000000 65535 f \n").ok()?;
    for o in new_offsets {
        writeln!(out, "{o:010} 00000 n ").ok()?;
    }
    write!(out, "{trailer}startxref\n{xref}\n%%EOF").ok()?;
    // Every line laid out is in the file: text never silently goes missing from a convention.
    placed.iter().all(|&p| p).then_some(out)
}

/// zlib level of the page streams: 3 is within 3 % of level 6's size in two thirds of its time
/// (level 1 is faster still but a quarter larger).
const COMPRESSION: u32 = 3;

/// printpdf 0.3 writes each character of a built-in font as its own two-byte hex string
/// (`<0043><006F>`), though the WinAnsi encoding is one byte per character: the high byte draws
/// an invisible `.notdef` and triples the stream. Merges each run of such strings into one
/// single-byte string (`<436F>`); anything else is copied as is.
fn single_byte_strings(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() / 2);
    let mut i = 0;
    let is_glyph = |at: usize| {
        content.get(at..at + 6).is_some_and(|t| {
            t[0] == b'<'
                && &t[1..3] == b"00"
                && t[3..5].iter().all(u8::is_ascii_hexdigit)
                && t[5] == b'>'
        })
    };
    while i < content.len() {
        if is_glyph(i) {
            out.push(b'<');
            while is_glyph(i) {
                out.extend_from_slice(&content[i + 3..i + 5]);
                i += 6;
            }
            out.push(b'>');
        } else {
            out.push(content[i]);
            i += 1;
        }
    }
    out
}

trait StartsWithDigits {
    fn starts_with_digits_then(&self, tail: &[u8]) -> bool;
}

impl StartsWithDigits for [u8] {
    fn starts_with_digits_then(&self, tail: &[u8]) -> bool {
        let n = self.iter().take_while(|b| b.is_ascii_digit()).count();
        n > 0 && self[n..].starts_with(tail)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// French typography: a no-break space (Windows-1252 0xA0, drawn as a space by the built-in
/// fonts) before « ; : ! ? » and inside guillemets, so that no line starts with one of them;
/// `Text` breaks lines at plain spaces only.
pub fn french_spacing(s: &str) -> String {
    s.replace(" ;", "\u{a0};")
        .replace(" :", "\u{a0}:")
        .replace(" !", "\u{a0}!")
        .replace(" ?", "\u{a0}?")
        .replace("« ", "«\u{a0}")
        .replace(" »", "\u{a0}»")
}
