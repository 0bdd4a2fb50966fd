//! Text: the bundled font, how a text op is laid out, and the glyph paths the canvas fills.
//!
//! Layout is deliberately simple so the page can repeat it exactly with the same font file
//! (`frontend/js/render/text.js`, which fills the same outlines read by `font.js`): every
//! line starts at `x`; the first baseline sits one ascender below `y`; each further line one
//! line height (ascender - descender + line gap) lower; each character advances the pen by its
//! glyph's advance width, with no kerning and no ligatures. A character the font lacks is drawn as
//! the font's fallback glyph (glyph 0). Each glyph is filled on its own, as the page fills them,
//! so overlapping translucent glyphs blend the same way on both sides.

use std::sync::OnceLock;

use tiny_skia::{Path, PathBuilder, Rect, Transform};
use ttf_parser::{Face, GlyphId, OutlineBuilder};

use super::Rgba;

/// The bundled font file (DejaVu Sans, see `assets/fonts/LICENSE-DejaVu.txt`), also served to
/// the page at `/fonts/DejaVuSans.ttf`.
pub const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The font's file name under `/fonts/`.
pub const FONT_FILE: &str = "DejaVuSans.ttf";

/// A block of text, committed as one op.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    /// Left edge of every line, in canvas pixels.
    pub x: f32,
    /// Top of the first line (one ascender above its baseline), in canvas pixels.
    pub y: f32,
    /// The characters; `\n` starts a new line.
    pub text: String,
    /// Font size: pixels per em.
    pub size: f32,
    /// Color, straight alpha.
    pub color: Rgba,
}

/// The parsed bundled font.
pub fn face() -> &'static Face<'static> {
    static FACE: OnceLock<Face<'static>> = OnceLock::new();
    FACE.get_or_init(|| Face::parse(FONT, 0).expect("the bundled font is a valid TrueType file"))
}

/// Font-wide vertical metrics in font units (the page's `font.js` reads the same from the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FontMetrics {
    /// Font units per em.
    pub units_per_em: u16,
    /// Ascender (above the baseline, positive).
    pub ascender: i16,
    /// Descender (below the baseline, negative).
    pub descender: i16,
    /// Extra gap between lines.
    pub line_gap: i16,
}

/// The bundled font's metrics.
pub fn metrics() -> FontMetrics {
    let face = face();
    FontMetrics {
        units_per_em: face.units_per_em(),
        ascender: face.ascender(),
        descender: face.descender(),
        line_gap: face.line_gap(),
    }
}

/// One glyph of laid-out text, in canvas pixels.
#[derive(Debug, Clone)]
pub struct Glyph {
    /// Where the glyph may paint.
    pub bounds: Rect,
    /// Its outline, to fill with the nonzero rule.
    pub path: Path,
}

/// Lays the text out into glyph paths (blank glyphs such as spaces are left out).
pub fn layout(text: &Text) -> Vec<Glyph> {
    let face = face();
    let m = metrics();
    let scale = text.size / f32::from(m.units_per_em);
    let line_height = f32::from(m.ascender) - f32::from(m.descender) + f32::from(m.line_gap);
    let mut glyphs = Vec::new();
    for (i, line) in text.text.split('\n').enumerate() {
        let baseline = text.y + (f32::from(m.ascender) + i as f32 * line_height) * scale;
        let mut pen = text.x;
        for c in line.chars() {
            let id = face.glyph_index(c).unwrap_or(GlyphId(0));
            let place = Transform::from_row(scale, 0.0, 0.0, -scale, pen, baseline);
            if let Some(glyph) = glyph(face, id, place) {
                glyphs.push(glyph);
            }
            pen += f32::from(face.glyph_hor_advance(id).unwrap_or(0)) * scale;
        }
    }
    glyphs
}

/// The bounds of all the glyphs (left, top, right, bottom), or `None` when nothing is drawn.
pub fn bounds(glyphs: &[Glyph]) -> Option<(f32, f32, f32, f32)> {
    glyphs.iter().map(|g| g.bounds).fold(None, |acc, b| {
        Some(match acc {
            None => (b.left(), b.top(), b.right(), b.bottom()),
            Some((l, t, r, btm)) => (
                l.min(b.left()),
                t.min(b.top()),
                r.max(b.right()),
                btm.max(b.bottom()),
            ),
        })
    })
}

fn glyph(face: &Face<'_>, id: GlyphId, place: Transform) -> Option<Glyph> {
    let mut builder = Builder(PathBuilder::new());
    face.outline_glyph(id, &mut builder)?;
    let path = builder.0.finish()?.transform(place)?;
    Some(Glyph {
        bounds: path.bounds(),
        path,
    })
}

/// Turns a glyph outline (font units) into a tiny-skia path.
struct Builder(PathBuilder);

impl OutlineBuilder for Builder {
    fn move_to(&mut self, x: f32, y: f32) {
        self.0.move_to(x, y);
    }

    fn line_to(&mut self, x: f32, y: f32) {
        self.0.line_to(x, y);
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        self.0.quad_to(x1, y1, x, y);
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.0.cubic_to(x1, y1, x2, y2, x, y);
    }

    fn close(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str, size: f32) -> Text {
        Text {
            x: 10.0,
            y: 20.0,
            text: s.to_owned(),
            size,
            color: Rgba {
                r: 0,
                g: 0,
                b: 0,
                a: 255,
            },
        }
    }

    #[test]
    fn the_bundled_font_parses_with_sane_metrics() {
        let m = metrics();
        assert!(
            m.units_per_em > 0 && m.ascender > 0 && m.descender < 0,
            "{m:?}"
        );
    }

    #[test]
    fn lines_start_at_x_and_stack_by_the_line_height() {
        let one = bounds(&layout(&text("H", 100.0))).expect("H has ink");
        let two = bounds(&layout(&text("H\nH", 100.0))).expect("H has ink");
        let m = metrics();
        let line =
            f32::from(m.ascender - m.descender + m.line_gap) * 100.0 / f32::from(m.units_per_em);
        assert!(
            (two.3 - one.3 - line).abs() < 0.01,
            "{one:?} {two:?} {line}"
        );
        // H sits on the baseline with a small left bearing, below the top of the line.
        assert!(one.0 >= 10.0 && one.0 < 30.0, "{one:?}");
        assert!(one.1 > 20.0, "{one:?}");
    }

    #[test]
    fn blanks_draw_nothing_and_missing_characters_draw_the_fallback() {
        assert!(layout(&text("  \n ", 32.0)).is_empty());
        // A CJK ideograph is not in DejaVu Sans: it becomes the fallback box.
        assert_eq!(layout(&text("\u{4e2d}", 32.0)).len(), 1);
    }
}
