//! Text of the convention: laid out by genpdf (lines, pages, table cells), written by us.
//!
//! genpdf's `Paragraph` measures every word with rusttype as it wraps, then writes every
//! character as its own positioned two-byte string; together that was half of the rendering
//! time. [`Text`] wraps with a width table built once from the same font metrics, and for each
//! line draws a marker stroke that [`super::pdf::content`] replaces with the line's text
//! operators (`BT … Tj ET`), one string per style run, inside the marked content of the
//! structure element the text belongs to (its [`Mark`]).

use super::structure::Mark;
use genpdf::render::Area;
use genpdf::style::{Color, Style};
use genpdf::{Alignment, Context, Element, Mm, Position, RenderResult, Size};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::OnceLock;

/// Colour of the line markers, (3, 5, 13)/255 as printpdf writes it; never used otherwise.
pub const LINE_MARKER_RGB: &[u8] = b"0.01 0.02 0.05 RG\n";

/// One laid-out line waiting for its place in a content stream.
#[derive(Debug)]
pub struct Line {
    /// From the marker (top of the line) down to the baseline, in points.
    pub baseline: f64,
    pub runs: Vec<Run>,
    /// The structure element the line is part of, or an artifact (footers).
    pub mark: Mark,
}

/// Consecutive characters of one font and size.
#[derive(Debug)]
pub struct Run {
    /// Index of the face: regular, bold, italic, bold italic (`pdf::FACES`).
    pub font: usize,
    pub size: u8,
    /// Windows-1252: the characters the layout measures (`pdf_safe`).
    pub text: Vec<u8>,
}

/// The lines of one document: filled by its [`Text`] elements, read by `finish`. A marker
/// carries its line's index, so the order of pages in the file does not matter.
#[derive(Clone, Default)]
pub struct Lines(Rc<RefCell<Vec<Line>>>);

impl Lines {
    fn push(&self, line: Line) -> usize {
        let mut lines = self.0.borrow_mut();
        lines.push(line);
        lines.len() - 1
    }

    pub fn take(&self) -> Vec<Line> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

/// A paragraph: styled spans, wrapped at spaces (a word wider than the line is cut).
pub struct Text {
    spans: Vec<(String, Style)>,
    words: Option<VecDeque<Word>>,
    alignment: Alignment,
    lines: Lines,
    mark: Mark,
}

/// Characters between two spaces; pieces when the style changes inside (`**Baulon**,`).
#[derive(Default)]
struct Word {
    pieces: Vec<Piece>,
    width: Mm,
    /// Width of the space that follows, zero at the end of the text.
    space: Mm,
}

struct Piece {
    font: usize,
    size: u8,
    text: Vec<u8>,
}

impl Piece {
    fn width(&self, context: &Context) -> Mm {
        Mm::from(width_of(&metrics(context)[self.font], &self.text) * f64::from(self.size))
    }
}

impl Text {
    pub fn new(lines: &Lines, mark: Mark) -> Self {
        Text {
            spans: Vec::new(),
            words: None,
            alignment: Alignment::Left,
            lines: lines.clone(),
            mark,
        }
    }

    pub fn styled(lines: &Lines, mark: Mark, s: impl Into<String>, style: Style) -> Self {
        Text::new(lines, mark).push(s, style)
    }

    pub fn push(mut self, s: impl Into<String>, style: Style) -> Self {
        self.spans.push((s.into(), style));
        self
    }

    pub fn aligned(mut self, alignment: Alignment) -> Self {
        self.alignment = alignment;
        self
    }

