//! genpdf elements the convention needs and genpdf lacks: a table whose header repeats on every
//! page, a list item whose bullet is text of ours, a QR code drawn as filled rectangles (the
//! last two at markers that `pdf::content` replaces).

use super::structure::Mark;
use super::text::{Lines, Text};
use genpdf::elements::TableLayout;
use genpdf::render::Area;
use genpdf::style::Style;
use genpdf::{Context, Element, Mm, Position, RenderResult};

/// A table whose header row is printed again at the top of each page it continues on. The
/// header builder is told whether it is the first: the repeats are pagination artifacts, the
/// first is the table's header row.
pub struct RepeatingHeaderTable {
    header: Box<dyn Fn(bool) -> TableLayout>,
    body: TableLayout,
    first: bool,
}

impl RepeatingHeaderTable {
    pub fn new(header: impl Fn(bool) -> TableLayout + 'static, body: TableLayout) -> Self {
        RepeatingHeaderTable {
            header: Box::new(header),
            body,
            first: true,
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
        let mut header = (self.header)(std::mem::replace(&mut self.first, false));
        let h = header.render(context, area.clone(), style)?;
        area.add_offset(Position::new(0, h.size.height));
        let mut result = self.body.render(context, area, style)?;
        result.size.height += h.size.height;
        result.size.width = result.size.width.max(h.size.width);
        Ok(result)
    }
}

/// A list item: a bullet (the list label) and its body, indented as genpdf's `BulletPoint`
/// does, but with the bullet written as text of ours (embedded font, tagged `Lbl`).
pub struct ListItem {
    bullet: Text,
    body: Text,
    bullet_done: bool,
}

impl ListItem {
    const INDENT: f64 = 10.0;
    const BULLET_SPACE: f64 = 2.0;

    pub fn new(lines: &Lines, label: Mark, body: Text) -> Self {
        ListItem {
            bullet: Text::new(lines, label)
                .push("–", Style::new())
                .aligned(genpdf::Alignment::Right),
            body,
            bullet_done: false,
        }
    }
}

impl Element for ListItem {
    fn render(
        &mut self,
        context: &Context,
        area: Area<'_>,
        style: Style,
    ) -> Result<RenderResult, genpdf::error::Error> {
        if !self.bullet_done {
            let mut bullet_area = area.clone();
            bullet_area.set_width(Mm::from(Self::INDENT - Self::BULLET_SPACE));
            let bullet = self.bullet.render(context, bullet_area, style)?;
            if bullet.has_more {
                return Ok(RenderResult {
                    has_more: true,
                    ..RenderResult::default()
                });
            }
            self.bullet_done = true;
        }
        let mut body_area = area.clone();
        body_area.add_offset(Position::new(Self::INDENT, 0));
        let mut result = self.body.render(context, body_area, style)?;
        result.size.width += Mm::from(Self::INDENT);
        Ok(result)
    }
}

/// A QR code of `text`, `side` wide. genpdf only draws 1 pt strokes, which would take
/// thousands of them; so the element reserves its square and draws one marker stroke at its
/// corner, and `pdf::content` replaces the marker with the modules as filled rectangles,
/// written straight into the page's content stream (a few hundred bytes, crisp at any zoom).
pub struct QrCode {
    side: Mm,
}

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

/// French typography: a no-break space (Windows-1252 0xA0) before « ; : ! ? » and inside
/// guillemets, so that no line starts with one of them; `Text` breaks lines at plain spaces
/// only.
pub fn french_spacing(s: &str) -> String {
    s.replace(" ;", "\u{a0};")
        .replace(" :", "\u{a0}:")
        .replace(" !", "\u{a0}!")
        .replace(" ?", "\u{a0}?")
        .replace("« ", "«\u{a0}")
        .replace(" »", "\u{a0}»")
}
