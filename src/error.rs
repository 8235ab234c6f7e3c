//! Library errors: each says what went wrong and, where it can, what to do next.
//! Every text that came from outside (a path, a message from libpcap or the
//! OS) is escaped as it is displayed: a file name or a capture must not be
//! able to send control sequences to the terminal through an error.

use std::fmt;
use std::io;

use crate::escape::Escaped;
use crate::lang::tr;

#[derive(Debug)]
pub(crate) enum Error {
    Open {
        path: String,
        reason: String,
    },

    Create {
        path: String,
        reason: String,
    },

    /// A savefile write failed (disk full…): what was written is whole.
    Save(String),

    Capture {
        device: String,
        reason: String,
    },

    UnsupportedLink {
        path: String,
        name: String,
        dlt: i32,
        /// Why not, when there is more to say (Juniper's encapsulations).
        why: String,
        /// libpcap's names of the link types synack decodes.
        supported: String,
    },

    Filter {
        expr: String,
        reason: String,
    },

    Truncated {
        path: String,
        last_frame: u64,
        reason: String,
    },

    Read {
        path: String,
        last_frame: u64,
        reason: String,
    },

    Output(io::Error),

    Privileges {
        uid: u32,
        source: io::Error,
    },

    /// The demo's echo traffic could not run (a taken port, a failed client).
    Traffic(String),

    /// A mistake in how synack was called (exit status 2).
    Usage(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = match self {
            Error::Open { path, reason } => {
                let (path, reason) = (Escaped(path), Escaped(reason));
                tr!("cannot read {path}: {reason}", "无法读取 {path}：{reason}")
            }
            Error::Create { path, reason } => {
                let (path, reason) = (Escaped(path), Escaped(reason));
                tr!("cannot write {path}: {reason}", "无法写入 {path}：{reason}")
            }
            Error::Save(s) | Error::Traffic(s) | Error::Usage(s) => Escaped(s).to_string(),
            Error::Capture { device, reason } => {
                let (device, reason) = (Escaped(device), Escaped(reason));
                tr!(
                    "cannot capture on {device}: {reason}",
                    "无法在 {device} 上捕获：{reason}"
                )
            }
            Error::UnsupportedLink {
                path,
                name,
                dlt,
                why,
                supported,
            } => {
                let (path, name) = (Escaped(path), Escaped(name));
                tr!(
                "{path}: link type {name} ({dlt}) is not supported{why}; synack decodes {supported} \
                 (convert other captures with editcap, or capture with -i any)",
                "{path}：不支持链路类型 {name} ({dlt}){why}；synack 能解码 {supported} \
                 (其他捕获请用 editcap 转换，或用 -i any 捕获)"
                )
            }
            Error::Filter { expr, reason } => {
                let (expr, reason) = (Escaped(expr), Escaped(reason));
                tr!(
                    "bad filter expression '{expr}': {reason} (see 'man pcap-filter' for the syntax)",
                    "过滤表达式 '{expr}' 有误：{reason} (语法见 'man pcap-filter')"
                )
            }
            Error::Truncated {
                path,
                last_frame,
                reason,
            } => {
                let at = after_frame(*last_frame);
                let (path, reason) = (Escaped(path), Escaped(reason));
                tr!(
                    "{path}: capture ends in the middle of a record {at}: {reason}",
                    "{path}：捕获文件在一条记录的中间结束 ({at})：{reason}"
                )
            }
            Error::Read {
                path,
                last_frame,
                reason,
            } => {
                let at = after_frame(*last_frame);
                let (path, reason) = (Escaped(path), Escaped(reason));
                tr!(
                    "{path}: read error {at}: {reason}",
                    "{path}：读取出错 ({at})：{reason}"
                )
            }
            Error::Output(e) => crate::lang::io_reason(e),
            Error::Privileges { uid, source } => {
                let e = crate::lang::io_reason(source);
                tr!(
                    "could not drop privileges to uid {uid}: {e}",
                    "无法把权限降为 uid {uid}：{e}"
                )
            }
        };
        f.write_str(&line)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Output(e) | Error::Privileges { source: e, .. } => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Output(e)
    }
}

/// Where in a file an error came: "after frame N", or before any frame.
fn after_frame(n: u64) -> String {
    if n == 0 {
        crate::lang::pick("before its first frame", "在第一帧之前").into()
    } else {
        tr!("after frame {n}", "在第 {n} 帧之后")
    }
}

impl From<crate::cli::UsageError> for Error {
    fn from(e: crate::cli::UsageError) -> Error {
        Error::Usage(e.0)
    }
}

impl Error {
    /// Writing into a closed pipe (`synack … | head`) is a normal way to stop.
    pub(crate) fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

pub(crate) type Result<T> = std::result::Result<T, Error>;
