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

/// The textbook cases, one golden ladder each (looked at as PNG when blessed).
const CASES: [&str; 8] = [
    "close-client-first.pcap",
    "close-three-way.pcap",
    "simultaneous-close.pcap",
    "half-close.pcap",
    "rst-abort.pcap",
    "refused.pcap",
    "keepalive.pcap",
    "port-reuse.pcap",
];

fn bless() -> bool {
    std::env::var_os("SYNACK_BLESS").is_some()
}

/// Compare with a golden file (or write it, with SYNACK_BLESS).
fn golden(path: &Path, text: &str, failures: &mut Vec<String>) {
    if bless() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(path).unwrap_or_default();
    if want != text {
        failures.push(format!("differs from {}", path.display()));
    }
}

#[test]
fn golden_ladders_for_the_textbook_cases() {
    let mut failures = Vec::new();
    for name in CASES {
        let svg = picture("svg", name, &[]);
        golden(
            &root().join("tests/golden/svg").join(format!("{name}.svg")),
            &svg,
            &mut failures,
        );
    }
    assert!(
        failures.is_empty(),
        "{}\n(after an intended change, look at the PNGs in target/pictures, then: SYNACK_BLESS=1 cargo test --test pictures)",
        failures.join("\n")
    );
}

/// The README's pictures, and the commands that make them.
const README_PICTURES: [(&str, &str, &str); 2] = [
    ("docs/ladder.svg", "svg", "close-client-first.pcap"),
    ("docs/graph.svg", "graph", "tcp-sack.pcap"),
];

#[test]
fn the_readme_pictures_are_current() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut failures = Vec::new();
    for (file, view, fixture_name) in README_PICTURES {
        assert!(readme.contains(&format!("({file})")), "README shows {file}");
        assert!(
            readme.contains(&format!(
                "synack read --view {view} fixtures/{fixture_name} -o {file}"
            )),
            "README says how {file} is made"
        );
        let svg = picture(view, fixture_name, &[]);
        golden(&root().join(file), &svg, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{}\n(regenerate: SYNACK_BLESS=1 cargo test --test pictures)",
        failures.join("\n")
    );
}

#[test]
fn one_picture_per_connection_and_conn_picks_one() {
    let svg = picture("svg", "port-reuse.pcap", &[]);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let ladders: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("ladder"))
        .filter_map(|n| n.attribute("data-conn"))
        .collect();
    assert_eq!(ladders, ["1", "2"]);
    let one = picture("svg", "port-reuse.pcap", &["--conn", "2"]);
    assert!(one.contains(r#"data-conn="2""#) && !one.contains(r#"data-conn="1""#));
    // Graphs: one per direction that carried data.
    let g = picture("graph", "close-client-first.pcap", &[]);
    let doc = roxmltree::Document::parse(&g).unwrap();
    let dirs: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("graph"))
        .filter_map(|n| n.attribute("data-dir"))
        .collect();
    assert_eq!(dirs, ["c2s", "s2c"]);
}

