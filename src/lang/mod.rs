//! The language synack speaks to people: English, or Chinese (中文) for
//! readers who learn TCP from Chinese textbooks. Chosen once at startup
//! (`--lang`, else `SYNACK_LANG`, else the locale: `LC_ALL`, `LC_MESSAGES`,
//! `LANG`, where `zh_*` means Chinese) and read everywhere through [`zh`].
//!
//! Only human text changes: JSON, Zeek's conn.log and tcpdump's own packet
//! line stay as they are (they are contracts with other programs). The
//! Chinese terms come from one table, [`glossary`]; the Chinese sentences sit
//! beside the English ones they translate (`views/words_zh.rs` beside
//! `views/words.rs`, `demo/text_zh.rs` beside `demo/text.rs`, and `tr!` pairs
//! elsewhere); `help` holds the Chinese `--help`, `ui` the words of the
//! pictures and of the HTML report's page.

pub(crate) mod glossary;
pub(crate) mod help;
pub(crate) mod ui;

use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// A language synack can speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Lang {
    /// English
    En,
    /// 中文 (简体)
    Zh,
}

static LANG: OnceLock<Lang> = OnceLock::new();
/// Text that ends up in JSON records (the demo's steps and totals) stays
/// English even when people are spoken to in Chinese.
static RECORDS_IN_ENGLISH: AtomicBool = AtomicBool::new(false);

/// Set the language for the rest of the run (the first call wins).
pub(crate) fn init(lang: Lang) {
    let _ = LANG.set(lang);
}

/// The language of this run (English until `init`).
pub(crate) fn get() -> Lang {
    #[cfg(any(test, fuzzing))]
    if let Some(lang) = OVERRIDE.with(std::cell::Cell::get) {
        return lang;
    }
    LANG.get().copied().unwrap_or(Lang::En)
}

// Tests and fuzz targets run both languages in one process: a language for
// this thread only, so other tests running beside them keep theirs.
#[cfg(any(test, fuzzing))]
thread_local! {
    static OVERRIDE: std::cell::Cell<Option<Lang>> = const { std::cell::Cell::new(None) };
}

/// Run `f` with this thread speaking `lang` (tests and fuzz targets only).
#[cfg(any(test, fuzzing))]
pub(crate) fn speaking<T>(lang: Lang, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Lang>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(OVERRIDE.with(|o| o.replace(Some(lang))));
    f()
}

/// Whether people are spoken to in Chinese.
pub(crate) fn zh() -> bool {
    get() == Lang::Zh
}

/// The output is JSON: sentences that go into its records stay English.
pub(crate) fn records_in_english() {
    RECORDS_IN_ENGLISH.store(true, Ordering::Relaxed);
}

/// Whether sentences that may land in a JSON record are Chinese.
pub(crate) fn zh_prose() -> bool {
    zh() && !RECORDS_IN_ENGLISH.load(Ordering::Relaxed)
}

/// One of two fixed strings, by language.
pub(crate) fn pick(en: &'static str, zh: &'static str) -> &'static str {
    if self::zh() {
        zh
    } else {
        en
    }
}

/// `format!` in the language of the run: `tr!("cannot read {path}", "无法读取 {path}")`.
macro_rules! tr {
    ($en:literal, $zh:literal $(, $arg:expr)* $(,)?) => {
        if $crate::lang::zh() {
            format!($zh $(, $arg)*)
        } else {
            format!($en $(, $arg)*)
        }
    };
}
pub(crate) use tr;

/// A language named in `--lang`, `SYNACK_LANG` or a locale: `zh`, `zh_CN.UTF-8`,
/// `zh-TW`, `en`, `en_US.UTF-8`, `C`… (`None`: empty).
pub(crate) fn from_name(name: &str) -> Option<Lang> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    if lower == "zh"
        || lower.starts_with("zh_")
        || lower.starts_with("zh-")
        || lower.starts_with("zh.")
    {
        Some(Lang::Zh)
    } else {
        Some(Lang::En)
    }
}

