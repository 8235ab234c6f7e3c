//! Every view renders any frame without panicking: lines end in a newline,
//! JSON records parse, whatever the bytes under whatever link type.

use proptest::prelude::*;
use synack_core::decode::link::LinkKind;
use synack_core::decode::{Frame, Timestamp};
use synack_core::Analyzer;

use super::json::JsonView;
use super::lines::{LineOptions, LinesView};
use super::{View, ViewSet};

const LINKS: [LinkKind; 14] = [
    LinkKind::Ethernet,
    LinkKind::LinuxSll,
    LinkKind::LinuxSll2,
    LinkKind::Null,
    LinkKind::Loop,
    LinkKind::Raw,
    LinkKind::Ppp,
    LinkKind::PppHdlc,
    LinkKind::CiscoHdlc,
    LinkKind::Ieee80211,
    LinkKind::Radiotap,
    LinkKind::Pflog,
    LinkKind::Nflog,
    LinkKind::Ipoib,
];

/// A valid link header announcing IPv4 or IPv6 (as in tests/decode_props.rs).
fn link_prefix(link: LinkKind, v6: bool) -> Vec<u8> {
    let ethertype = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
    let wlan = || {
        let mut h = vec![0x08, 0x01, 0, 0];
        h.extend([0x02; 20]);
        h.extend([0xaa, 0xaa, 0x03, 0, 0, 0]);
        h.extend(ethertype);
        h
    };
    match link {
        LinkKind::Ethernet => [&[2u8; 12][..], &ethertype].concat(),
        LinkKind::LinuxSll => [&[0u8; 14][..], &ethertype].concat(),
        LinkKind::LinuxSll2 => [&ethertype[..], &[0; 18]].concat(),
        LinkKind::Null => vec![if v6 { 10 } else { 2 }, 0, 0, 0],
        LinkKind::Loop => vec![0, 0, 0, if v6 { 30 } else { 2 }],
        LinkKind::Raw => vec![],
        LinkKind::Ppp | LinkKind::PppHdlc => vec![0xff, 3, 0, if v6 { 0x57 } else { 0x21 }],
        LinkKind::CiscoHdlc => [&[0x0f, 0][..], &ethertype].concat(),
        LinkKind::Ieee80211 => wlan(),
        LinkKind::Radiotap => [vec![0, 0, 8, 0, 0, 0, 0, 0], wlan()].concat(),
        LinkKind::Pflog => {
            let mut h = vec![100, if v6 { 24 } else { 2 }, 1, 0];
            h.resize(100, 0);
            h
        }
        LinkKind::Nflog => vec![if v6 { 10 } else { 2 }, 0, 0, 1, 0xf0, 0xff, 9, 0],
        LinkKind::Ipoib => [&[0u8; 40][..], &ethertype, &[0, 0]].concat(),
    }
}

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

/// Regression (found by `any_bytes_render_in_every_view` after the merge
/// of the link types): pflog's interface name is 16 bytes of the frame, and
/// a control byte in it reached the packet line raw.
#[test]
fn a_pflog_interface_name_cannot_drive_a_terminal() {
    let mut f = vec![0u8; 64];
    f[0] = 61; // header length
    f[1] = 2; // AF_INET
    f[4..13].copy_from_slice(b"\x1b[31mvio\x1c");
    f.extend([
        0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    render(LinkKind::Pflog, &f, f.len() as u32);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_bytes_render_in_every_view(i in 0..LINKS.len(), data in prop::collection::vec(any::<u8>(), 0..200), extra in 0u32..100) {
        render(LINKS[i], &data, data.len() as u32 + extra);
    }

    #[test]
    fn plausible_tcp_renders_in_every_view(i in 0..LINKS.len(), v6 in any::<bool>(), tail in prop::collection::vec(any::<u8>(), 0..160)) {
        let mut f = link_prefix(LINKS[i], v6);
        if v6 { f.extend([0x60, 0, 0, 0]); } else { f.push(0x45); }
        f.extend(tail);
        render(LINKS[i], &f, f.len() as u32);
    }
}