#[test]
fn the_ladder_draws_what_the_capture_says() {
    let svg = picture("svg", "close-client-first.pcap", &[]);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    // One row per frame (eleven) and one for the TIME_WAIT still running.
    let rows: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("row"))
        .collect();
    assert_eq!(rows.len(), 12);
    let frames: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.attribute("data-frame"))
        .collect();
    assert_eq!(
        frames,
        ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]
    );
    // Bands: the client goes CLOSED, SYN_SENT, ESTABLISHED, FIN_WAIT_1,
    // FIN_WAIT_2, TIME_WAIT; the server LISTEN, SYN_RCVD, ESTABLISHED,
    // CLOSE_WAIT, LAST_ACK, CLOSED (tests/golden/ladder says the same).
    let bands = |side: &str| -> Vec<&str> {
        doc.descendants()
            .filter(|n| {
                n.attribute("class") == Some("band") && n.attribute("data-side") == Some(side)
            })
            .filter_map(|n| n.attribute("data-state"))
            .collect()
    };
    assert_eq!(
        bands("client"),
        [
            "CLOSED",
            "SYN_SENT",
            "ESTABLISHED",
            "FIN_WAIT_1",
            "FIN_WAIT_2",
            "TIME_WAIT"
        ]
    );
    assert_eq!(
        bands("server"),
        [
            "LISTEN",
            "SYN_RCVD",
            "ESTABLISHED",
            "CLOSE_WAIT",
            "LAST_ACK",
            "CLOSED"
        ]
    );
    // Arrows slant down from sender to receiver, and the gap of 17 ms is shortened and marked.
    for r in &rows[..11] {
        let arrow = r
            .descendants()
            .find(|n| n.attribute("class") == Some("arrow"))
            .unwrap();
        let d = arrow.attribute("d").unwrap();
        let nums: Vec<f64> = d
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        assert!(
            nums[3] > nums[1],
            "arrow of frame {:?} goes down: {d}",
            r.attribute("data-frame")
        );
    }
    assert!(
        svg.contains(">+16.9 ms<"),
        "the shortened gap says how long it was"
    );
    // By hand from the capture: server side, SYN→SYN+ACK 51 µs, data 469→ACK
    // 499 µs = 30 µs (the shortest), FIN→ACK 40 ms; client side, SYN+ACK→ACK
    // 20 µs (the shortest), data 563→ACK 587 µs = 24 µs, FIN→ACK 36 µs.
    assert!(svg.contains("client side 20 µs") && svg.contains("server side 30 µs"));
}

/// Seconds of the day in an RFC 3339 timestamp (the fixtures stay within a day).
fn day_secs(ts: &str) -> f64 {
    let t = ts.split('T').nth(1).unwrap().trim_end_matches('Z');
    let p: Vec<f64> = t.split(':').map(|x| x.parse().unwrap()).collect();
    p[0] * 3600.0 + p[1] * 60.0 + p[2]
}

/// A plot's axes, as its attributes state them.
struct Axes {
    x0: f64,
    x1: f64,
    t1: f64,
    y0: f64,
    y1: f64,
    seq1: f64,
}

