//! The OPC UA connection handshake's first step, by hand (OPC 10000-6, 7.1.2):
//! send Hello, expect Acknowledge. Tells an OPC UA server from anything else in
//! one round trip and keeps the bytes of whatever else answered.
//!
//! [`encode_hello`] and [`classify_reply`] are pure; [`check`] does the I/O.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{discover::modbus::identify::PortDiagnostic, evidence::DiagnosticKind};

/// Receive and send buffer sizes announced in Hello (the spec's minimum is 8192).
const BUFFER_SIZE: u32 = 65_536;

/// The Hello message for `endpoint_url`.
pub fn encode_hello(endpoint_url: &str) -> Vec<u8> {
    let url = endpoint_url.as_bytes();
    let size = 8 + 20 + 4 + url.len();
    let mut message = Vec::with_capacity(size);
    message.extend_from_slice(b"HELF");
    message.extend_from_slice(&(size as u32).to_le_bytes());
    message.extend_from_slice(&0u32.to_le_bytes()); // protocol version
    message.extend_from_slice(&BUFFER_SIZE.to_le_bytes()); // receive buffer size
    message.extend_from_slice(&BUFFER_SIZE.to_le_bytes()); // send buffer size
    message.extend_from_slice(&0u32.to_le_bytes()); // max message size: no limit
    message.extend_from_slice(&0u32.to_le_bytes()); // max chunk count: no limit
    message.extend_from_slice(&(url.len() as i32).to_le_bytes());
    message.extend_from_slice(url);
    message
}

/// What the first bytes after Hello say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelloReply {
    /// Acknowledge: an OPC UA server.
    Acknowledge,
    /// Error message: an OPC UA server that refuses, with its status code and reason.
    Error {
        /// StatusCode sent.
        status: u32,
        /// Reason text sent.
        reason: String,
    },
    /// Not enough bytes yet to tell.
    Incomplete,
    /// Anything else.
    NotOpcUa,
}

/// Classifies what a peer sent after Hello.
pub fn classify_reply(bytes: &[u8]) -> HelloReply {
    if bytes.len() < 8 {
        // A partial header that already disagrees is not OPC UA.
        let prefix_ok = b"ACKF"[..bytes.len().min(4)] == bytes[..bytes.len().min(4)]
            || b"ERRF"[..bytes.len().min(4)] == bytes[..bytes.len().min(4)];
        return if prefix_ok {
            HelloReply::Incomplete
        } else {
            HelloReply::NotOpcUa
        };
    }
    match &bytes[..4] {
        b"ACKF" => HelloReply::Acknowledge,
        b"ERRF" => {
            if bytes.len() < 16 {
                return HelloReply::Incomplete;
            }
            let status = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            let length = i32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
            let reason = usize::try_from(length)
                .ok()
                .and_then(|length| bytes.get(16..16 + length))
                .map(|text| String::from_utf8_lossy(text).into_owned())
                .unwrap_or_default();
            HelloReply::Error { status, reason }
        }
        _ => HelloReply::NotOpcUa,
    }
}

fn problem(kind: DiagnosticKind, message: String, raw: &[u8]) -> PortDiagnostic {
    PortDiagnostic {
        kind,
        message,
        raw_hex: (!raw.is_empty()).then(|| crate::discover::modbus::connection::hex(raw)),
    }
}

/// Sends Hello to `address` and reads the answer, within `timeout`. `Ok` for an
/// Acknowledge; otherwise the diagnostic saying what came back.
pub async fn check(
    address: SocketAddr,
    endpoint_url: &str,
    timeout: Duration,
) -> Result<(), PortDiagnostic> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut stream = match tokio::time::timeout_at(deadline, TcpStream::connect(address)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            return Err(problem(
                DiagnosticKind::Refused,
                format!("{address}: cannot connect: {error}"),
                &[],
            ));
        }
        Err(_) => {
            return Err(problem(
                DiagnosticKind::Timeout,
                format!("{address}: connect timed out"),
                &[],
            ));
        }
    };
    if tokio::time::timeout_at(deadline, stream.write_all(&encode_hello(endpoint_url)))
        .await
        .map_or(true, |written| written.is_err())
    {
        return Err(problem(
            DiagnosticKind::Refused,
            format!("{address}: the connection failed while sending Hello"),
            &[],
        ));
    }
    let mut received = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        match classify_reply(&received) {
            HelloReply::Acknowledge => return Ok(()),
            HelloReply::Error { status, reason } => {
                let status = opcua::types::StatusCode::from(status);
                return Err(problem(
                    DiagnosticKind::Refused,
                    format!("{address}: OPC UA server refused the connection: {status} {reason}"),
                    &received,
                ));
            }
            HelloReply::NotOpcUa => {
                return Err(problem(
                    DiagnosticKind::Malformed,
                    format!("{address}: answered Hello with bytes that are not OPC UA"),
                    &received,
                ));
            }
            HelloReply::Incomplete => {}
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => {
                let message = if received.is_empty() {
                    format!("{address}: closed the connection after Hello")
                } else {
                    format!("{address}: closed the connection in the middle of its answer to Hello")
                };
                return Err(problem(DiagnosticKind::Refused, message, &received));
            }
            Ok(Ok(n)) => received.extend_from_slice(&chunk[..n]),
            Ok(Err(error)) => {
                return Err(problem(
                    DiagnosticKind::Refused,
                    format!("{address}: the connection failed after Hello: {error}"),
                    &received,
                ));
            }
            Err(_) => {
                return Err(problem(
                    DiagnosticKind::Timeout,
                    format!("{address}: no answer to Hello within {timeout:?}"),
                    &received,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_has_the_layout_of_part_6() {
        let hello = encode_hello("opc.tcp://127.0.0.1:4840/");
        assert_eq!(&hello[..4], b"HELF");
        assert_eq!(
            u32::from_le_bytes(hello[4..8].try_into().unwrap()) as usize,
            hello.len()
        );
        assert_eq!(i32::from_le_bytes(hello[28..32].try_into().unwrap()), 25);
        assert_eq!(&hello[32..], b"opc.tcp://127.0.0.1:4840/");
    }

    #[test]
    fn replies_are_classified() {
        let mut error = b"ERRF".to_vec();
        error.extend_from_slice(&22u32.to_le_bytes());
        error.extend_from_slice(&0x807F_0000u32.to_le_bytes());
        error.extend_from_slice(&6i32.to_le_bytes());
        error.extend_from_slice(b"no way");
        for (bytes, expected) in [
            (&b"ACKF\x1c\x00\x00\x00"[..], HelloReply::Acknowledge),
            (&b"ACK"[..], HelloReply::Incomplete),
            (&b""[..], HelloReply::Incomplete),
            (&b"HTTP/1.1 400"[..], HelloReply::NotOpcUa),
            (&b"\x00\x01\x00\x00"[..], HelloReply::NotOpcUa),
            (
                &error[..],
                HelloReply::Error {
                    status: 0x807F_0000,
                    reason: "no way".into(),
                },
            ),
            (&error[..12], HelloReply::Incomplete),
        ] {
            assert_eq!(classify_reply(bytes), expected, "{bytes:?}");
        }
    }
}
