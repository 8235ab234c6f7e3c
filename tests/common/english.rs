//! Finding English left in Chinese output (`--lang zh`). Shared by the
//! integration tests and the library's unit tests (included by path), so
//! both judge text the same way.
//!
//! An English sentence, here, is two or more English words in a row, with
//! only spaces between them. A word counts when it has at least three
//! letters, at least one of them lower-case (so RFC state names, flag
//! names and acronyms, which stay as they are in Chinese output, never
//! count), and is not one of the allowed technical tokens below. Left out
//! before looking: text in backticks or quotes (quoted system messages such
//! as "Address already in use", shown beside their Chinese), options
//! (`--why`, `-v`), and command examples (`synack read FILE …`, up to the
//! Chinese that explains them).
#![allow(dead_code)]

/// Words that are names, not English: tcpdump's own words on the packet
/// line (kept so that lines can be compared with tcpdump's, word for word),
/// and the programs a command example starts with.
pub const ALLOWED: &[&str] = &[
    // tcpdump's packet line (and -v, -e)
    "seq",
    "ack",
    "win",
    "len",
    "length",
    "options",
    "mss",
    "sackOK",
    "val",
    "ecr",
    "nop",
    "wscale",
    "scaled",
    "sack",
    "eol",
    "tfo",
    "cookie",
    "cookiereq",
    "mptcp",
    "capable",
    "join",
    "dss",
    "add-addr",
    "remove-addr",
    "prio",
    "fail",
    "fast-close",
    "tcprst",
    "unknown",
    "urg",
    "ethertype",
    "vlan",
    "Flags",
    "flags",
    "none",
    "echo",
    "request",
    "reply",
    "destination",
    "unreachable",
    "redirect",
    "time",
    "exceeded",
    "packet",
    "too",
    "big",
    "router",
    "solicitation",
    "advertisement",
    "neighbor",
    "multicast",
    "listener",
    "report",
    "type",
    "code",
    "Request",
    "who-has",
    "tell",
    "Reply",
    "is-at",
    "operation",
    "address",
    "family",
    "raw",
    "ttl",
    "offset",
    "proto",
    "cksum",
    "correct",
    "incorrect",
    "bad",
    "class",
    "flow",
    "flowlabel",
    "hlim",
    "next-header",
    "Fragment",
    "payload",
    "tos",
    "ptr",
    "hops",
    "recorded",
    "timestamp",
    "tsonly",
    "ifindex",
    "no-next-header",
    "ip-proto",
    // tcpdump's NFLOG header (-e)
    "group",
    "prefix",
    "hook",
    "input",
    "output",
    "forward",
    "prerouting",
    "postrouting",
    // the tunnel path before the inner packet: protocol and field names
    "Geneve",
    "vni",
    "key",
    "session",
    "label",
    "seq",
    // programs that start a command
    "synack",
    "tcpdump",
    "sudo",
    "setcap",
];

fn is_allowed(word: &str) -> bool {
    ALLOWED.iter().any(|a| a.eq_ignore_ascii_case(word))
}

/// Whether `c` is a CJK character (Chinese text starts there).
fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x9fff | 0xff00..=0xffef)
}

/// The subcommands and words that start a command example.
const COMMANDS: &[&str] = &[
    "read",
    "live",
    "demo",
    "echo",
    "interfaces",
    "man",
    "completions",
    "help",
    "-",
    "|",
];

/// `text` without quoted spans, backticks and command examples.
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // Quoted spans: "…", `…`, “…”, and '…' opened after a non-letter.
        let close = match c {
            '"' => Some('"'),
            '`' => Some('`'),
            '“' => Some('”'),
            '\'' if i == 0 || !chars[i - 1].is_ascii_alphabetic() => Some('\''),
            _ => None,
        };
        if let Some(close) = close {
            if let Some(end) = chars[i + 1..].iter().position(|&x| x == close) {
                out.push(' ');
                i += end + 2;
                continue;
            }
        }
        // A command example: "synack read …" (or sudo / tcpdump …) up to
        // the first Chinese character, or the end of the line.
        let rest: String = chars[i..].iter().take(40).collect();
        let at_word_start = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        let example = at_word_start
            && ["synack ", "sudo synack ", "tcpdump "].iter().any(|p| {
                rest.starts_with(p)
                    && (p.starts_with("tcpdump")
                        || COMMANDS.iter().any(|c| {
                            rest[p.len()..].starts_with(&format!("{c} "))
                                || rest[p.len()..].starts_with("--")
                        }))
            });
        if example {
            while i < chars.len() && !is_cjk(chars[i]) && chars[i] != '\n' {
                i += 1;
            }
            out.push(' ');
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The English sentences in `text`, each as the run of words found.
pub fn english_sentences(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    // Quotes first, over the whole text: a quoted span may be wrapped onto the next line.
    let text = strip(text);
    for line in text.lines() {
        // Chinese and other non-ASCII characters end a sentence, as punctuation does.
        let line: String = line
            .chars()
            .map(|c| {
                if c.is_ascii() {
                    c.to_string()
                } else {
                    " | ".into()
                }
            })
            .collect();
        let mut run: Vec<String> = Vec::new();
        let mut pending: Vec<String> = Vec::new();
        let mut flush = |run: &mut Vec<String>| {
            let counted = run.iter().filter(|w| w.len() >= 3).count();
            if counted >= 2 {
                found.push(run.join(" "));
            }
            run.clear();
        };
        for token in line.split(' ') {
            if token.is_empty() {
                continue;
            }
            // Options and anything with digits or symbols inside is not a word;
            // punctuation around a word is.
            let word = token.trim_matches(|c: char| {
                matches!(c, ',' | '.' | ';' | ':' | '(' | ')' | '[' | ']' | '!' | '?')
            });
            let is_word = !word.starts_with('-')
                && word.chars().filter(|c| c.is_ascii_alphabetic()).count() >= 3
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphabetic() || c == '-' || c == '\'')
                && word.chars().any(|c| c.is_ascii_lowercase())
                // CamelCase is a name (ListenOverflows, ConnectionResetError).
                && !word.chars().skip(1).any(|c| c.is_ascii_uppercase())
                && !is_allowed(word);
            // "is", "of", "no"…: inside a sentence they neither count nor end it.
            let short = !word.is_empty()
                && word.len() <= 2
                && word.len() == token.len()
                && word.chars().all(|c| c.is_ascii_lowercase());
            if is_word {
                run.append(&mut pending);
                run.push(word.to_string());
                // A sentence stops at punctuation after a word.
                if word.len() != token.len() && !token.ends_with('-') {
                    flush(&mut run);
                }
            } else if short {
                pending.push(word.to_string());
                continue;
            } else {
                flush(&mut run);
            }
            pending.clear();
        }
        flush(&mut run);
    }
    found
}
