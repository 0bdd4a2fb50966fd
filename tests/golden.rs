//! Golden images: ops drawn through the canvas API compared pixel for pixel with PNGs under
//! `tests/images/<area>/<case>.png`. Regenerate on purpose with `BLESS=1 cargo test --test golden`
//! and look at every image you bless.

use std::path::PathBuf;

use inkroom::canvas::{
    decode, Canvas, Document, Fill, Move, Op, Picture, Placement, Rgba, Selection, Shape,
    ShapeKind, Stroke, Text, Tool,
};

const WHITE: Rgba = Rgba {
    r: 255,
    g: 255,
    b: 255,
    a: 255,
};

fn rgba(hex: u32) -> Rgba {
    let [r, g, b, a] = hex.to_be_bytes();
    Rgba { r, g, b, a }
}

fn stroke(tool: Tool, color: u32, width: f32, pts: &[(f32, f32, f32)]) -> Op {
    Op::Stroke(Stroke {
        tool,
        color: rgba(color),
        width,
        points: pts.iter().flat_map(|&(x, y, p)| [x, y, p]).collect(),
    })
}

fn wave(
    x0: f32,
    y0: f32,
    len: f32,
    amp: f32,
    n: usize,
    pressure: impl Fn(f32) -> f32,
) -> Vec<(f32, f32, f32)> {
    (0..=n)
        .map(|i| {
            let t = i as f32 / n as f32;
            (x0 + len * t, y0 + amp * (t * 9.0).sin(), pressure(t))
        })
        .collect()
}

fn shape(kind: ShapeKind, c: (f32, f32, f32, f32), color: u32, width: f32, filled: bool) -> Op {
    Op::Shape(Shape {
        kind,
        x0: c.0,
        y0: c.1,
        x1: c.2,
        y1: c.3,
        color: rgba(color),
        width,
        filled,
    })
}

fn fill(x: u32, y: u32, color: u32, tolerance: u8) -> Op {
    Op::Fill(Fill {
        x,
        y,
        color: rgba(color),
        tolerance,
        region: None,
    })
}

/// Draws ops on a 320x240 canvas (it spans two tile columns) and returns the PNG over white.
fn render(ops: Vec<Op>) -> Vec<u8> {
    let mut canvas = Canvas::new(320, 240).expect("valid size");
    for mut op in ops {
        canvas.apply(&mut op);
    }
    canvas.snapshot().to_png(WHITE)
}

fn check(area: &str, case: &str, png: &[u8]) {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "images",
        area,
        &format!("{case}.png"),
    ]
    .iter()
    .collect();
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create dir");
        std::fs::write(&path, png).expect("write golden");
        return;
    }
    let want = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with BLESS=1 to create)", path.display()))
        .to_rgba8();
    let got = image::load_from_memory(png).expect("valid PNG").to_rgba8();
    assert_eq!(got.dimensions(), want.dimensions(), "{area}/{case}: size");
    let differ = got
        .pixels()
        .zip(want.pixels())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        differ, 0,
        "{area}/{case}: {differ} pixels differ from the golden"
    );
}

#[test]
fn tools() {
    let half = |_| 0.5;
    check(
        "tools",
        "pen_constant",
        &render(vec![stroke(
            Tool::Pen,
            0x1f1f1fff,
            8.0,
            &wave(20.0, 120.0, 280.0, 60.0, 80, half),
        )]),
    );
    check(
        "tools",
        "pen_pressure",
        &render(vec![stroke(
            Tool::Pen,
            0xe03131ff,
            16.0,
            &wave(20.0, 120.0, 280.0, 60.0, 120, |t| t),
        )]),
    );
    // A translucent stroke crossing itself is even; it darkens only over another stroke.
    let loop_pts: Vec<(f32, f32, f32)> = (0..=120)
        .map(|i| {
            let t = i as f32 / 120.0 * std::f32::consts::TAU * 1.6;
            (
                160.0 + 90.0 * t.cos() + 20.0 * t,
                120.0 + 80.0 * t.sin(),
                0.5,
            )
        })
        .collect();
    check(
        "tools",
        "translucent_self_overlap",
        &render(vec![
            stroke(
                Tool::Pen,
                0x1971c2ff,
                10.0,
                &[(20.0, 30.0, 0.5), (300.0, 210.0, 0.5)],
            ),
            stroke(Tool::Pen, 0x2f9e4480, 30.0, &loop_pts),
        ]),
    );
    check(
        "tools",
        "highlighter",
        &render(vec![
            stroke(
                Tool::Pen,
                0x1f1f1fff,
                4.0,
                &wave(20.0, 120.0, 280.0, 30.0, 60, half),
            ),
            stroke(
                Tool::Highlighter,
                0xf08c00ff,
                30.0,
                &wave(20.0, 120.0, 280.0, 20.0, 60, |t| t),
            ),
        ]),
    );
    check(
        "tools",
        "eraser",
        &render(vec![
            shape(
                ShapeKind::Rect,
                (40.0, 40.0, 280.0, 200.0),
                0x7048e8ff,
                0.0,
                true,
            ),
            stroke(
                Tool::Eraser,
                0x000000ff,
                24.0,
                &wave(20.0, 120.0, 280.0, 50.0, 80, |t| t),
            ),
        ]),
    );
}