    /// Words of the spans, styles merged with the parent's (done once, at the first render).
    fn words(&self, context: &Context, parent: Style) -> VecDeque<Word> {
        let mut words = VecDeque::new();
        let mut current = Word::default();
        for (s, style) in &self.spans {
            let style = parent.and(*style);
            let font = font_index(style);
            let size = style.font_size();
            let widths = &metrics(context)[font];
            let scale = f64::from(size);
            for (i, part) in s.split(' ').enumerate() {
                if i > 0 && !current.pieces.is_empty() {
                    current.space = Mm::from(widths[usize::from(b' ')] * scale);
                    words.push_back(std::mem::take(&mut current));
                }
                if part.is_empty() {
                    continue;
                }
                let piece = Piece {
                    font,
                    size,
                    text: encode(part),
                };
                current.width += piece.width(context);
                current.pieces.push(piece);
            }
        }
        if !current.pieces.is_empty() {
            words.push_back(current);
        }
        words
    }
}

impl Element for Text {
    fn render(
        &mut self,
        context: &Context,
        mut area: Area<'_>,
        style: Style,
    ) -> Result<RenderResult, genpdf::error::Error> {
        let mut result = RenderResult::default();
        if self.words.is_none() {
            self.words = Some(self.words(context, style));
        }
        let words = self.words.as_mut().expect("set above");
        let font = style.font(&context.font_cache);
        let glyph_height = font.glyph_height(style.font_size());
        let line_height = style.line_height(&context.font_cache);
        let max = area.size().width;
        while !words.is_empty() {
            if glyph_height > area.size().height {
                result.has_more = true;
                break;
            }
            let (runs, width) = take_line(words, max, context);
            let x = match self.alignment {
                Alignment::Left => Mm::from(0),
                Alignment::Center => (max - width) / 2.0,
                Alignment::Right => max - width,
            };
            let index = self.lines.push(Line {
                baseline: printpdf::Pt::from(printpdf::Mm(f64::from(glyph_height))).0,
                runs,
                mark: self.mark,
            });
            // From (x, top) to the right by index + 1 points: finish reads the index back.
            let length = Mm::from(printpdf::Pt(index as f64 + 1.0));
            area.draw_line(
                vec![Position::new(x, 0), Position::new(x + length, 0)],
                Style::new().with_color(Color::Rgb(3, 5, 13)),
            );
            result.size = result.size.stack_vertical(Size::new(width, line_height));
            area.add_offset(Position::new(0, line_height));
        }
        Ok(result)
    }
}

/// Takes the words of one line from the front of `words`; returns its runs and width.
fn take_line(words: &mut VecDeque<Word>, max: Mm, context: &Context) -> (Vec<Run>, Mm) {
    let mut runs = Vec::new();
    let mut x = Mm::from(0);
    // The space after the last word placed; None while the line is empty.
    let mut gap: Option<Mm> = None;
    while let Some(word) = words.front_mut() {
        match gap {
            None if word.width > max => {
                // Wider than the line: as many characters as fit, the rest on the next line.
                let (head, width) = cut(word, max, context);
                return (merge(runs, head), width);
            }
            Some(g) if x + g + word.width > max => break,
            _ => {}
        }
        let word = words.pop_front().expect("front exists");
        if let Some(g) = gap {
            if let Some(last) = runs.last_mut() {
                last.text.push(b' ');
            }
            x += g;
        }
        x += word.width;
        gap = Some(word.space);
        runs = merge(runs, word.pieces);
    }
    (runs, x)
}

/// Appends pieces to runs, extending the last run when font and size are the same.
fn merge(mut runs: Vec<Run>, pieces: Vec<Piece>) -> Vec<Run> {
    for p in pieces {
        match runs.last_mut() {
            Some(r) if r.font == p.font && r.size == p.size => r.text.extend_from_slice(&p.text),
            _ => runs.push(Run {
                font: p.font,
                size: p.size,
                text: p.text,
            }),
        }
    }
    runs
}

/// Cuts from the front of `word` the characters that fit in `max` (at least one).
fn cut(word: &mut Word, max: Mm, context: &Context) -> (Vec<Piece>, Mm) {
    let mut head = Vec::new();
    let mut width = Mm::from(0);
    while let Some(piece) = word.pieces.first_mut() {
        let widths = &metrics(context)[piece.font];
        let scale = f64::from(piece.size);
        let mut n = 0;
        while n < piece.text.len() {
            let w = Mm::from(widths[usize::from(piece.text[n])] * scale);
            if width + w > max && (n > 0 || !head.is_empty()) {
                break;
            }
            width += w;
            n += 1;
        }
        let rest = piece.text.split_off(n);
        let text = std::mem::replace(&mut piece.text, rest);
        head.push(Piece {
            font: piece.font,
            size: piece.size,
            text,
        });
        if piece.text.is_empty() {
            word.pieces.remove(0);
        } else {
            break;
        }
    }
    word.width = word.pieces.iter().map(|p| p.width(context)).sum();
    (head, width)
}

fn font_index(style: Style) -> usize {
    usize::from(style.is_bold()) + 2 * usize::from(style.is_italic())
}

/// Advance widths at size 1, in mm, of the 256 Windows-1252 codes, for the four styles: read
/// once from the document's fonts (the same metrics genpdf uses; the fonts are static).
fn metrics(context: &Context) -> &'static [[f64; 256]; 4] {
    static METRICS: OnceLock<[[f64; 256]; 4]> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut table = [[0.0; 256]; 4];
        for (i, widths) in table.iter_mut().enumerate() {
            let mut style = Style::new();
            if i & 1 == 1 {
                style = style.bold();
            }
            if i & 2 == 2 {
                style = style.italic();
            }
            let font = style.font(&context.font_cache);
            for (code, w) in widths.iter_mut().enumerate() {
                if let Some(c) = decode(code as u8) {
                    *w = f64::from(font.char_width(&context.font_cache, c, 1));
                }
            }
        }
        table
    })
}

fn width_of(widths: &[f64; 256], text: &[u8]) -> f64 {
    text.iter().map(|&b| widths[usize::from(b)]).sum()
}

/// Windows-1252 codes 0x80–0x9F (0 where undefined).
const CP1252_HIGH: [char; 32] = [
    '€', '\0', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\0', 'Ž', '\0', '\0', '‘',
    '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\0', 'ž', 'Ÿ',
];

pub fn decode(code: u8) -> Option<char> {
    match code {
        0x20..=0x7e | 0xa0..=0xff => Some(char::from(code)),
        0x80..=0x9f => Some(CP1252_HIGH[usize::from(code - 0x80)]).filter(|&c| c != '\0'),
        _ => None,
    }
}

/// Windows-1252 bytes of `s`; callers pass text through `pdf_safe` first, anything else
/// becomes `?`.
pub fn encode(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c as u32 {
            0x20..=0x7e | 0xa0..=0xff => c as u8,
            _ => CP1252_HIGH
                .iter()
                .position(|&h| h == c && h != '\0')
                .map_or(b'?', |i| 0x80 + i as u8),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_round_trip() {
        let s = "L’Haÿ-les-Roses « Œuvre » — 10 € é è ê à ç";
        let bytes = encode(s);
        assert_eq!(bytes.len(), s.chars().count());
        let back: String = bytes.iter().map(|&b| decode(b).unwrap()).collect();
        assert_eq!(back, s);
        assert_eq!(encode("Łódź"), b"?\xf3d?");
    }
}
