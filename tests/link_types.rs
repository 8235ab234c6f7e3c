//! The link types beyond Ethernet and Linux cooked capture, on real
//! captures: PPP, PPP in HDLC framing, Cisco HDLC, 802.11 with and without
//! radiotap (decrypted, and protected), OpenBSD pflog, Linux NFLOG and IPoIB,
//! and a Juniper link type synack refuses. The public captures live in
//! ../shared/captures (see its README.md); a test skips, saying so, when
//! its file is absent. Expected values were read off `tshark -V` of the
//! same files; tshark_crosscheck.rs compares every header field as well.

mod common;

use serde_json::Value;

use common::*;

/// The shared capture, or `None` (and a note) when it is not here.
fn shared(name: &str) -> Option<std::path::PathBuf> {
    let p = shared_capture(name);
    if p.is_none() {
        eprintln!("skipping {name}: ../shared/captures is not beside this checkout");
    }
    p
}

fn summary(records: &[Value]) -> &Value {
    let s = records.last().expect("a summary");
    assert_eq!(s["type"], "summary");
    s
}

fn packets(records: &[Value]) -> Vec<&Value> {
    records.iter().filter(|r| r["type"] == "packet").collect()
}

#[test]
fn ppp_and_mpls_over_ppp() {
    let Some(p) = shared("tcpdump__bgp_vpn_attrset.pcap") else {
        return;
    };
    let r = json_lines(&run_path(&["read", "--json"], &p));
    let pk = packets(&r);
    assert_eq!(pk[0]["link"], "ppp");
    assert_eq!(
        (pk[0]["src_port"].as_u64(), pk[0]["len"].as_u64()),
        (Some(2051), Some(121))
    );
    let lines = stdout(&run_path(&["read", "-e"], &p));
    assert!(
        lines.contains("PPP, protocol IPv4 (0x0021), length 177: IP 12.4.4.4:2051 > 12.1.1.1:179"),
        "{lines}"
    );

    let Some(p) = shared("tcpdump__lspping-fec-ldp.pcap") else {
        return;
    };
    let r = json_lines(&run_path(&["read", "--json"], &p));
    // Frames 1, 4, 5: PPP 0x0281 > one MPLS label > IPv4 > TCP (BGP).
    assert_eq!(summary(&r)["tcp_frames"], 3);
    let first = packets(&r)[0];
    assert_eq!(first["encap"][0]["kind"], "mpls");
    assert_eq!(first["encap"][0]["bottom"], true);
}

#[test]
fn ppp_in_hdlc_framing_fuzzed_is_one_line_of_other() {
    let Some(p) = shared("tcpdump__ppp_ip_udp_dns.pcap") else {
        return;
    };
    let o = run_path(&["read", "-N"], &p);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // `ff 5f 7e 08`: tcpdump says "unknown PPP protocol (0x7e08)".
    assert!(out.contains("PPP protocol Unknown (0x7e08)"), "{out}");
    let r = json_lines(&run_path(&["read", "--json"], &p));
    assert_eq!(packets(&r)[0]["link"], "ppp_hdlc");
    assert_eq!(packets(&r)[0]["ppp_protocol"], 0x7e08);
    assert_eq!(summary(&r)["other_frames"], 1);
}

#[test]
fn cisco_hdlc_http_session() {
    let Some(p) = shared("suricata-verify__hdlc-http_1tx.pcap") else {
        return;
    };
    let r = json_lines(&run_path(&["read", "--json"], &p));
    assert_eq!(summary(&r)["tcp_frames"], 17);
    let conns: Vec<&Value> = r.iter().filter(|x| x["type"] == "connection").collect();
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0]["client"], "192.168.2.7:4938");
    assert_eq!(conns[0]["handshake"]["complete"], true);
    let lines = stdout(&run_path(&["read", "-e"], &p));
    assert!(lines.starts_with("18:17:24.993536 HDLC (unicast), ethertype IPv4 (0x0800), length 52: IP 192.168.2.7:4938 > 65.55.116.183:80: Flags [S]"), "{lines}");
    // libpcap compiles filters for C_HDLC: tcpdump -r FILE 'tcp port 80' prints 17 packets.
    let r = json_lines(&run_path(&["read", "--json"], &p));
    let filtered = json_lines(
        &synack()
            .args(["read", "--json"])
            .arg(&p)
            .arg("tcp port 80 and tcp[tcpflags] & tcp-syn != 0")
            .output()
            .unwrap(),
    );
    assert_eq!(summary(&filtered)["frames"], 2);
    assert_eq!(summary(&r)["frames"], 17);
}

