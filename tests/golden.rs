//! Golden output: the packet lines for every fixture, exactly. The header
//! fields inside them are the ones tshark_crosscheck.rs checks against tshark;
//! these files pin down how they are written (and were read through by hand).
//! After an intended change of format, regenerate with
//! `SYNACK_BLESS=1 cargo test --test golden` and review the diff.

mod common;

use common::*;

#[test]
fn every_fixture_renders_as_its_golden_file() {
    let bless = std::env::var_os("SYNACK_BLESS").is_some();
    let mut failures = Vec::new();
    let fixtures = capture_fixtures();
    assert!(fixtures.len() >= 30, "only {} fixtures", fixtures.len());
    for name in fixtures {
        // Epoch time with nanoseconds: independent of the time zone, loses nothing.
        let out = run_path(
            &["read", "-N", "--time", "epoch", "--nano"],
            &fixture(&name),
        );
        let text = stdout(&out);
        let golden = root().join("tests/golden").join(format!("{name}.txt"));
        if bless {
            std::fs::write(&golden, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden)
            .unwrap_or_else(|_| panic!("{}: missing; run with SYNACK_BLESS=1", golden.display()));
        if want != text {
            let line = want
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(want.lines().count().min(text.lines().count()));
            failures.push(format!(
                "{name}: first difference at line {}:\n  want: {}\n  got:  {}",
                line + 1,
                want.lines().nth(line).unwrap_or("<end>"),
                text.lines().nth(line).unwrap_or("<end>")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
