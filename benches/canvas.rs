//! Canvas engine benchmarks, each next to a baseline measured in the same run:
//!
//! - `stroke`: a 200-point pressure stroke of width 12 (goal under 0.5 ms); baseline: tiny-skia's
//!   own stroker on the same polyline at constant width.
//! - `tile_encode`: one dense 256x256 tile as PNG with the fast setting (goal under 2 ms); baseline:
//!   the default (zlib) compression.
//! - `fill`: flood fill of a whole empty 4096x4096 canvas, region and paint (goal under 150 ms);
//!   baseline: a plain breadth-first fill over a flat buffer.
//! - `undo`: undo of one op buried under 100 later ops (goal under 20 ms), in two layouts: the 100
//!   later strokes spread over the board (some cross the undone one), and the worst case where
//!   every one of them crosses all of its tiles; baseline: re-rendering the 100 ops from scratch.
//! - `text`: a 2,000-character text (40 lines at 24 px) laid out and committed into a
//!   1920x1080 canvas, tile by tile; baseline: the same glyph paths (laid out outside the timing)
//!   filled straight into one 1920x1080 pixmap.
//! - `image`: committing a 4 MP (2048x2048) image into a 4096x4096 canvas, decoded from its PNG,
//!   at its own size and scaled to half; baseline: tiny-skia drawing the same pixels, already
//!   decoded and premultiplied, onto one 4096x4096 pixmap.
//!
//! Run with `cargo bench --bench canvas`; docs/benchmarks.md records results.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use inkroom::canvas::{
    decode, encode_png, layout, Canvas, Document, Fill, Op, Picture, Placement, Rgba, Stroke, Text,
    TileId, Tool,
};
use tiny_skia::{LineCap, LineJoin, Paint, PathBuilder, Pixmap, Transform};

const INK: Rgba = Rgba {
    r: 30,
    g: 60,
    b: 200,
    a: 255,
};

fn pressure_stroke(n: usize, seed: f32) -> Stroke {
    let points = (0..n)
        .flat_map(|i| {
            let t = i as f32 / n as f32;
            [
                20.0 + 960.0 * t,
                500.0 + 300.0 * (t * 12.0 + seed).sin(),
                0.2 + 0.8 * (t * 5.0 + seed).sin().abs(),
            ]
        })
        .collect();
    Stroke {
        tool: Tool::Pen,
        color: INK,
        width: 12.0,
        points,
    }
}

fn stroke(c: &mut Criterion) {
    let mut g = c.benchmark_group("stroke");
    let s = pressure_stroke(200, 0.0);
    let op = Op::Stroke(s.clone());
    let mut pixmap = Pixmap::new(1024, 1024).expect("size");
    g.bench_function("inkroom_pressure_200pt_w12", |b| {
        b.iter(|| op.render_tile(TileId { col: 0, row: 0 }, black_box(&mut pixmap)))
    });
    g.bench_function("baseline_tiny_skia_stroker_200pt_w12", |b| {
        b.iter(|| {
            let mut pb = PathBuilder::new();
            pb.move_to(s.points[0], s.points[1]);
            for p in s.points.chunks_exact(3).skip(1) {
                pb.line_to(p[0], p[1]);
            }
            let path = pb.finish().expect("points");
            let mut paint = Paint::default();
            paint.set_color_rgba8(30, 60, 200, 255);
            paint.anti_alias = true;
            let stroke = tiny_skia::Stroke {
                width: 12.0,
                line_cap: LineCap::Round,
                line_join: LineJoin::Round,
                ..tiny_skia::Stroke::default()
            };
            pixmap.stroke_path(&path, &paint, &stroke, Transform::identity(), None);
        })
    });
    g.finish();
}

fn dense_tile() -> Vec<u8> {
    let mut canvas = Canvas::new(256, 256).expect("size");
    for i in 0..60 {
        let f = i as f32;
        canvas.apply(&mut Op::Stroke(Stroke {
            tool: Tool::Pen,
            color: Rgba {
                r: (i * 37 % 256) as u8,
                g: (i * 91 % 256) as u8,
                b: (i * 13 % 256) as u8,
                a: if i % 4 == 0 { 140 } else { 255 },
            },
            width: 3.0 + (i % 9) as f32 * 3.0,
            points: (0..30)
                .flat_map(|k| {
                    let t = k as f32 / 30.0;
                    [
                        (f * 17.0 + 256.0 * t) % 256.0,
                        (f * 29.0 + 90.0 * (t * 7.0 + f).sin()).rem_euclid(256.0),
                        0.5,
                    ]
                })
                .collect(),
        }));
    }
    let snap = canvas.snapshot();
    let (_, tile) = &snap.tiles()[0];
    tile.as_ref().clone().take_demultiplied()
}