#[test]
fn shapes() {
    check(
        "shapes",
        "line",
        &render(vec![shape(
            ShapeKind::Line,
            (20.0, 220.0, 300.0, 20.0),
            0x343a40ff,
            9.0,
            false,
        )]),
    );
    check(
        "shapes",
        "rect_outline",
        &render(vec![shape(
            ShapeKind::Rect,
            (40.5, 30.0, 280.0, 210.0),
            0xe64980ff,
            7.0,
            false,
        )]),
    );
    check(
        "shapes",
        "rect_filled",
        &render(vec![shape(
            ShapeKind::Rect,
            (40.0, 30.0, 280.0, 210.0),
            0x4dabf7ff,
            7.0,
            true,
        )]),
    );
    check(
        "shapes",
        "ellipse_outline",
        &render(vec![shape(
            ShapeKind::Ellipse,
            (30.0, 40.0, 290.0, 200.0),
            0x1f1f1fff,
            5.0,
            false,
        )]),
    );
    check(
        "shapes",
        "ellipse_filled",
        &render(vec![shape(
            ShapeKind::Ellipse,
            (30.0, 40.0, 290.0, 200.0),
            0x2f9e44c0,
            5.0,
            true,
        )]),
    );
}

#[test]
fn fills() {
    let ring = shape(
        ShapeKind::Ellipse,
        (60.0, 40.0, 260.0, 200.0),
        0x1f1f1fff,
        6.0,
        false,
    );
    check(
        "fill",
        "inside_outline",
        &render(vec![ring.clone(), fill(160, 120, 0xffd43bff, 64)]),
    );
    check(
        "fill",
        "outside_outline",
        &render(vec![ring, fill(5, 5, 0x74c0fcff, 64)]),
    );
    check(
        "fill",
        "whole_canvas",
        &render(vec![fill(319, 239, 0xe03131ff, 0)]),
    );
}

#[test]
fn clear_and_undo() {
    let a = stroke(
        Tool::Pen,
        0xe03131ff,
        14.0,
        &wave(20.0, 80.0, 280.0, 40.0, 60, |_| 0.5),
    );
    let b = stroke(
        Tool::Pen,
        0x1971c2ff,
        14.0,
        &[(40.0, 20.0, 0.5), (280.0, 220.0, 0.5)],
    );
    let c = stroke(
        Tool::Pen,
        0x2f9e44ff,
        14.0,
        &wave(20.0, 160.0, 280.0, 40.0, 60, |_| 0.5),
    );
    let doc_png = |doc: &Document| doc.canvas().snapshot().to_png(WHITE);
    let new_doc = || Document::new(Canvas::new(320, 240).expect("valid size"), 0, 50, 2);

    // Ann draws a and c, Bob draws b in between; Ann undoes c, then a: Bob's b stays.
    let mut doc = new_doc();
    doc.commit("ann", a.clone());
    doc.commit("bob", b.clone());
    doc.commit("ann", c.clone());
    doc.undo("ann");
    check("undo", "undo_last", &doc_png(&doc));
    doc.undo("ann");
    check("undo", "undo_under_others", &doc_png(&doc));
    doc.redo("ann");
    check("undo", "redo", &doc_png(&doc));

    let mut doc = new_doc();
    doc.commit("ann", a);
    doc.commit("bob", b);
    doc.commit("bob", Op::Clear);
    check("clear", "clear", &doc_png(&doc));
    doc.undo("bob");
    check("undo", "undo_clear", &doc_png(&doc));
}

fn moved(selection: Selection, dx: f32, dy: f32, scale: f32, delete: bool) -> Op {
    Op::Move(Move {
        selection,
        dx,
        dy,
        scale,
        delete,
        lifted: None,
    })
}

/// A scene to move: a filled square, a ring and a stroke across both tile columns.
fn scene() -> Vec<Op> {
    vec![
        shape(
            ShapeKind::Rect,
            (20.0, 20.0, 120.0, 120.0),
            0x4dabf7ff,
            0.0,
            true,
        ),
        shape(
            ShapeKind::Ellipse,
            (40.0, 40.0, 100.0, 100.0),
            0xe03131ff,
            6.0,
            false,
        ),
        stroke(
            Tool::Pen,
            0x1f1f1fff,
            8.0,
            &wave(20.0, 180.0, 280.0, 20.0, 60, |_| 0.5),
        ),
    ]
}

