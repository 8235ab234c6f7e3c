//! The words of the pictures and of the report's page (docs/ui.zh.md,
//! written out from src/lang/ui.rs) and the glossary's terms
//! (docs/glossary.zh.md), as the tests that look for English left in
//! Chinese pictures and pages read them.
#![allow(dead_code)]

use super::root;

/// Words that may stay in English in a Chinese picture or page: what the
/// packets say (seq, ack, len, win on an arrow's label) and units.
/// (Flag names, RFC state names and acronyms have no lower-case letter and
/// never count as English.)
pub const DATA_WORDS: &[&str] = &[
    "seq", "ack", "len", "win", "ns", "ms", "bit", "kbit", "Mbit", "Gbit",
];

/// Which column of a table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lang {
    En,
    Zh,
}

fn rows(file: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("| ") && !l.starts_with("| key |") && !l.starts_with("| English |")
        })
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// The texts of src/lang/ui.rs in one language: (key, text with `{name}`s).
pub fn texts(lang: Lang) -> Vec<(String, String)> {
    rows("docs/ui.zh.md")
        .into_iter()
        .map(|r| {
            let t = if lang == Lang::En { &r[1] } else { &r[2] };
            (r[0].clone(), t.clone())
        })
        .collect()
}

/// The glossary's terms in one language.
pub fn terms(lang: Lang) -> Vec<String> {
    rows("docs/glossary.zh.md")
        .into_iter()
        .map(|r| {
            if lang == Lang::En {
                r[0].clone()
            } else {
                r[1].clone()
            }
        })
        .collect()
}

/// The glossary's (English, Chinese) pairs: `SYN_SENT` → `同步已发送`.
pub fn glossary_pairs() -> Vec<(String, String)> {
    rows("docs/glossary.zh.md")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

/// The literal parts of a text, between its `{name}`s.
fn literals(pattern: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        match rest[open..].find('}') {
            Some(close) => {
                out.push(&rest[..open]);
                rest = &rest[open + close + 1..];
            }
            None => break,
        }
    }
    out.push(rest);
    out
}

/// Whether `text` is `pattern` with its `{name}`s filled in; the values if so.
pub fn matches(pattern: &str, text: &str) -> Option<Vec<String>> {
    fn go(lits: &[&str], text: &str, first: bool, out: &mut Vec<String>) -> bool {
        let Some((lit, rest)) = lits.split_first() else {
            return text.is_empty();
        };
        if first {
            return text.starts_with(lit) && go(rest, &text[lit.len()..], false, out);
        }
        if rest.is_empty() {
            if lit.is_empty() {
                out.push(text.to_string());
                return true;
            }
            return text.ends_with(lit) && {
                out.push(text[..text.len() - lit.len()].to_string());
                true
            };
        }
        let mut from = 0;
        while let Some(at) = text[from..].find(lit) {
            let at = from + at;
            let mark = out.len();
            out.push(text[..at].to_string());
            if go(rest, &text[at + lit.len()..], false, out) {
                return true;
            }
            out.truncate(mark);
            from = at + lit.len().max(1);
            if from > text.len() {
                break;
            }
        }
        false
    }
    let lits = literals(pattern);
    let mut out = Vec::new();
    go(&lits, text, true, &mut out).then_some(out)
}

/// English words in `text`: ASCII words of two letters or more with a
/// lower-case letter, less [`DATA_WORDS`]; addresses (10.0.0.1:80,
/// [fe80::1]:80) are left out first.
pub fn english_words(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for word in text.split_whitespace() {
        let bare = word.trim_matches(|c: char| "()，。；：,;".contains(c));
        if bare.parse::<std::net::SocketAddr>().is_ok() || bare.parse::<std::net::IpAddr>().is_ok()
        {
            continue;
        }
        for w in bare.split(|c: char| !c.is_ascii_alphabetic()) {
            if w.len() >= 2 && w.chars().any(|c| c.is_ascii_lowercase()) && !DATA_WORDS.contains(&w)
            {
                found.push(w.to_string());
            }
        }
    }
    found
}

/// The English words of the pictures' and page's own texts (not the data
/// filled in), less those the Chinese texts keep too (TSecr, Karn): what
/// must not be seen on a Chinese page.
pub fn english_ui_words() -> Vec<String> {
    let kept: Vec<String> = texts(Lang::Zh)
        .iter()
        .flat_map(|(_, t)| {
            literals(t)
                .into_iter()
                .flat_map(english_words)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut words: Vec<String> = texts(Lang::En)
        .iter()
        .flat_map(|(_, t)| {
            literals(t)
                .into_iter()
                .flat_map(english_words)
                .collect::<Vec<_>>()
        })
        .filter(|w| w.len() >= 3 && w != "synack" && w != "conn" && !kept.contains(w))
        .collect();
    words.sort();
    words.dedup();
    words
}