fn tile_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("tile_encode");
    let rgba = dense_tile();
    println!(
        "dense tile: fast PNG {} bytes",
        encode_png(&rgba, 256, 256).len()
    );
    g.bench_function("inkroom_png_fast_256", |b| {
        b.iter(|| encode_png(black_box(&rgba), 256, 256))
    });
    g.bench_function("baseline_png_default_256", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::Adaptive)
                .write_image(black_box(&rgba), 256, 256, ExtendedColorType::Rgba8)
                .expect("encode");
            out
        })
    });
    g.finish();
}

/// A plain 4-neighbour BFS over a flat RGBA buffer: the baseline for the scanline fill.
fn naive_fill(buf: &mut [u32], w: usize, h: usize, x: usize, y: usize, color: u32) {
    let seed = buf[y * w + x];
    if seed == color {
        return;
    }
    let mut queue = VecDeque::from([(x, y)]);
    buf[y * w + x] = color;
    while let Some((x, y)) = queue.pop_front() {
        let mut visit = |nx: usize, ny: usize| {
            if buf[ny * w + nx] == seed {
                buf[ny * w + nx] = color;
                queue.push_back((nx, ny));
            }
        };
        if x > 0 {
            visit(x - 1, y);
        }
        if x + 1 < w {
            visit(x + 1, y);
        }
        if y > 0 {
            visit(x, y - 1);
        }
        if y + 1 < h {
            visit(x, y + 1);
        }
    }
}

fn fill(c: &mut Criterion) {
    let mut g = c.benchmark_group("fill");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("inkroom_fill_empty_4096", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut canvas = Canvas::new(4096, 4096).expect("size");
                let mut op = Op::Fill(Fill {
                    x: 2000,
                    y: 2000,
                    color: INK,
                    tolerance: 0,
                    region: None,
                });
                let start = Instant::now();
                black_box(canvas.apply(&mut op));
                total += start.elapsed();
            }
            total
        })
    });
    g.bench_function("baseline_bfs_fill_empty_4096", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut buf = vec![0u32; 4096 * 4096];
                let start = Instant::now();
                naive_fill(&mut buf, 4096, 4096, 2000, 2000, 0xff00_00ff);
                total += start.elapsed();
                black_box(&buf);
            }
            total
        })
    });
    g.finish();
}

fn undo(c: &mut Criterion) {
    let mut g = c.benchmark_group("undo");
    g.sample_size(20);
    let mut doc = Document::new(Canvas::new(1920, 1080).expect("size"), 0, 50, 32);
    doc.commit("ann", Op::Stroke(pressure_stroke(200, 0.0)));
    let later: Vec<Op> = (1..=100)
        .map(|i| Op::Stroke(pressure_stroke(60, i as f32)))
        .collect();
    for op in &later {
        doc.commit("bob", op.clone());
    }
    g.bench_function("inkroom_undo_under_100_all_crossing", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                black_box(doc.undo("ann").expect("ann has an op"));
                total += start.elapsed();
                doc.redo("ann").expect("and can redo it");
            }
            total
        })
    });
    // Typical: 100 later strokes of 30 points, 250 px long, spread over the whole board.
    let mut spread_doc = Document::new(Canvas::new(1920, 1080).expect("size"), 0, 50, 32);
    spread_doc.commit("ann", Op::Stroke(pressure_stroke(200, 0.0)));
    for i in 0..100u32 {
        let (x0, y0) = ((i * 397 % 1700) as f32, (i * 613 % 1000) as f32);
        let points = (0..30)
            .flat_map(|k| {
                let t = k as f32 / 30.0;
                [x0 + 250.0 * t, y0 + 40.0 * (t * 6.0 + i as f32).sin(), 0.5]
            })
            .collect();
        spread_doc.commit(
            "bob",
            Op::Stroke(Stroke {
                tool: Tool::Pen,
                color: INK,
                width: 12.0,
                points,
            }),
        );
    }
    g.bench_function("inkroom_undo_under_100_spread", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                black_box(spread_doc.undo("ann").expect("ann has an op"));
                total += start.elapsed();
                spread_doc.redo("ann").expect("and can redo it");
            }
            total
        })
    });
    g.bench_function("baseline_rerender_100_ops_from_scratch", |b| {
        b.iter(|| {
            let mut canvas = Canvas::new(1920, 1080).expect("size");
            for op in &later {
                canvas.apply(&mut op.clone());
            }
            black_box(canvas)
        })
    });
    g.finish();
}

