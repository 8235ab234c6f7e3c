//! What each scenario is there to show, checked against the facts synack
//! found: a demo that did not show its scenario says so and fails, rather
//! than leaving a learner to wonder why nothing happened.

use synack_core::track::{CloseVariant, Ending, Facts, Retired, Side};

/// What `name` must show, and whether these connections' facts show it.
/// `None`: shown (or nothing specific is expected of this scenario).
pub(super) fn missing(name: &str, facts: &[Facts]) -> Option<&'static str> {
    let any = |want: &dyn Fn(&Facts) -> bool| facts.iter().any(want);
    let count = |want: &dyn Fn(&Facts) -> bool| facts.iter().filter(|f| want(f)).count();
    let (shown, what) = match name {
        "basic" => (
            any(&|f| f.time_wait[0].is_some()),
            "no connection whose client entered TIME_WAIT",
        ),
        "server-close" => (
            any(&|f| f.time_wait[1].is_some()),
            "no connection whose server entered TIME_WAIT",
        ),
        "half-close" => (
            any(&|f| {
                matches!(
                    f.ending,
                    Ending::Closed {
                        first: Side::Client,
                        ..
                    }
                )
            }),
            "no connection the client closed first",
        ),
        "abort" => (
            any(&|f| {
                matches!(
                    f.ending,
                    Ending::Reset {
                        by: Side::Client,
                        ..
                    }
                )
            }),
            "no connection the client reset",
        ),
        "unread-close" => (
            any(&|f| {
                matches!(
                    f.ending,
                    Ending::Reset {
                        by: Side::Server,
                        ..
                    }
                )
            }),
            "no connection the server reset",
        ),
        "refused" => (
            any(&|f| f.ending == Ending::Refused),
            "no SYN answered by a RST (is something listening on the port?)",
        ),
        "keepalive" => (
            any(&|f| f.keepalive.is_some_and(|k| k.probes > 0)),
            "no keep-alive probe",
        ),
        "zero-window" => (any(&|f| f.zero_window_ads > 0), "no zero window"),
        "simultaneous-close" => (
            any(&|f| f.ending.close_variant() == Some(CloseVariant::Simultaneous)),
            "the FINs did not cross in any of the closes (a race: run it again)",
        ),
        "many-clients" => (
            count(&|f| f.time_wait[0].is_some()) >= 20,
            "fewer than twenty clients reached TIME_WAIT",
        ),
        "port-reuse" => (
            any(&|f| f.retired == Retired::Reused),
            "no connection whose 4-tuple was taken over",
        ),
        "short-vs-long" => (facts.len() >= 6, "fewer than six connections"),
        _ => (!facts.is_empty(), "no connection"),
    };
    (!shown || facts.is_empty()).then_some(if facts.is_empty() {
        "no connection on the port"
    } else {
        what
    })
}