impl Axes {
    fn of(n: roxmltree::Node) -> Axes {
        let a = |k: &str| n.attribute(k).unwrap().parse::<f64>().unwrap();
        Axes {
            x0: a("data-x0"),
            x1: a("data-x1"),
            t1: a("data-t1"),
            y0: a("data-y0"),
            y1: a("data-y1"),
            seq1: a("data-seq1"),
        }
    }
    fn x(&self, t: f64) -> f64 {
        self.x0 + t / self.t1 * (self.x1 - self.x0)
    }
    fn y(&self, seq: f64) -> f64 {
        self.y0 - seq / self.seq1 * (self.y0 - self.y1)
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.02
}

fn numbers(s: &str) -> Vec<f64> {
    s.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter(|x| !x.is_empty() && *x != "-")
        .map(|x| x.parse().unwrap())
        .collect()
}

#[test]
fn the_graph_marks_retransmissions_where_the_capture_has_them() {
    let name = "retransmission.pcap";
    let packets: Vec<serde_json::Value> =
        json_lines(&run_path(&["read", "--json"], &fixture(name)))
            .into_iter()
            .filter(|r| r["type"] == "packet")
            .collect();
    let t0 = day_secs(packets[0]["ts"].as_str().unwrap());
    let resent: Vec<&serde_json::Value> = packets
        .iter()
        .filter(|p| p["dir"] == "c2s" && p["len"].as_u64().unwrap() > 0)
        .filter(|p| {
            p["events"].as_array().unwrap().iter().any(|e| {
                [
                    "retransmission",
                    "fast_retransmission",
                    "spurious_retransmission",
                ]
                .contains(&e["kind"].as_str().unwrap())
            })
        })
        .collect();
    // fixtures/README: 36 resends 12; 41 resends 40; 45 and 46 resend 44.
    let frames: Vec<u64> = resent
        .iter()
        .map(|p| p["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(frames, [36, 41, 45, 46]);
    let svg = picture("graph", name, &[]);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let plot = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("graph") && n.attribute("data-dir") == Some("c2s"))
        .unwrap();
    let tsg = plot
        .descendants()
        .find(|n| n.attribute("class") == Some("tsg"))
        .unwrap();
    let ax = Axes::of(tsg);
    let last = day_secs(packets.last().unwrap()["ts"].as_str().unwrap()) - t0;
    assert!(
        (ax.t1 - last).abs() < 1e-6,
        "the time axis ends at the last segment"
    );
    for p in resent {
        let frame = p["frame"].as_u64().unwrap().to_string();
        let mark = tsg
            .descendants()
            .find(|n| {
                n.attribute("class") == Some("retransmission")
                    && n.attribute("data-frame") == Some(&frame)
            })
            .unwrap_or_else(|| panic!("no retransmission mark for frame {frame}"));
        let t = day_secs(p["ts"].as_str().unwrap()) - t0;
        let seq = p["rel_seq"].as_f64().unwrap();
        let len = p["len"].as_f64().unwrap();
        // d = "M x-2,y1 h4 M x,y1 V y2 M x-2,y2 h4"
        let n = numbers(mark.attribute("d").unwrap());
        let (x, y1, y2) = (n[3], n[4], n[5]);
        assert!(
            close(x, ax.x(t)),
            "frame {frame}: x {x}, expected {}",
            ax.x(t)
        );
        assert!(
            close(y1, ax.y(seq)),
            "frame {frame}: y {y1}, expected {}",
            ax.y(seq)
        );
        assert!(
            close(y2, ax.y(seq + len)),
            "frame {frame}: top {y2}, expected {}",
            ax.y(seq + len)
        );
    }
}

#[test]
fn the_graph_shades_the_zero_window_where_the_capture_has_it() {
    let name = "zero-window.pcap";
    let packets: Vec<serde_json::Value> =
        json_lines(&run_path(&["read", "--json"], &fixture(name)))
            .into_iter()
            .filter(|r| r["type"] == "packet")
            .collect();
    let t0 = day_secs(packets[0]["ts"].as_str().unwrap());
    let t = |p: &serde_json::Value| day_secs(p["ts"].as_str().unwrap()) - t0;
    let zero = packets
        .iter()
        .position(|p| {
            p["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["kind"] == "zero_window")
        })
        .unwrap();
    let open = packets[zero + 1..]
        .iter()
        .find(|p| p["dir"] == packets[zero]["dir"] && p["win_scaled"].as_u64().unwrap_or(0) > 0)
        .unwrap();
    // fixtures/README: the server's window closes at 9 and opens at 15.
    assert_eq!(packets[zero]["frame"], 9);
    assert_eq!(open["frame"], 15);
    let svg = picture("graph", name, &[]);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let tsg = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("tsg"))
        .unwrap();
    let ax = Axes::of(tsg);
    let rect = tsg
        .descendants()
        .find(|n| n.attribute("class") == Some("zero-window"))
        .expect("a zero-window period");
    assert_eq!(rect.attribute("data-frame"), Some("9"));
    assert_eq!(rect.attribute("data-end-frame"), Some("15"));
    let a = |k: &str| rect.attribute(k).unwrap().parse::<f64>().unwrap();
    let (x0, x1) = (ax.x(t(&packets[zero])), ax.x(t(open)));
    assert!(close(a("x"), x0), "starts at {} px, expected {x0}", a("x"));
    assert!(
        close(a("x") + a("width"), x1),
        "ends at {} px, expected {x1}",
        a("x") + a("width")
    );
    // The probes sent into it are marked at their frames (10, 12, 13).
    let probes: Vec<&str> = tsg
        .descendants()
        .filter(|n| n.attribute("class") == Some("zw-probe"))
        .filter_map(|n| n.attribute("data-frame"))
        .collect();
    assert_eq!(probes, ["10", "12", "13"]);
}

#[test]
fn a_huge_connection_makes_a_small_graph() {
    use synack_core::decode::tcp::flag;
    use synack_core::synth::{addr, SegmentSpec};
    // 200,000 data segments of 1448 B, each ACKed, every 1000th resent.
    let c = addr([10, 3, 0, 1], 40000);
    let s = addr([10, 3, 0, 2], 80);
    let mut frames = Vec::new();
    let mut us = 1_700_000_000_000_000u64;
    let seg = |from_client: bool, flags: u8, seq: u32, ack: u32, len: u16| {
        let mut x = if from_client {
            SegmentSpec::new(c, s)
        } else {
            SegmentSpec::new(s, c)
        };
        x.flags = flags;
        x.seq = seq;
        x.ack = ack;
        x.len = len;
        x.window = 500;
        x
    };
    frames.push((us, seg(true, flag::SYN, 0, 0, 0)));
    frames.push((us + 10, seg(false, flag::SYN | flag::ACK, 0, 1, 0)));
    frames.push((us + 20, seg(true, flag::ACK, 1, 1, 0)));
    us += 30;
    let n = 200_000u32;
    for i in 0..n {
        let seq = 1 + i * 1448;
        us += 10;
        frames.push((us, seg(true, flag::ACK, seq, 1, 1448)));
        if i % 1000 == 999 {
            us += 10;
            frames.push((us, seg(true, flag::ACK, seq, 1, 1448)));
        }
        us += 5;
        frames.push((us, seg(false, flag::ACK, 1, seq + 1448, 0)));
    }
    let pcap = png_dir().join("huge.pcap");
    write_raw_pcap(&pcap, frames);
    let out = synack()
        .args(["read", "--view", "graph"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = stdout(&out);
    eprintln!("graph of {} segments: {} bytes", 2 * n, svg.len());
    assert!(svg.len() < 600_000, "{} bytes", svg.len());
    roxmltree::Document::parse(&svg).unwrap();
    render(&svg, Some(&png_dir().join("huge.graph.png"))).unwrap();
    // Every resend is still there (frames) and merged bars say how many they hold.
    assert_eq!(svg.matches(r#"class="retransmission""#).count(), 200);
    assert!(svg.contains("data-count="));
}

#[test]
fn output_files_and_their_errors_are_one_line() {
    let dir = png_dir();
    let file = dir.join("refused.svg");
    let out = run(&[
        "read",
        "--view",
        "svg",
        "-o",
        file.to_str().unwrap(),
        fixture("refused.pcap").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "with -o nothing goes to stdout");
    roxmltree::Document::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
    // A file that cannot be made: one line, exit 1.
    let bad = run(&[
        "read",
        "--view",
        "graph",
        "-o",
        "/nonexistent-dir/x.svg",
        fixture("refused.pcap").to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        stderr(&bad),
        "synack: cannot write /nonexistent-dir/x.svg: No such file or directory\n"
    );
    // The report: no capture is a usage error; into a pipe it writes the HTML.
    let none = run(&["report", "-o", dir.join("r.html").to_str().unwrap()]);
    assert_eq!(none.status.code(), Some(2));
    assert_eq!(stderr(&none).lines().count(), 1, "{}", stderr(&none));
    let piped = run(&["report", fixture("refused.pcap").to_str().unwrap()]);
    assert!(piped.status.success());
    assert!(stdout(&piped).starts_with("<!doctype html>"));
    let bad = run(&[
        "report",
        fixture("refused.pcap").to_str().unwrap(),
        "-o",
        "/nonexistent-dir/r.html",
    ]);
    assert_eq!(
        stderr(&bad).lines().last(),
        Some("synack: cannot write /nonexistent-dir/r.html: No such file or directory")
    );
}

/// A half-close with `n` data segments each way, each ACKed: the client
/// sends, closes (FIN_WAIT_2; the server CLOSE_WAIT), the server sends on,
/// then closes. About 4n + 7 rows, so its ladder folds its middle.
fn long_half_close(path: &Path, n: u32) {
    use synack_core::decode::tcp::flag;
    use synack_core::synth::{addr, SegmentSpec};
    let c = addr([10, 4, 0, 1], 40000);
    let s = addr([10, 4, 0, 2], 80);
    let mut frames = Vec::new();
    let mut us = 1_700_000_000_000_000u64;
    let mut put = |from_client: bool, flags: u8, seq: u32, ack: u32, len: u16| {
        let mut x = if from_client {
            SegmentSpec::new(c, s)
        } else {
            SegmentSpec::new(s, c)
        };
        x.flags = flags;
        x.seq = seq;
        x.ack = ack;
        x.len = len;
        us += 10;
        frames.push((us, x));
    };
    put(true, flag::SYN, 0, 0, 0);
    put(false, flag::SYN | flag::ACK, 0, 1, 0);
    put(true, flag::ACK, 1, 1, 0);
    let (mut cs, mut ss) = (1u32, 1u32);
    for _ in 0..n {
        put(true, flag::ACK | flag::PSH, cs, ss, 100);
        cs += 100;
        put(false, flag::ACK, ss, cs, 0);
    }
    put(true, flag::FIN | flag::ACK, cs, ss, 0);
    cs += 1;
    put(false, flag::ACK, ss, cs, 0);
    for _ in 0..n {
        put(false, flag::ACK | flag::PSH, ss, cs, 100);
        ss += 100;
        put(true, flag::ACK, cs, ss, 0);
    }
    put(false, flag::FIN | flag::ACK, ss, cs, 0);
    ss += 1;
    put(true, flag::ACK, cs, ss, 0);
    write_raw_pcap(path, frames);
}

/// The number in "… N more segments not drawn (the first and last K are)".
fn folded_count(text: &str, kept: usize) -> usize {
    let tail = format!(" more segments not drawn (the first and last {kept} are)");
    let at = text
        .find(&tail)
        .unwrap_or_else(|| panic!("no fold note for {kept}"));
    text[..at]
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_long_ladder_folds_its_middle_in_every_view() {
    let pcap = png_dir().join("long-half-close.pcap");
    long_half_close(&pcap, 300);
    // The terminal ladder folds it: the first and last 60 rows are drawn.
    let ladder = stdout(&run(&["read", "--view", "ladder", pcap.to_str().unwrap()]));
    let folded = folded_count(&ladder, 60);
    // 1207 frames and the TIME_WAIT still running at the end, less 120 drawn.
    assert_eq!(folded, 1207 + 1 - 120, "{ladder}");

    let svg = picture("svg", pcap.to_str().unwrap(), &[]);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    render(&svg, Some(&png_dir().join("long-half-close.svg.png"))).unwrap();
    let rows: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("row"))
        .collect();
    assert_eq!(rows.len(), 60 + 1 + 60);
    // The fold row's note (wrapped to the notes column): the same fold as the ladder.
    let note: Vec<&str> = rows[60]
        .descendants()
        .filter(|n| n.attribute("class") == Some("note"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(folded_count(&note.join(" "), 60), folded, "{note:?}");
    let fold = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("fold"))
        .and_then(|n| n.text())
        .unwrap();
    assert!(
        fold.contains(&format!("{folded} segments folded")),
        "{fold}"
    );
    // The client's FIN was folded away: the bands still go through
    // FIN_WAIT_2 and CLOSE_WAIT, from the fold on.
    let band = |side: &str, state: &str| {
        doc.descendants().find(|n| {
            n.attribute("class") == Some("band")
                && n.attribute("data-side") == Some(side)
                && n.attribute("data-state") == Some(state)
        })
    };
    let y = |n: roxmltree::Node| n.attribute("y").unwrap().parse::<f64>().unwrap();
    let row_y = |k: usize| {
        rows[k]
            .descendants()
            .find(|n| n.has_tag_name("text"))
            .map(|n| y(n) - 3.5)
            .unwrap()
    };
    let fw2 = band("client", "FIN_WAIT_2").expect("a FIN_WAIT_2 band");
    let cw = band("server", "CLOSE_WAIT").expect("a CLOSE_WAIT band");
    // (Both written with two decimals.)
    assert!(
        (y(fw2) - row_y(60)).abs() < 0.02,
        "FIN_WAIT_2 from the fold row"
    );
    assert!(
        (y(cw) - row_y(60)).abs() < 0.02,
        "CLOSE_WAIT from the fold row"
    );
    assert!(band("client", "TIME_WAIT").is_some());

    // The report keeps 200 rows at each end for its step-through.
    let html = png_dir().join("long-half-close.html");
    let o = run(&[
        "report",
        pcap.to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    let start = page
        .find(r#"<script type="application/json" id="d-1">"#)
        .expect("details of #1");
    let body = &page[start..];
    let body = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
    let d: serde_json::Value = serde_json::from_str(body).unwrap();
    let steps = d["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 200 + 1 + 200);
    assert_eq!(d["more"], 1207 + 1 - 400);
    let step = &steps[200];
    assert_eq!(step["f"], serde_json::Value::Null);
    assert_eq!(step["cs"], "ESTABLISHED→FIN_WAIT_2", "{step}");
    assert_eq!(step["ss"], "ESTABLISHED→CLOSE_WAIT", "{step}");
    let note = step["n"][0].as_str().unwrap();
    assert_eq!(folded_count(note, 200), 1207 + 1 - 400, "{note}");
}

/// Chinese pictures (`--lang zh`): a textbook ladder and a graph, golden
/// (looked at as PNG when blessed: target/pictures/zh-*.png).
const ZH_CASES: [(&str, &str); 3] = [
    ("svg", "close-client-first.pcap"),
    ("svg", "rst-abort.pcap"),
    ("graph", "zero-window.pcap"),
];

#[test]
fn golden_chinese_pictures() {
    let mut failures = Vec::new();
    for (view, name) in ZH_CASES {
        let svg = picture(view, name, &["--lang", "zh"]);
        render(&svg, Some(&png_dir().join(format!("zh-{name}.{view}.png"))))
            .unwrap_or_else(|e| panic!("zh {view} {name}: resvg: {e}"));
        golden(
            &root().join("tests/golden/svg/zh").join(format!(
                "{name}.{}.svg",
                if view == "svg" { "ladder" } else { "graph" }
            )),
            &svg,
            &mut failures,
        );
    }
    assert!(
        failures.is_empty(),
        "{}\n(after an intended change, look at the PNGs in target/pictures, then: SYNACK_BLESS=1 cargo test --test pictures)",
        failures.join("\n")
    );
}

/// The English words in a value filled into a text: none when it is itself
/// one of the table's texts (its own values are looked at) or a glossary term.
fn value_words(v: &str, table: &[(String, String)], glossary: &[String]) -> Vec<String> {
    let v = v.trim();
    if glossary.iter().any(|t| t == v) {
        return Vec::new();
    }
    match table.iter().find_map(|(_, p)| common::ui::matches(p, v)) {
        Some(values) => values
            .iter()
            .flat_map(|x| value_words(x, table, glossary))
            .collect(),
        None => common::ui::english_words(v),
    }
}

/// Every text a picture shows (its `<text>` and `<title>` elements), on
/// every fixture, in both languages, is one of the pictures' texts
/// (src/lang/ui.rs, as docs/ui.zh.md writes it out) or a glossary term in
/// that language, with only data filled in (numbers, addresses, durations,
/// flags, state names); or it is data alone; or it is a note or the story
/// under a ladder, which are the text views' own sentences (checked by
/// tests/zh.rs) and hold no English sentence in Chinese. In Chinese, no
/// English word is left anywhere.
#[test]
fn every_visible_text_in_a_picture_is_from_the_table() {
    use common::english::english_sentences;
    use common::ui::{english_words, matches, terms, texts, Lang};
    let mut found = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for lang in [Lang::En, Lang::Zh] {
        let table = texts(lang);
        let glossary = terms(lang);
        let code = if lang == Lang::En { "en" } else { "zh" };
        for view in ["svg", "graph"] {
            for name in capture_fixtures() {
                let svg = picture(view, &name, &["--lang", code]);
                let doc = roxmltree::Document::parse(&svg).unwrap();
                for n in doc
                    .descendants()
                    .filter(|n| matches!(n.tag_name().name(), "text" | "title"))
                {
                    let text: String = n
                        .descendants()
                        .filter(|d| d.is_text())
                        .filter_map(|d| d.text())
                        .collect::<String>();
                    let what = format!("{code} {view} {name}: \"{text}\"");
                    if matches!(n.attribute("class"), Some("note" | "story")) {
                        if lang == Lang::Zh && !english_sentences(&text).is_empty() {
                            found.push(what);
                        }
                        continue;
                    }
                    // The texts it can be, and what English each reading leaves.
                    let readings: Vec<(String, Vec<String>)> = table
                        .iter()
                        .filter_map(|(k, p)| {
                            matches(p, &text).map(|values| {
                                let words = values
                                    .iter()
                                    .flat_map(|v| value_words(v, &table, &glossary))
                                    .collect();
                                (k.clone(), words)
                            })
                        })
                        .chain(
                            glossary
                                .contains(&text)
                                .then(|| ("glossary".to_string(), Vec::new())),
                        )
                        .collect();
                    let english = match readings.iter().find(|(_, w)| w.is_empty()) {
                        Some((key, _)) => {
                            used.insert((code, key.clone()));
                            Vec::new()
                        }
                        None => readings
                            .first()
                            .map_or_else(|| english_words(&text), |(_, w)| w.clone()),
                    };
                    if !english.is_empty() {
                        found.push(format!("{what} (English: {})", english.join(" ")));
                    }
                }
            }
        }
    }
    found.sort();
    found.dedup();
    assert!(
        found.is_empty(),
        "{} texts not from the table:\n{}",
        found.len(),
        found.join("\n")
    );
    // The check saw the pictures' own words in both languages.
    for key in [
        "CAPTURE_POINT",
        "LADDER_HEAD",
        "GRAPH_CAPTION",
        "SEQ_AXIS",
        "TIME_AXIS",
    ] {
        for code in ["en", "zh"] {
            assert!(
                used.contains(&(code, key.to_string())),
                "{code} {key} never seen"
            );
        }
    }
}
#[test]
fn ui_patterns_match_what_fills_them() {
    assert_eq!(
        common::ui::matches("{n} of {m} connections", "3 of 8 connections"),
        Some(vec!["3".to_string(), "8".to_string()])
    );
    assert_eq!(
        common::ui::matches("step {k} of {n}", "steps 1 of 12"),
        None
    );
    assert_eq!(common::ui::matches("⋮ {gap} idle ⋮", "⋮ 3 s idle"), None);
    assert_eq!(common::ui::matches("time (s)", "time (s)"), Some(vec![]));
    assert_eq!(
        common::ui::matches(
            "#{id}  client {c}  ⇄  server {s}",
            "#1  client 10.0.0.1:5  ⇄  server 10.0.0.2:80"
        ),
        Some(vec!["1".into(), "10.0.0.1:5".into(), "10.0.0.2:80".into()])
    );
    assert_eq!(
        common::ui::english_words("SYN,ACK seq=0 ack=1 (RTT 71 µs) 10.0.0.1:80 [fe80::1]:80"),
        Vec::<String>::new()
    );
    assert_eq!(
        common::ui::english_words("客户端 side ok"),
        vec!["side", "ok"]
    );
}