fn text(c: &mut Criterion) {
    let mut g = c.benchmark_group("text");
    // 40 lines: 39 of 49 characters and a newline, and a last one of 50.
    let line = "The quick brown fox jumps over the lazy dog, 123";
    let mut body: Vec<String> = (0..40).map(|i| format!("{line}{}", i % 10)).collect();
    body[39].push('!');
    let text = Text {
        x: 20.0,
        y: 10.0,
        text: body.join("\n"),
        size: 24.0,
        color: INK,
    };
    assert_eq!(text.text.chars().count(), 2000, "the longest text allowed");
    let op = Op::Text(text.clone());
    g.bench_function("inkroom_text_2000_chars_s24", |b| {
        b.iter(|| {
            let mut canvas = Canvas::new(1920, 1080).expect("size");
            canvas.apply(&mut op.clone());
            black_box(canvas)
        })
    });
    let glyphs = layout(&text);
    let mut pixmap = Pixmap::new(1920, 1080).expect("size");
    g.bench_function("baseline_fill_glyph_paths_one_pixmap", |b| {
        b.iter(|| {
            let mut paint = Paint::default();
            paint.set_color_rgba8(30, 60, 200, 255);
            paint.anti_alias = true;
            for glyph in &glyphs {
                pixmap.fill_path(
                    &glyph.path,
                    &paint,
                    tiny_skia::FillRule::Winding,
                    Transform::identity(),
                    None,
                );
            }
            black_box(&pixmap);
        })
    });
    g.finish();
}

/// A 2048x2048 (4 MP) PNG: gradients under a checker, so it compresses like a photo would not
/// but decodes like any PNG of its size.
fn image_4mp() -> Vec<u8> {
    let img = image::RgbaImage::from_fn(2048, 2048, |x, y| {
        let checker = if (x / 64 + y / 64) % 2 == 0 { 255 } else { 40 };
        image::Rgba([(x / 8) as u8, (y / 8) as u8, checker, 255])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encodes");
    out.into_inner()
}

fn picture(c: &mut Criterion) {
    let mut g = c.benchmark_group("image");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    let png = image_4mp();
    for (name, side) in [
        ("inkroom_commit_4mp_image_own_size", 2048),
        ("inkroom_commit_4mp_image_half_size", 1024),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut doc = Document::new(Canvas::new(4096, 4096).expect("size"), 0, 50, 32);
                    let start = Instant::now();
                    let source = decode(&png, 1 << 24).expect("decodes");
                    let at = Placement {
                        x: 1000,
                        y: 1000,
                        width: side,
                        height: side,
                    };
                    let op = Op::Image(Picture::new("bench".into(), &source, at, 4096, 4096));
                    black_box(doc.commit("ann", op));
                    total += start.elapsed();
                }
                total
            })
        });
    }
    g.bench_function("baseline_tiny_skia_draw_4mp_pixmap", |b| {
        let source = decode(&png, 1 << 24).expect("decodes");
        let size = tiny_skia::IntSize::from_wh(2048, 2048).expect("size");
        let pixmap = Pixmap::from_vec(source.into_raw(), size).expect("pixmap");
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut target = Pixmap::new(4096, 4096).expect("size");
                let start = Instant::now();
                target.draw_pixmap(
                    1000,
                    1000,
                    pixmap.as_ref(),
                    &tiny_skia::PixmapPaint::default(),
                    Transform::identity(),
                    None,
                );
                total += start.elapsed();
                black_box(&target);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, stroke, tile_encode, fill, undo, text, picture);
criterion_main!(benches);