#[test]
fn moves() {
    let rect = Selection::Rect([10.0, 10.0, 120.0, 120.0]);
    let lasso = Selection::Lasso(vec![10.0, 10.0, 130.0, 10.0, 70.0, 140.0, 10.0, 130.0]);
    let with = |op: Op| {
        let mut ops = scene();
        ops.push(op);
        render(ops)
    };
    check(
        "move",
        "rect",
        &with(moved(rect.clone(), 170.0, 30.0, 1.0, false)),
    );
    check(
        "move",
        "rect_scaled",
        &with(moved(rect.clone(), 150.0, 0.0, 1.4, false)),
    );
    check(
        "move",
        "lasso",
        &with(moved(lasso.clone(), 170.0, 30.0, 1.0, false)),
    );
    check(
        "move",
        "lasso_scaled",
        &with(moved(lasso.clone(), 160.0, 10.0, 0.6, false)),
    );
    // Overlapping source and destination: the lifted pixels land over the emptied source.
    check(
        "move",
        "overlapping",
        &with(moved(rect.clone(), 40.0, 40.0, 1.0, false)),
    );
    check("move", "delete", &with(moved(lasso, 0.0, 0.0, 1.0, true)));
}

#[test]
fn move_undo_and_redo() {
    let doc_png = |doc: &Document| doc.canvas().snapshot().to_png(WHITE);
    let mut doc = Document::new(Canvas::new(320, 240).expect("valid size"), 0, 50, 2);
    for op in scene() {
        doc.commit("ann", op);
    }
    let before = doc_png(&doc);
    let rect = Selection::Rect([10.0, 10.0, 120.0, 120.0]);
    let applied = doc.commit("bob", moved(rect.clone(), 170.0, 30.0, 1.0, false));
    assert!(
        applied.tiles.len() == 2,
        "source and destination tiles: {:?}",
        applied.tiles
    );
    // The same pixels as the move drawn straight into a canvas.
    let mut ops = scene();
    ops.push(moved(rect, 170.0, 30.0, 1.0, false));
    assert_eq!(doc_png(&doc), render(ops));
    check("move", "rect", &doc_png(&doc));
    doc.undo("bob");
    assert_eq!(doc_png(&doc), before, "undoing the move restores the scene");
    doc.redo("bob");
    check("move", "rect", &doc_png(&doc));
}

fn text(x: f32, y: f32, s: &str, size: f32, color: u32) -> Op {
    Op::Text(Text {
        x,
        y,
        text: s.to_owned(),
        size,
        color: rgba(color),
    })
}

/// Text: several lines across the tile edge at x = 256, accents, Greek, Cyrillic, symbols, a
/// character the font lacks (drawn as its fallback box), the smallest size, and large
/// translucent glyphs overlapping a stroke. Then undone and redone by its author under another
/// member's stroke.
#[test]
fn texts() {
    let lines = text(
        12.0,
        8.0,
        "Hello, inkroom! \u{c5}ngstr\u{f6}m\n\u{3a9}\u{3bc}\u{3ad}\u{3b3}\u{3b1} \u{436}\u{438}\u{432} \u{2192} \u{2713} \u{4e2d}\nlast line, tiny:",
        24.0,
        0x1f1f1fff,
    );
    let tiny = text(210.0, 66.0, "six pixels per em", 6.0, 0xe03131ff);
    let big = text(20.0, 100.0, "Ag", 120.0, 0x1971c280);
    let under = stroke(
        Tool::Pen,
        0xf08c00ff,
        16.0,
        &[(10.0, 200.0, 0.5), (310.0, 150.0, 0.5)],
    );
    check(
        "text",
        "lines",
        &render(vec![
            under.clone(),
            lines.clone(),
            tiny.clone(),
            big.clone(),
        ]),
    );

    let doc_png = |doc: &Document| doc.canvas().snapshot().to_png(WHITE);
    let mut doc = Document::new(Canvas::new(320, 240).expect("valid size"), 0, 50, 2);
    doc.commit("ann", big.clone());
    doc.commit("bob", under.clone());
    doc.undo("ann");
    check("text", "undo", &doc_png(&doc));
    assert_eq!(
        doc_png(&doc),
        render(vec![under.clone()]),
        "undo leaves Bob's stroke alone"
    );
    doc.redo("ann");
    check("text", "redo", &doc_png(&doc));
    assert_eq!(
        doc_png(&doc),
        render(vec![big, under]),
        "redo paints the text exactly as it was, under the later stroke"
    );
}

