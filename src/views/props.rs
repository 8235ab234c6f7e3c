//! Every view renders any frame without panicking: lines end in a newline,
//! JSON records parse, whatever the bytes under whatever link type.

use proptest::prelude::*;
use synack_core::decode::link::LinkKind;
use synack_core::decode::{Frame, Timestamp};
use synack_core::Analyzer;

use super::json::JsonView;
use super::lines::{LineOptions, LinesView};
use super::{View, ViewSet};

const LINKS: [LinkKind; 6] = [
    LinkKind::Ethernet,
    LinkKind::LinuxSll,
    LinkKind::LinuxSll2,
    LinkKind::Null,
    LinkKind::Loop,
    LinkKind::Raw,
];

fn render(link: LinkKind, data: &[u8], wire_len: u32) {
    let frame = Frame {
        number: 1,
        ts: Timestamp::new(1_700_000_000, 1_234_567_890),
        wire_len,
        data,
    };
    for json in [false, true] {
        let mut views: Vec<Box<dyn View>> = vec![if json {
            Box::new(JsonView::new(
                true,
                super::json::Extras {
                    verbose: true,
                    payload_hex: true,
                    frame_hex: true,
                },
            ))
        } else {
            Box::new(LinesView::new(LineOptions {
                link_header: true,
                why: true,
                verbose: true,
                dump: Some(super::dump::Dump {
                    style: super::dump::DumpStyle::HexAscii,
                    link_header: false,
                }),
                ..Default::default()
            }))
        }];
        let mut out = Vec::new();
        let mut a = Analyzer::new(Default::default());
        let mut sink = ViewSet {
            views: &mut views,
            out: &mut out,
        };
        a.frame(&frame, link, &mut sink).expect("render to memory");
        a.finish(&mut sink).expect("render to memory");
        let text = String::from_utf8(out).expect("UTF-8");
        let first = text.lines().next().expect("a line for the frame");
        if json {
            let v: serde_json::Value = serde_json::from_str(first).expect("valid JSON");
            assert_eq!(v["type"], "packet");
            for l in text.lines() {
                serde_json::from_str::<serde_json::Value>(l).expect("valid JSON");
            }
        }
        assert!(text.ends_with('\n'));
        // Nothing from the frame can drive a terminal: no control byte
        // but newline and tab (the -X/-A dumps included).
        assert!(
            text.bytes()
                .all(|b| b == b'\n' || b == b'\t' || (b >= 0x20 && b != 0x7f)),
            "{text:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes_render_in_every_view(i in 0..LINKS.len(), data in prop::collection::vec(any::<u8>(), 0..200), extra in 0u32..100) {
        render(LINKS[i], &data, data.len() as u32 + extra);
    }

    #[test]
    fn plausible_tcp_renders_in_every_view(i in 0..LINKS.len(), v6 in any::<bool>(), tail in prop::collection::vec(any::<u8>(), 0..160)) {
        let mut f = match LINKS[i] {
            LinkKind::Ethernet => { let mut h = vec![2; 12]; h.extend(if v6 { [0x86, 0xdd] } else { [8, 0] }); h }
            LinkKind::LinuxSll => { let mut h = vec![0; 14]; h.extend(if v6 { [0x86, 0xdd] } else { [8, 0] }); h }
            LinkKind::LinuxSll2 => { let mut h = if v6 { vec![0x86, 0xdd] } else { vec![8, 0] }; h.extend([0; 18]); h }
            LinkKind::Null => vec![if v6 { 10 } else { 2 }, 0, 0, 0],
            LinkKind::Loop => vec![0, 0, 0, if v6 { 30 } else { 2 }],
            LinkKind::Raw => vec![],
        };
        if v6 { f.extend([0x60, 0, 0, 0]); } else { f.push(0x45); }
        f.extend(tail);
        render(LINKS[i], &f, f.len() as u32);
    }
}
