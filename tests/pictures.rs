//! Pictures: `--view svg` ladders and `--view graph` time-sequence graphs
//! on every fixture parse as XML and render with resvg; the textbook cases
//! match their golden SVGs (looked at as PNGs); the README's pictures are
//! current; the graph's marks sit where the capture puts them.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// Render an SVG document with resvg (system fonts) and save it as PNG.
fn render(svg: &str, png: Option<&Path>) -> Result<(u32, u32), String> {
    static OPTIONS: std::sync::OnceLock<resvg::usvg::Options<'static>> = std::sync::OnceLock::new();
    let opt = OPTIONS.get_or_init(|| {
        let mut opt = resvg::usvg::Options::default();
        opt.fontdb_mut().load_system_fonts();
        opt
    });
    let tree = resvg::usvg::Tree::from_str(svg, opt).map_err(|e| e.to_string())?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| format!("cannot make a {}x{} pixmap", size.width(), size.height()))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    if let Some(p) = png {
        pixmap.save_png(p).map_err(|e| e.to_string())?;
    }
    Ok((size.width(), size.height()))
}

fn picture(view: &str, name: &str, extra: &[&str]) -> String {
    let out = synack()
        .args(["read", "--view", view])
        .args(extra)
        .arg(fixture(name))
        .output()
        .unwrap();
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    stdout(&out)
}

fn png_dir() -> PathBuf {
    let d = root().join("target").join("pictures");
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn every_fixture_parses_and_renders() {
    for view in ["svg", "graph"] {
        for name in capture_fixtures() {
            let svg = picture(view, &name, &[]);
            roxmltree::Document::parse(&svg)
                .unwrap_or_else(|e| panic!("{view} {name}: not XML: {e}"));
            let png = png_dir().join(format!("{name}.{view}.png"));
            render(&svg, Some(&png)).unwrap_or_else(|e| panic!("{view} {name}: resvg: {e}"));
        }
    }
}