#[test]
fn radiotap_with_fcs() {
    let Some(p) = shared("zeek__radiotap.pcap") else {
        return;
    };
    let r = json_lines(&run_path(&["read", "--json"], &p));
    let pk = packets(&r);
    assert_eq!(pk.len(), 3);
    // tshark: wlan.sa / wlan.da of frames 1–3 (To DS, From DS, From DS).
    let macs: Vec<(&str, &str)> = pk
        .iter()
        .map(|x| {
            (
                x["src_mac"].as_str().unwrap(),
                x["dst_mac"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        macs,
        vec![
            ("90:72:40:97:b6:f5", "44:2b:03:aa:ab:8d"),
            ("44:2b:03:aa:ab:8d", "90:72:40:97:b6:f5"),
            ("a4:67:06:f7:ec:54", "33:33:00:00:00:fb"),
        ]
    );
    assert!(pk
        .iter()
        .all(|x| x["link"] == "ieee802_11_radio" && x["protocol"] == "udp"));
    let lines = stdout(&run_path(&["read", "-e"], &p));
    assert!(lines.contains("radiotap 48 bytes, 90:72:40:97:b6:f5 > 44:2b:03:aa:ab:8d, 802.11 QoS data, BSSID 8a:15:14:9b:5a:e0"), "{lines}");
    assert!(lines.contains("radiotap 25 bytes,"), "{lines}");
}

#[test]
fn ieee80211_decrypted_and_protected() {
    if let Some(p) = shared("aircrack-ng__wpa-psk-linksys-dec.pcap") {
        let r = json_lines(&run_path(&["read", "--json"], &p));
        assert_eq!(summary(&r)["tcp_frames"], 4);
        assert_eq!(summary(&r)["undecodable"], 0);
        let tcp: Vec<&Value> = packets(&r)
            .into_iter()
            .filter(|x| x["flags"].is_array())
            .collect();
        assert_eq!(tcp[0]["frame"], 9);
        assert_eq!(tcp[0]["link"], "ieee802_11");
        // libpcap filters 802.11 captures too.
        let f = json_lines(
            &synack()
                .args(["read", "--json"])
                .arg(&p)
                .arg("tcp")
                .output()
                .unwrap(),
        );
        assert_eq!(summary(&f)["frames"], 4);
    }
    if let Some(p) = shared("aircrack-ng__wpa-psk-linksys.cap") {
        let o = run_path(&["read", "--json"], &p);
        let r = json_lines(&o);
        // tshark -Y wlan.fc.protected==1 counts 59 frames.
        assert_eq!(summary(&r)["protected_frames"], 59);
        assert_eq!(summary(&r)["undecodable"], 59);
        let prot: Vec<&Value> = packets(&r)
            .into_iter()
            .filter(|x| {
                x["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("protected (encrypted)"))
            })
            .collect();
        assert_eq!(prot.len(), 59);
        let text = stdout(&run_path(&["read"], &p));
        assert!(
            text.contains("59 of the undecodable frames are protected (encrypted) 802.11 frames"),
            "{text}"
        );
    }
}

#[test]
fn nflog_prefixes_and_hooks() {
    let p = fixture("nflog.pcap");
    let r = json_lines(&run_path(&["read", "--json"], &p));
    assert_eq!(summary(&r)["tcp_frames"], 20);
    assert_eq!(summary(&r)["connections"], 2);
    let lines = stdout(&run_path(&["read", "-e"], &p));
    let first: Vec<&str> = lines.lines().take(2).collect();
    // fixtures/README.md: client frames logged in the output hook with prefix
    // synack-out, server frames in the input hook with synack-in.
    assert!(
        first[0].contains(
            "NFLOG group 5, prefix \"synack-out\", hook output, length 116: IP 10.99.15.1:"
        ),
        "{}",
        first[0]
    );
    assert!(
        first[1].contains(
            "NFLOG group 5, prefix \"synack-in\", hook input, length 188: IP 10.99.15.2:9999"
        ),
        "{}",
        first[1]
    );
    // libpcap filters NFLOG captures only on raw bytes and lengths.
    let o = synack().args(["read"]).arg(&p).arg("tcp").output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("NFLOG link-layer type filtering not implemented"));
    let f = json_lines(
        &synack()
            .args(["read", "--json"])
            .arg(&p)
            .arg("len > 150")
            .output()
            .unwrap(),
    );
    assert!(summary(&f)["frames"].as_u64().unwrap() > 0);

    let Some(p) = shared("zeek__nflog-http.pcap") else {
        return;
    };
    let r = json_lines(&run_path(&["read", "--json"], &p));
    assert_eq!(summary(&r)["tcp_frames"], 13);
    assert_eq!(summary(&r)["connections"], 1);
}

#[test]
fn ipoib() {
    let Some(p) = shared("tcpdump__ipoib.pcap") else {
        return;
    };
    let r = json_lines(&run_path(&["read", "--json"], &p));
    let s = summary(&r);
    assert_eq!(
        (
            s["tcp_frames"].as_u64(),
            s["icmp_frames"].as_u64(),
            s["arp_frames"].as_u64()
        ),
        (Some(20), Some(6), Some(4))
    );
    assert_eq!(s["connections"], 6);
    assert_eq!(packets(&r)[0]["link"], "ipoib");
}

#[test]
fn pflog() {
    let Some(p) = shared("scapy__pflog-tcp.pcap") else {
        return;
    };
    let lines = stdout(&run_path(&["read", "-e"], &p));
    // tshark: "PF Log IPv4 block on vio0 by rule 5", direction in.
    assert!(lines.starts_with("13:13:45.511869 rule 5: block in on vio0, length 164: IP 10.200.200.254:41917 > 10.200.200.154:23: Flags [S]"), "{lines}");
    let f = json_lines(
        &synack()
            .args(["read", "--json"])
            .arg(&p)
            .arg("tcp dst port 23")
            .output()
            .unwrap(),
    );
    assert_eq!(summary(&f)["frames"], 1);
    assert_eq!(packets(&f)[0]["link"], "pflog");
}

#[test]
fn juniper_link_types_are_refused_in_one_line() {
    let Some(p) = shared("tcpdump__bgp-aigp.pcap") else {
        return;
    };
    let o = run_path(&["read"], &p);
    assert_eq!(o.status.code(), Some(1));
    let err: Vec<String> = stderr(&o).lines().map(str::to_string).collect();
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(err[0].contains("link type JUNIPER_ETHER (178) is not supported (Juniper's encapsulations are not decoded)"), "{}", err[0]);
    assert!(
        err[0].contains("PPP_SERIAL, C_HDLC, IEEE802_11, IEEE802_11_RADIO, PFLOG, NFLOG and IPOIB"),
        "{}",
        err[0]
    );
}