/// The source image of the image goldens, 300x200: a red/green gradient over a blue checker,
/// its left fifth half transparent. `tests/images/image/source.png` is this image (the socket
/// tests upload that file).
fn image_source() -> Vec<u8> {
    let img = image::RgbaImage::from_fn(300, 200, |x, y| {
        let checker = if (x / 20 + y / 20) % 2 == 0 { 255 } else { 0 };
        image::Rgba([
            (x * 255 / 299) as u8,
            (y * 255 / 199) as u8,
            checker,
            if x < 60 { 128 } else { 255 },
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encodes");
    out.into_inner()
}

/// The image ops of the goldens: the source shrunk across the tile seam at x = 256, and
/// stretched partly off the canvas's left and bottom edges.
fn image_ops(source: &image::RgbaImage) -> Vec<Op> {
    [(40, 30, 250, 160), (-60, 150, 180, 120)]
        .into_iter()
        .map(|(x, y, width, height)| {
            let at = Placement {
                x,
                y,
                width,
                height,
            };
            Op::Image(Picture::new("source".into(), source, at, 320, 240))
        })
        .collect()
}

#[test]
fn images() {
    let bytes = image_source();
    check("image", "source", &bytes);
    let source = decode(&bytes, 1 << 24).expect("the source decodes");
    check("image", "placed", &render(image_ops(&source)));

    // Over another's stroke, then undone and redone by their author.
    let under = stroke(
        Tool::Pen,
        0x1f1f1fff,
        10.0,
        &wave(10.0, 120.0, 300.0, 80.0, 60, |_| 0.5),
    );
    let mut doc = Document::new(Canvas::new(320, 240).expect("valid size"), 0, 50, 2);
    doc.commit("bob", under.clone());
    for op in image_ops(&source) {
        doc.commit("ann", op);
    }
    let png = |doc: &Document| doc.canvas().snapshot().to_png(WHITE);
    check("image", "over_stroke", &png(&doc));
    doc.undo("ann");
    doc.undo("ann");
    assert_eq!(png(&doc), render(vec![under]), "undone: only the stroke");
    doc.redo("ann");
    doc.redo("ann");
    check("image", "over_stroke", &png(&doc));
}

/// One stroke of the revert goldens: (by the reverted editor, color, width, points).
type RevertStroke = (bool, u32, f32, Vec<(f32, f32, f32)>);

/// The strokes of the revert goldens, in order: (by the reverted editor, color, width, points).
/// `tests/moderation.rs` draws the same strokes through a server and compares with these images.
fn revert_strokes() -> Vec<RevertStroke> {
    let line = |x0: f32, y0: f32, x1: f32, y1: f32| -> Vec<(f32, f32, f32)> {
        (0..=20)
            .map(|i| {
                let t = i as f32 / 20.0;
                (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, 0.5)
            })
            .collect()
    };
    vec![
        (
            false,
            0xe03131ff,
            10.0,
            wave(20.0, 70.0, 280.0, 30.0, 40, |_| 0.5),
        ),
        (true, 0x1971c2ff, 14.0, line(40.0, 20.0, 280.0, 220.0)),
        (
            false,
            0x2f9e44ff,
            10.0,
            wave(20.0, 170.0, 280.0, 30.0, 40, |_| 0.5),
        ),
        (true, 0xf08c00ff, 14.0, line(280.0, 20.0, 40.0, 220.0)),
    ]
}

/// The owner reverts Ed's two strokes, drawn between and over Ann's: Ann's stay whole (the
/// image is Ann's strokes alone); the owner's undo brings Ed's back (all four strokes).
#[test]
fn revert_and_its_undo() {
    let doc_png = |doc: &Document| doc.canvas().snapshot().to_png(WHITE);
    let mut doc = Document::new(Canvas::new(320, 240).expect("valid size"), 0, 50, 2);
    let ops: Vec<(bool, Op)> = revert_strokes()
        .into_iter()
        .map(|(ed, color, width, pts)| (ed, stroke(Tool::Pen, color, width, &pts)))
        .collect();
    for (ed, op) in &ops {
        doc.commit(if *ed { "ed" } else { "ann" }, op.clone());
    }
    let all = render(ops.iter().map(|(_, op)| op.clone()).collect());
    let anns = render(
        ops.iter()
            .filter(|(ed, _)| !ed)
            .map(|(_, op)| op.clone())
            .collect(),
    );
    doc.revert("olga", "ed").expect("ed has ops");
    assert_eq!(doc_png(&doc), anns, "the revert leaves Ann's strokes alone");
    check("revert", "revert", &doc_png(&doc));
    doc.undo("olga").expect("the owner undoes the revert");
    assert_eq!(doc_png(&doc), all, "the undo brings Ed's strokes back");
    check("revert", "undo_revert", &doc_png(&doc));
}
