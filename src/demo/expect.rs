//! What each scenario is there to show, checked against the facts synack
//! found: a demo that did not show its scenario says so and fails, rather
//! than leaving a learner to wonder why nothing happened.

use synack_core::track::{CloseVariant, Ending, Facts, Retired, Side};

use crate::lang::pick;

/// What `name` must show, and whether these connections' facts show it.
/// `None`: shown (or nothing specific is expected of this scenario).
pub(super) fn missing(name: &str, facts: &[Facts]) -> Option<&'static str> {
    let any = |want: &dyn Fn(&Facts) -> bool| facts.iter().any(want);
    let count = |want: &dyn Fn(&Facts) -> bool| facts.iter().filter(|f| want(f)).count();
    let (shown, what) = match name {
        "basic" => (
            any(&|f| f.time_wait[0].is_some()),
            pick(
                "no connection whose client entered TIME_WAIT",
                "没有哪个连接的客户端进入了 TIME_WAIT",
            ),
        ),
        "server-close" => (
            any(&|f| f.time_wait[1].is_some()),
            pick(
                "no connection whose server entered TIME_WAIT",
                "没有哪个连接的服务器进入了 TIME_WAIT",
            ),
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
            pick(
                "no connection the client closed first",
                "没有由客户端先关闭的连接",
            ),
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
            pick("no connection the client reset", "没有被客户端复位的连接"),
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
            pick("no connection the server reset", "没有被服务器复位的连接"),
        ),
        "refused" => (
            any(&|f| f.ending == Ending::Refused),
            pick(
                "no SYN answered by a RST (is something listening on the port?)",
                "没有被 RST 回应的 SYN (端口上是不是有进程在监听？)",
            ),
        ),
        "keepalive" => (
            any(&|f| f.keepalive.is_some_and(|k| k.probes > 0)),
            pick("no keep-alive probe", "没有保活探测"),
        ),
        "zero-window" => (
            any(&|f| f.zero_window_ads > 0),
            pick("no zero window", "没有零窗口"),
        ),
        "simultaneous-close" => (
            any(&|f| f.ending.close_variant() == Some(CloseVariant::Simultaneous)),
            pick(
                "the FINs did not cross in any of the closes (a race: run it again)",
                "所有关闭中 FIN 都没有交叉 (这是竞争：再运行一次)",
            ),
        ),
        "many-clients" => (
            count(&|f| f.time_wait[0].is_some()) >= 20,
            pick(
                "fewer than twenty clients reached TIME_WAIT",
                "进入 TIME_WAIT 的客户端不到二十个",
            ),
        ),
        "port-reuse" => (
            any(&|f| f.retired == Retired::Reused),
            pick(
                "no connection whose 4-tuple was taken over",
                "没有四元组被接管的连接",
            ),
        ),
        "short-vs-long" => (
            facts.len() >= 6,
            pick("fewer than six connections", "连接不到六个"),
        ),
        _ => (!facts.is_empty(), pick("no connection", "没有连接")),
    };
    (!shown || facts.is_empty()).then_some(if facts.is_empty() {
        pick("no connection on the port", "端口上没有连接")
    } else {
        what
    })
}
