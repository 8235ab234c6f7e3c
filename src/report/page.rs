//! The report's HTML: one file, its style and script inline, its data in
//! JSON script elements (parsed by the page only when needed).

use std::io::{self, Write};

use serde_json::Value;

use crate::lang::ui;
use crate::views::picture::esc;

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

/// JSON inside a `<script>` element: `</` would end the element early, and
/// `<!--` or `<script` would put the HTML parser in a state where the real
/// end tag no longer ends it. Each such `<` (only ever inside a JSON
/// string) is written `\u003c`, which JSON reads back as `<`.
fn script_json(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let next = rest.as_bytes().get(at + 1).copied();
        if matches!(next, Some(b'/' | b'!' | b's' | b'S')) {
            out.push_str("\\u003c");
        } else {
            out.push('<');
        }
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out
}

pub(super) fn write(
    out: &mut dyn Write,
    meta: &Value,
    rows: &[&Value],
    details: &[(u64, &str)],
) -> io::Result<()> {
    let files: Vec<String> = meta["files"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    // The title names the files; the summary line under it gives their paths.
    let names: Vec<&str> = files
        .iter()
        .map(|f| f.rsplit('/').next().unwrap_or(f))
        .collect();
    // Escaped as on the terminal: a name's control characters and bidi
    // overrides are shown, not obeyed (esc then makes it text for HTML).
    let names: Vec<String> = names
        .iter()
        .map(|n| crate::escape::Escaped(n).to_string())
        .collect();
    let title = ui::PAGE_TITLE.fill(&[("files", &names.join(", "))]);
    // Each word of the page in the run's language, escaped for HTML.
    let t = |text: ui::Text| esc(text.get());
    write!(
        out,
        r#"<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p id="summary"></p>
</header>
<section id="timeline-section">
<h2>{timeline}</h2>
<p class="hint">{timeline_hint}</p>
<canvas id="timeline" width="1200" height="120"></canvas>
<div id="timeline-legend" class="legend"></div>
</section>
<section id="table-section">
<h2>{connections}</h2>
<div class="filters">
<label>{address} <input id="f-addr" type="search" placeholder="{address_example}" autocomplete="off"></label>
<label>{close} <select id="f-close"><option value="">{any}</option></select></label>
<label>{time_wait} <select id="f-tw"><option value="">{any}</option><option value="client">{client_holds}</option><option value="server">{server_holds}</option><option value="none">{nobody}</option></select></label>
<label><input id="f-rt" type="checkbox"> {with_retrans}</label>
<span id="count"></span>
</div>
<p class="hint">{table_hint}</p>
<table id="conns"><thead><tr></tr></thead><tbody></tbody></table>
<div class="pager"><button id="page-prev" type="button">{earlier}</button> <span id="page-pos"></span> <button id="page-next" type="button">{later}</button></div>
</section>
<section id="detail" hidden>
<h2 id="d-title"></h2>
<p id="d-story"></p>
<div id="d-none" hidden></div>
<div id="d-body">
<div class="sticky">
<div class="stepper">
<button id="step-prev" type="button">{previous}</button>
<button id="step-next" type="button">{next}</button>
<span id="step-pos"></span>
<span class="hint">{keys}</span>
</div>
<div class="now">
<div class="side"><span class="who">{client}</span> <span id="st-client"></span></div>
<div class="side"><span class="who">{server}</span> <span id="st-server"></span></div>
<div id="st-packet"></div>
<div id="st-line" class="hint"></div>
<ul id="st-notes"></ul>
</div>
</div>
<div id="d-ladder" class="picture"></div>
<div id="d-graphs" class="picture"></div>
</div>
</section>
<footer id="footer"></footer>
"#,
        title = esc(&title),
        lang = if crate::lang::zh() { "zh-CN" } else { "en" },
        timeline = t(ui::TIMELINE),
        timeline_hint = t(ui::TIMELINE_HINT),
        connections = t(ui::CONNECTIONS),
        address = t(ui::F_ADDRESS),
        address_example = t(ui::F_ADDRESS_EXAMPLE),
        close = t(ui::CLOSE),
        any = t(ui::F_ANY),
        time_wait = t(ui::TIME_WAIT),
        client_holds = t(ui::F_CLIENT_HOLDS),
        server_holds = t(ui::F_SERVER_HOLDS),
        nobody = t(ui::F_NOBODY),
        with_retrans = t(ui::F_RETRANS),
        table_hint = t(ui::TABLE_HINT),
        earlier = t(ui::EARLIER_ROWS),
        later = t(ui::LATER_ROWS),
        previous = t(ui::PREVIOUS),
        next = t(ui::NEXT),
        keys = t(ui::KEYS_HINT),
        client = t(ui::CLIENT),
        server = t(ui::SERVER),
    )?;
    let data = serde_json::json!({ "meta": meta, "rows": rows });
    writeln!(
        out,
        r#"<script type="application/json" id="data">{}</script>"#,
        script_json(&data.to_string())
    )?;
    for (id, d) in details {
        writeln!(
            out,
            r#"<script type="application/json" id="d-{id}">{}</script>"#,
            script_json(d)
        )?;
    }
    writeln!(out, "<script>{JS}</script>\n</body>\n</html>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_cannot_close_its_script_element() {
        let raw = r#"<!--<script></script><SCRIPT></Script><b> a<3"#;
        let s = script_json(&serde_json::json!({ "a": raw }).to_string());
        for bad in ["</", "<!", "<s", "<S"] {
            assert!(!s.contains(bad), "{s}");
        }
        assert!(s.contains("<b>") && s.contains("a<3"), "{s}");
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["a"], raw);
    }
}