/// The language the environment asks for: `SYNACK_LANG`, then the first of
/// `LC_ALL`, `LC_MESSAGES`, `LANG` that is set (as setlocale reads them for
/// messages).
pub(crate) fn from_env(var: impl Fn(&str) -> Option<String>) -> Lang {
    ["SYNACK_LANG", "LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .find_map(|v| var(v).as_deref().and_then(from_name))
        .unwrap_or(Lang::En)
}

/// `--lang X` or `--lang=X` among the arguments, looked for before clap
/// parses them (the help clap prints must already be in that language).
/// Words after `--` are operands, not options.
pub(crate) fn from_args(args: &[OsString]) -> Option<Lang> {
    let mut found = None;
    let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(w) = words.next() {
        if w == "--" {
            break;
        }
        if w == "--lang" {
            found = words.next().and_then(|v| from_name(&v)).or(found);
        } else if let Some(v) = w.strip_prefix("--lang=") {
            found = from_name(v).or(found);
        }
    }
    found
}

/// Choose the language of this run from the command line and the
/// environment. Output that must be plain ASCII (`--ascii`, a locale that is
/// not UTF-8) cannot be Chinese: then it is English.
pub(crate) fn choose(args: &[OsString], ascii: bool) -> Lang {
    let lang = if ascii {
        Lang::En
    } else {
        from_args(args).unwrap_or_else(|| from_env(|v| std::env::var(v).ok()))
    };
    init(lang);
    lang
}

/// An I/O error's reason in the run's language (the common ones; others as
/// the system words them).
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    // An error with its own message (io::Error::new) already says what happened.
    if !zh() || e.get_ref().is_some() {
        return e.to_string();
    }
    let what = match e.kind() {
        K::NotFound => "没有这个文件或目录",
        K::PermissionDenied => "权限不足",
        K::AlreadyExists => "文件已存在",
        K::AddrInUse => "地址已被占用",
        K::AddrNotAvailable => "无法分配请求的地址",
        K::ConnectionRefused => "连接被拒绝",
        K::ConnectionReset => "连接被对方复位",
        K::BrokenPipe => "管道已断开",
        K::TimedOut => "超时",
        K::Interrupted => "被信号中断",
        K::UnexpectedEof => "意外到达文件末尾",
        K::InvalidInput => "参数无效",
        K::OutOfMemory => "内存不足",
        _ => return e.to_string(),
    };
    match e.raw_os_error() {
        Some(n) => format!("{what} (os error {n})"),
        None => what.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_command_line_wins_and_its_last_word_counts() {
        assert_eq!(
            from_args(&os(&["synack", "read", "--lang", "zh", "x.pcap"])),
            Some(Lang::Zh)
        );
        assert_eq!(
            from_args(&os(&["synack", "--lang=en", "demo"])),
            Some(Lang::En)
        );
        assert_eq!(
            from_args(&os(&["synack", "--lang", "zh", "--lang", "en"])),
            Some(Lang::En)
        );
        assert_eq!(from_args(&os(&["synack", "read", "x.pcap"])), None);
        // After `--`, words are operands.
        assert_eq!(
            from_args(&os(&["synack", "read", "--", "--lang", "zh"])),
            None
        );
    }

    #[test]
    fn synack_lang_then_the_locale_in_setlocale_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |v: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == v)
                    .map(|(_, x)| x.to_string())
            }
        };
        assert_eq!(from_env(env(&[("LANG", "zh_CN.UTF-8")])), Lang::Zh);
        assert_eq!(
            from_env(env(&[("LANG", "zh_TW.UTF-8"), ("LC_ALL", "C.UTF-8")])),
            Lang::En
        );
        assert_eq!(
            from_env(env(&[
                ("LANG", "en_US.UTF-8"),
                ("LC_MESSAGES", "zh_CN.UTF-8")
            ])),
            Lang::Zh
        );
        assert_eq!(
            from_env(env(&[("LANG", "zh_CN.UTF-8"), ("SYNACK_LANG", "en")])),
            Lang::En
        );
        assert_eq!(
            from_env(env(&[("LANG", "C"), ("SYNACK_LANG", "zh")])),
            Lang::Zh
        );
        // Set but empty: skipped, as setlocale skips it.
        assert_eq!(
            from_env(env(&[("LC_ALL", ""), ("LANG", "zh_CN.UTF-8")])),
            Lang::Zh
        );
        assert_eq!(from_env(env(&[])), Lang::En);
    }
}
