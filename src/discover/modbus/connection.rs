//! One Modbus TCP connection: paced request/response exchanges with timeouts.
//!
//! [`ModbusConnection::exchange`] sends one [`ReadRequest`] (the only requests
//! that can be built, see [`super::frame`]) and returns an [`Exchange`]: a
//! reply, or what went wrong (timeout, closed, malformed bytes, a reply for
//! another transaction or unit). It never panics and never waits longer than
//! the operation timeout. Replies that arrive late for a request that already
//! timed out are skipped, not mistaken for the current answer.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::Instant,
};

use super::frame::{self, FrameSplit, ReadRequest, Reply};
use crate::discover::pacing::Pacer;

/// Most bytes kept from a reply for diagnostics.
const MAX_RAW_BYTES: usize = 300;

/// The result of one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Exchange {
    /// A reply for this transaction and unit (it may be an exception or malformed PDU).
    Reply(Reply),
    /// A reply for this transaction but another unit id.
    UnitMismatch {
        /// The unit id in the reply.
        replied_unit: u8,
        /// The reply itself.
        reply: Reply,
        /// The frame, hex.
        raw_hex: String,
    },
    /// A frame for a transaction id never sent.
    TransactionMismatch {
        /// Transaction id sent.
        sent: u16,
        /// Transaction id received.
        received: u16,
        /// The frame, hex.
        raw_hex: String,
    },
    /// Bytes that are not a Modbus TCP frame; the connection is closed afterwards.
    BadFrame {
        /// What is wrong.
        reason: String,
        /// The bytes received, hex.
        raw_hex: String,
    },
    /// No (complete) reply within the timeout.
    Timeout,
    /// The peer closed the connection or it failed.
    Closed(String),
}

/// A connection to one Modbus TCP port.
pub struct ModbusConnection {
    stream: Option<TcpStream>,
    address: SocketAddr,
    host_pacer: Arc<Pacer>,
    timeout: Duration,
    next_transaction: u16,
    timed_out_transactions: Vec<u16>,
    buffer: Vec<u8>,
    requests_sent: u32,
    last_frame: Vec<u8>,
}

impl ModbusConnection {
    /// Connects within `timeout`.
    pub async fn connect(
        address: SocketAddr,
        timeout: Duration,
        host_pacer: Arc<Pacer>,
    ) -> Result<ModbusConnection, std::io::Error> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(address))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
            })??;
        let _ = stream.set_nodelay(true);
        Ok(ModbusConnection {
            stream: Some(stream),
            address,
            host_pacer,
            timeout,
            next_transaction: 1,
            timed_out_transactions: Vec::new(),
            buffer: Vec::new(),
            requests_sent: 0,
            last_frame: Vec::new(),
        })
    }

    /// The peer's address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Requests sent on this connection so far.
    pub fn requests_sent(&self) -> u32 {
        self.requests_sent
    }

    /// The last complete frame received, hex (for diagnostics of malformed replies).
    pub fn last_frame_hex(&self) -> String {
        hex(&self.last_frame)
    }

    /// Whether the connection can still be used.
    pub fn is_open(&self) -> bool {
        self.stream.is_some()
    }

    /// Sends `request` to `unit_id` and waits for its reply.
    pub async fn exchange(&mut self, unit_id: u8, request: &ReadRequest) -> Exchange {
        let Some(stream) = self.stream.as_mut() else {
            return Exchange::Closed("connection already closed".to_owned());
        };
        self.host_pacer.wait().await;
        let transaction = self.next_transaction;
        self.next_transaction = self.next_transaction.wrapping_add(1);
        let adu = frame::encode_adu(transaction, unit_id, request);
        self.requests_sent += 1;
        let deadline = Instant::now() + self.timeout;
        if let Err(error) = tokio::time::timeout_at(deadline, stream.write_all(&adu)).await {
            let _ = error;
            self.close();
            return Exchange::Timeout;
        }

        loop {
            match frame::split_frame(&self.buffer) {
                FrameSplit::Complete {
                    header,
                    pdu,
                    frame_len,
                } => {
                    let raw: Vec<u8> = self.buffer.drain(..frame_len).collect();
                    self.last_frame.clone_from(&raw);
                    let pdu_bytes = &raw[pdu];
                    if header.transaction_id != transaction {
                        if let Some(index) = self
                            .timed_out_transactions
                            .iter()
                            .position(|t| *t == header.transaction_id)
                        {
                            // A late answer to a request we gave up on.
                            self.timed_out_transactions.swap_remove(index);
                            continue;
                        }
                        return Exchange::TransactionMismatch {
                            sent: transaction,
                            received: header.transaction_id,
                            raw_hex: hex(&raw),
                        };
                    }
                    let reply = frame::parse_response(request, &header, pdu_bytes);
                    if header.unit_id != unit_id {
                        return Exchange::UnitMismatch {
                            replied_unit: header.unit_id,
                            reply,
                            raw_hex: hex(&raw),
                        };
                    }
                    return Exchange::Reply(reply);
                }
                FrameSplit::Invalid(invalid) => {
                    let raw_hex = hex(&self.buffer);
                    self.close();
                    return Exchange::BadFrame {
                        reason: invalid.to_string(),
                        raw_hex,
                    };
                }
                FrameSplit::Incomplete { .. } => {}
            }
            let Some(stream) = self.stream.as_mut() else {
                return Exchange::Closed("connection closed".to_owned());
            };
            let mut chunk = [0u8; 512];
            match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
                Err(_) => {
                    self.timed_out_transactions.push(transaction);
                    self.timed_out_transactions.truncate(16);
                    // A partial frame would corrupt the next exchange.
                    if !self.buffer.is_empty() {
                        self.close();
                    }
                    return Exchange::Timeout;
                }
                Ok(Ok(0)) => {
                    self.close();
                    return Exchange::Closed("peer closed the connection".to_owned());
                }
                Ok(Ok(n)) => {
                    self.buffer.extend_from_slice(&chunk[..n]);
                    if self.buffer.len() > 4 * 1024 {
                        let raw_hex = hex(&self.buffer);
                        self.close();
                        return Exchange::BadFrame {
                            reason: "more than 4 KiB without a complete frame".to_owned(),
                            raw_hex,
                        };
                    }
                }
                Ok(Err(error)) => {
                    self.close();
                    return Exchange::Closed(error.to_string());
                }
            }
        }
    }

    /// Closes the connection; later exchanges return [`Exchange::Closed`].
    pub fn close(&mut self) {
        self.stream = None;
        self.buffer.clear();
    }
}

/// Lowercase hex of at most [`MAX_RAW_BYTES`] bytes (`…` marks a cut).
pub fn hex(bytes: &[u8]) -> String {
    let mut text: String = bytes
        .iter()
        .take(MAX_RAW_BYTES)
        .map(|b| format!("{b:02x}"))
        .collect();
    if bytes.len() > MAX_RAW_BYTES {
        text.push('…');
    }
    text
}
