//! The Modbus TCP wire format for a read-only scanner, sans I/O.
//!
//! This module turns requests into bytes and bytes into replies; it never
//! touches a socket. [`ReadRequest`] is the only kind of request the scanner
//! can send, and it is the single place where "read-only by construction" is
//! enforced: its variants are the six read functions in
//! [`ALLOWED_FUNCTION_CODES`], quantities are validated when a request is built
//! ([`BitQuantity`], [`RegisterQuantity`]), and [`encode_adu`] accepts nothing
//! else. On the way back, [`split_frame`] cuts one MBAP frame out of a buffer
//! that may hold part of a frame, one frame or several, [`check_ids`] compares
//! the transaction and unit ids with what was sent, and [`parse_response`]
//! checks the PDU against the request it answers and returns a [`Reply`]: data,
//! an exception, or [`Reply::Malformed`] with a precise reason. Nothing here
//! panics or allocates more than the (at most 260-byte) frame on hostile input.
//!
//! References: Modbus Application Protocol Specification V1.1b3 (PDUs, §6) and
//! Modbus Messaging on TCP/IP Implementation Guide V1.0b (MBAP header).

use std::{fmt, ops::Range};

use thiserror::Error;

/// The function codes [`ReadRequest`] can produce, and no others: Read Coils (1),
/// Read Discrete Inputs (2), Read Holding Registers (3), Read Input Registers
/// (4), Report Server ID (17) and Read Device Identification (43, MEI type 14).
pub const ALLOWED_FUNCTION_CODES: [u8; 6] = [1, 2, 3, 4, 17, 43];

/// Length of the MBAP header: transaction id (2), protocol id (2), length (2),
/// unit id (1).
pub const MBAP_HEADER_LEN: usize = 7;

/// Largest PDU (function code included) a Modbus frame may carry.
pub const MAX_PDU_LEN: usize = 253;

/// Largest Modbus TCP frame: the MBAP header plus the largest PDU.
pub const MAX_ADU_LEN: usize = MBAP_HEADER_LEN + MAX_PDU_LEN;

/// Largest quantity of coils or discrete inputs one read may ask for.
pub const MAX_BITS_PER_READ: u16 = 2000;

/// Largest quantity of holding or input registers one read may ask for.
pub const MAX_REGISTERS_PER_READ: u16 = 125;

/// MEI type of Read Device Identification (the second byte of an FC 43 PDU).
pub const MEI_READ_DEVICE_IDENTIFICATION: u8 = 0x0E;

/// Smallest valid MBAP length field: unit id plus a one-byte PDU.
const MIN_LENGTH_FIELD: u16 = 2;

/// Largest valid MBAP length field: unit id plus the largest PDU.
const MAX_LENGTH_FIELD: u16 = 1 + MAX_PDU_LEN as u16;

/// Bit set in the function code of an exception response.
const EXCEPTION_FLAG: u8 = 0x80;

/// Fixed part of an FC 43 / MEI 14 response PDU: function code, MEI type, read
/// code, conformity level, more follows, next object id, number of objects.
const DEVICE_ID_RESPONSE_HEADER_LEN: usize = 7;

/// A request that cannot be built because a value is out of the protocol's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum InvalidRequest {
    /// A coil or discrete input quantity outside 1..=2000.
    #[error("bit quantity {0} is outside 1..=2000")]
    BitQuantity(u16),
    /// A holding or input register quantity outside 1..=125.
    #[error("register quantity {0} is outside 1..=125")]
    RegisterQuantity(u16),
}

/// A number of coils or discrete inputs to read: 1..=2000, checked on creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BitQuantity(u16);

impl BitQuantity {
    /// The quantity, when it is within 1..=[`MAX_BITS_PER_READ`].
    pub fn new(quantity: u16) -> Result<BitQuantity, InvalidRequest> {
        if (1..=MAX_BITS_PER_READ).contains(&quantity) {
            Ok(BitQuantity(quantity))
        } else {
            Err(InvalidRequest::BitQuantity(quantity))
        }
    }

    /// The quantity as a number.
    pub fn get(self) -> u16 {
        self.0
    }
}

/// A number of holding or input registers to read: 1..=125, checked on creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegisterQuantity(u16);

impl RegisterQuantity {
    /// The quantity, when it is within 1..=[`MAX_REGISTERS_PER_READ`].
    pub fn new(quantity: u16) -> Result<RegisterQuantity, InvalidRequest> {
        if (1..=MAX_REGISTERS_PER_READ).contains(&quantity) {
            Ok(RegisterQuantity(quantity))
        } else {
            Err(InvalidRequest::RegisterQuantity(quantity))
        }
    }

    /// The quantity as a number.
    pub fn get(self) -> u16 {
        self.0
    }
}

/// The "Read Device ID code" of an FC 43 / MEI 14 request: which objects to
/// return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceIdReadCode {
    /// Basic identification, stream access (objects 0x00–0x02).
    Basic = 1,
    /// Regular identification, stream access (objects 0x00–0x7F).
    Regular = 2,
    /// Extended identification, stream access (objects 0x00–0xFF).
    Extended = 3,
    /// One specific object, individual access.
    Specific = 4,
}

impl DeviceIdReadCode {
    /// The byte on the wire.
    pub fn to_byte(self) -> u8 {
        self as u8
    }

    /// The read code a response byte stands for, if any (1..=4).
    pub fn from_byte(byte: u8) -> Option<DeviceIdReadCode> {
        match byte {
            1 => Some(DeviceIdReadCode::Basic),
            2 => Some(DeviceIdReadCode::Regular),
            3 => Some(DeviceIdReadCode::Extended),
            4 => Some(DeviceIdReadCode::Specific),
            _ => None,
        }
    }
}

/// Every request the scanner can send. All of them are reads; there is no raw
/// or custom variant and no constructor from a function code byte, so a write
/// (or any other function) cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadRequest {
    /// FC 1: read `quantity` coils starting at `address`.
    ReadCoils {
        /// First coil address (0-based, as on the wire).
        address: u16,
        /// How many coils.
        quantity: BitQuantity,
    },
    /// FC 2: read `quantity` discrete inputs starting at `address`.
    ReadDiscreteInputs {
        /// First input address (0-based, as on the wire).
        address: u16,
        /// How many inputs.
        quantity: BitQuantity,
    },
    /// FC 3: read `quantity` holding registers starting at `address`.
    ReadHoldingRegisters {
        /// First register address (0-based, as on the wire).
        address: u16,
        /// How many registers.
        quantity: RegisterQuantity,
    },
    /// FC 4: read `quantity` input registers starting at `address`.
    ReadInputRegisters {
        /// First register address (0-based, as on the wire).
        address: u16,
        /// How many registers.
        quantity: RegisterQuantity,
    },
    /// FC 17: Report Server ID.
    ReportServerId,
    /// FC 43 / MEI 14: Read Device Identification.
    ReadDeviceIdentification {
        /// Which objects (a category in stream access, or one object).
        read_code: DeviceIdReadCode,
        /// First object to return (stream access) or the object (individual).
        object_id: u8,
    },
}

impl ReadRequest {
    /// FC 1 request; fails unless `quantity` is within 1..=2000.
    pub fn coils(address: u16, quantity: u16) -> Result<ReadRequest, InvalidRequest> {
        Ok(ReadRequest::ReadCoils {
            address,
            quantity: BitQuantity::new(quantity)?,
        })
    }

    /// FC 2 request; fails unless `quantity` is within 1..=2000.
    pub fn discrete_inputs(address: u16, quantity: u16) -> Result<ReadRequest, InvalidRequest> {
        Ok(ReadRequest::ReadDiscreteInputs {
            address,
            quantity: BitQuantity::new(quantity)?,
        })
    }

    /// FC 3 request; fails unless `quantity` is within 1..=125.
    pub fn holding_registers(address: u16, quantity: u16) -> Result<ReadRequest, InvalidRequest> {
        Ok(ReadRequest::ReadHoldingRegisters {
            address,
            quantity: RegisterQuantity::new(quantity)?,
        })
    }

    /// FC 4 request; fails unless `quantity` is within 1..=125.
    pub fn input_registers(address: u16, quantity: u16) -> Result<ReadRequest, InvalidRequest> {
        Ok(ReadRequest::ReadInputRegisters {
            address,
            quantity: RegisterQuantity::new(quantity)?,
        })
    }

    /// FC 17 request.
    pub fn report_server_id() -> ReadRequest {
        ReadRequest::ReportServerId
    }

    /// FC 43 / MEI 14 request.
    pub fn device_identification(read_code: DeviceIdReadCode, object_id: u8) -> ReadRequest {
        ReadRequest::ReadDeviceIdentification {
            read_code,
            object_id,
        }
    }

    /// The function code this request is sent with; always one of
    /// [`ALLOWED_FUNCTION_CODES`].
    pub fn function_code(&self) -> u8 {
        match self {
            ReadRequest::ReadCoils { .. } => 1,
            ReadRequest::ReadDiscreteInputs { .. } => 2,
            ReadRequest::ReadHoldingRegisters { .. } => 3,
            ReadRequest::ReadInputRegisters { .. } => 4,
            ReadRequest::ReportServerId => 17,
            ReadRequest::ReadDeviceIdentification { .. } => 43,
        }
    }

    /// The function code of an exception response to this request
    /// (`function_code() | 0x80`).
    pub fn exception_function_code(&self) -> u8 {
        self.function_code() | EXCEPTION_FLAG
    }

    /// How many coils, inputs or registers a read asks for; `None` for FC 17
    /// and FC 43.
    pub fn quantity(&self) -> Option<u16> {
        match self {
            ReadRequest::ReadCoils { quantity, .. }
            | ReadRequest::ReadDiscreteInputs { quantity, .. } => Some(quantity.get()),
            ReadRequest::ReadHoldingRegisters { quantity, .. }
            | ReadRequest::ReadInputRegisters { quantity, .. } => Some(quantity.get()),
            ReadRequest::ReportServerId | ReadRequest::ReadDeviceIdentification { .. } => None,
        }
    }

    /// The request PDU: function code and data.
    pub fn encode_pdu(&self) -> Vec<u8> {
        let function_code = self.function_code();
        match self {
            ReadRequest::ReadCoils { address, quantity }
            | ReadRequest::ReadDiscreteInputs { address, quantity } => {
                range_pdu(function_code, *address, quantity.get())
            }
            ReadRequest::ReadHoldingRegisters { address, quantity }
            | ReadRequest::ReadInputRegisters { address, quantity } => {
                range_pdu(function_code, *address, quantity.get())
            }
            ReadRequest::ReportServerId => vec![function_code],
            ReadRequest::ReadDeviceIdentification {
                read_code,
                object_id,
            } => vec![
                function_code,
                MEI_READ_DEVICE_IDENTIFICATION,
                read_code.to_byte(),
                *object_id,
            ],
        }
    }
}

/// `[function code, address (big endian), quantity (big endian)]`.
fn range_pdu(function_code: u8, address: u16, quantity: u16) -> Vec<u8> {
    let mut pdu = Vec::with_capacity(5);
    pdu.push(function_code);
    pdu.extend_from_slice(&address.to_be_bytes());
    pdu.extend_from_slice(&quantity.to_be_bytes());
    pdu
}

/// A complete Modbus TCP request frame: MBAP header (transaction id, protocol
/// id 0, length = 1 + PDU length, unit id) followed by the request PDU.
pub fn encode_adu(transaction_id: u16, unit_id: u8, request: &ReadRequest) -> Vec<u8> {
    let pdu = request.encode_pdu();
    // Request PDUs are at most 5 bytes, so the length always fits.
    let length = u16::try_from(1 + pdu.len()).unwrap_or(MAX_LENGTH_FIELD);
    let mut adu = Vec::with_capacity(MBAP_HEADER_LEN + pdu.len());
    adu.extend_from_slice(&transaction_id.to_be_bytes());
    adu.extend_from_slice(&0u16.to_be_bytes());
    adu.extend_from_slice(&length.to_be_bytes());
    adu.push(unit_id);
    adu.extend_from_slice(&pdu);
    adu
}

/// The MBAP header of a received frame. The protocol id is not kept: a frame
/// whose protocol id is not 0 is [`FrameSplit::Invalid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MbapHeader {
    /// Transaction id, echoed from the request by a conforming server.
    pub transaction_id: u16,
    /// Length field: the unit id and PDU bytes that follow it (2..=254).
    pub length: u16,
    /// Unit id, echoed from the request by a conforming server.
    pub unit_id: u8,
}

impl MbapHeader {
    /// Length of the PDU this header announces (`length - 1`).
    pub fn pdu_len(&self) -> usize {
        usize::from(self.length).saturating_sub(1)
    }

    /// Length of the whole frame this header announces, header included.
    pub fn frame_len(&self) -> usize {
        MBAP_HEADER_LEN + self.pdu_len()
    }
}

/// Why the bytes at the start of a buffer are not a Modbus TCP frame. The
/// stream cannot be resynchronised after this: the connection should be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum InvalidFrame {
    /// The protocol id is not 0 (Modbus).
    #[error("MBAP protocol id is {0:#06x}, not 0x0000 (Modbus)")]
    ProtocolId(u16),
    /// The length field is below 2: no room for a unit id and a function code.
    #[error("MBAP length field is {0}, below the minimum of 2 (unit id and function code)")]
    LengthTooShort(u16),
    /// The length field is above 254: more than a unit id and a 253-byte PDU.
    #[error("MBAP length field is {0}, above the maximum of 254 (unit id and a 253-byte PDU)")]
    LengthTooLong(u16),
}

/// What the start of a receive buffer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameSplit {
    /// Not a whole frame yet. `needed` is how many more bytes are needed at
    /// least: exact once the length field (bytes 4–5) has arrived, the rest of
    /// the 7-byte header before that.
    Incomplete {
        /// Bytes still missing (always at least 1).
        needed: usize,
    },
    /// One whole frame at the start of the buffer; bytes after `frame_len`
    /// belong to the next frame.
    Complete {
        /// The frame's MBAP header.
        header: MbapHeader,
        /// Where the PDU is in the buffer (`MBAP_HEADER_LEN..frame_len`).
        pdu: Range<usize>,
        /// Length of the whole frame, header included: consume this many bytes.
        frame_len: usize,
    },
    /// The bytes are not a Modbus TCP frame.
    Invalid(InvalidFrame),
}

/// Looks for one Modbus TCP frame at the start of `buf`.
///
/// The header is checked as soon as its fields arrive (protocol id after 4
/// bytes, length after 6), so garbage is rejected early. Never panics and never
/// allocates; a frame is at most [`MAX_ADU_LEN`] bytes whatever the input.
pub fn split_frame(buf: &[u8]) -> FrameSplit {
    if let [_, _, protocol_high, protocol_low, ..] = buf {
        let protocol_id = u16::from_be_bytes([*protocol_high, *protocol_low]);
        if protocol_id != 0 {
            return FrameSplit::Invalid(InvalidFrame::ProtocolId(protocol_id));
        }
    }
    let [
        transaction_high,
        transaction_low,
        _,
        _,
        length_high,
        length_low,
        rest @ ..,
    ] = buf
    else {
        return FrameSplit::Incomplete {
            needed: MBAP_HEADER_LEN - buf.len(),
        };
    };
    let length = u16::from_be_bytes([*length_high, *length_low]);
    if length < MIN_LENGTH_FIELD {
        return FrameSplit::Invalid(InvalidFrame::LengthTooShort(length));
    }
    if length > MAX_LENGTH_FIELD {
        return FrameSplit::Invalid(InvalidFrame::LengthTooLong(length));
    }
    // `rest` starts with the unit id; the length field counts it and the PDU.
    let Some(unit_id) = rest.first() else {
        return FrameSplit::Incomplete {
            needed: usize::from(length),
        };
    };
    if rest.len() < usize::from(length) {
        return FrameSplit::Incomplete {
            needed: usize::from(length) - rest.len(),
        };
    }
    let header = MbapHeader {
        transaction_id: u16::from_be_bytes([*transaction_high, *transaction_low]),
        length,
        unit_id: *unit_id,
    };
    let frame_len = header.frame_len();
    FrameSplit::Complete {
        header,
        pdu: MBAP_HEADER_LEN..frame_len,
        frame_len,
    }
}

/// A response whose transaction id or unit id is not the request's. This is
/// evidence (a gateway rewriting unit ids, a stale answer, a confused stack),
/// not absence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdMismatch {
    /// Transaction id of the request.
    pub sent_transaction_id: u16,
    /// Transaction id of the response.
    pub received_transaction_id: u16,
    /// Unit id of the request.
    pub sent_unit_id: u8,
    /// Unit id of the response.
    pub received_unit_id: u8,
}

impl IdMismatch {
    /// Whether the transaction ids differ.
    pub fn transaction_id_differs(&self) -> bool {
        self.sent_transaction_id != self.received_transaction_id
    }

    /// Whether the unit ids differ.
    pub fn unit_id_differs(&self) -> bool {
        self.sent_unit_id != self.received_unit_id
    }
}

impl fmt::Display for IdMismatch {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::with_capacity(2);
        if self.transaction_id_differs() {
            parts.push(format!(
                "transaction id {:#06x} answered with {:#06x}",
                self.sent_transaction_id, self.received_transaction_id
            ));
        }
        if self.unit_id_differs() {
            parts.push(format!(
                "unit id {} answered with unit id {}",
                self.sent_unit_id, self.received_unit_id
            ));
        }
        write!(formatter, "response ids differ: {}", parts.join(", "))
    }
}

impl std::error::Error for IdMismatch {}

/// Checks that a response carries the transaction id and unit id of the request.
pub fn check_ids(
    sent_transaction: u16,
    sent_unit: u8,
    header: &MbapHeader,
) -> Result<(), IdMismatch> {
    if header.transaction_id == sent_transaction && header.unit_id == sent_unit {
        Ok(())
    } else {
        Err(IdMismatch {
            sent_transaction_id: sent_transaction,
            received_transaction_id: header.transaction_id,
            sent_unit_id: sent_unit,
            received_unit_id: header.unit_id,
        })
    }
}

/// An FC 43 / MEI 14 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdResponse {
    /// Read code of the response. A device may answer a higher category than
    /// it supports with its own level, so this can differ from the request's.
    pub read_code: DeviceIdReadCode,
    /// Conformity level byte, kept raw (0x01–0x03 and 0x81–0x83 are defined).
    pub conformity_level: u8,
    /// Whether more objects follow in another exchange (0xFF on the wire).
    pub more_follows: bool,
    /// Object id to ask for next when `more_follows` (0 otherwise, by spec).
    pub next_object_id: u8,
    /// `(object id, value bytes)` in the order the device sent them.
    pub objects: Vec<(u8, Vec<u8>)>,
}

/// Why a response PDU does not make sense for the request it answers. The
/// caller keeps the raw bytes; this says what is wrong with them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MalformedReply {
    /// What is inconsistent, with the offending values.
    pub reason: String,
}

impl fmt::Display for MalformedReply {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "malformed reply: {}", self.reason)
    }
}

/// A response PDU, interpreted against its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// An exception response: `function` is the request's function code with
    /// bit 0x80 set; `code` is kept raw (0x01–0x0B are defined, see
    /// [`exception_code_name`]; anything else is kept as sent).
    Exception {
        /// Function code byte of the response (request's | 0x80).
        function: u8,
        /// Exception code byte.
        code: u8,
    },
    /// FC 1/2: coil or input states, exactly the requested quantity, first
    /// address first (padding bits of the last byte dropped).
    Bits(Vec<bool>),
    /// FC 3/4: register values, exactly the requested quantity.
    Registers(Vec<u16>),
    /// FC 17: the free-form bytes after the byte count (see
    /// [`server_id_text`] and [`server_id_running`]).
    ServerId {
        /// The bytes after the byte count.
        payload: Vec<u8>,
    },
    /// FC 43 / MEI 14.
    DeviceIdentification(DeviceIdResponse),
    /// The PDU is inconsistent with itself, its header or the request.
    Malformed(MalformedReply),
}

/// Interprets a response PDU (function code first) against the request it
/// answers. `header` is the frame's MBAP header; its length must agree with the
/// PDU. Transaction and unit ids are not compared here: see [`check_ids`].
///
/// Anything inconsistent gives [`Reply::Malformed`]: a function code that is
/// neither the request's nor its exception form, a byte count that disagrees
/// with the payload or the requested quantity, an FC 43 MEI type other than
/// 0x0E, an object count that disagrees with the objects present, a "more
/// follows" byte other than 0x00/0xFF, truncated payloads and trailing bytes.
pub fn parse_response(request: &ReadRequest, header: &MbapHeader, pdu: &[u8]) -> Reply {
    match parse_checked(request, header, pdu) {
        Ok(reply) => reply,
        Err(reason) => Reply::Malformed(MalformedReply { reason }),
    }
}

/// [`parse_response`] with the malformed case as an error carrying the reason.
fn parse_checked(request: &ReadRequest, header: &MbapHeader, pdu: &[u8]) -> Result<Reply, String> {
    if header.pdu_len() != pdu.len() {
        return Err(format!(
            "MBAP length field {} announces a {}-byte PDU but {} bytes were given",
            header.length,
            header.pdu_len(),
            pdu.len()
        ));
    }
    let Some((&function, data)) = pdu.split_first() else {
        return Err("empty PDU: no function code".to_owned());
    };
    let expected = request.function_code();
    if function == request.exception_function_code() {
        return parse_exception(function, data);
    }
    if function != expected {
        return Err(format!(
            "function code {function:#04x} is neither the request's {expected:#04x} \
             nor its exception {:#04x}",
            request.exception_function_code()
        ));
    }
    match request {
        ReadRequest::ReadCoils { quantity, .. }
        | ReadRequest::ReadDiscreteInputs { quantity, .. } => parse_bits(quantity.get(), data),
        ReadRequest::ReadHoldingRegisters { quantity, .. }
        | ReadRequest::ReadInputRegisters { quantity, .. } => parse_registers(quantity.get(), data),
        ReadRequest::ReportServerId => {
            let payload = counted_payload(data, "report server id")?;
            Ok(Reply::ServerId {
                payload: payload.to_vec(),
            })
        }
        ReadRequest::ReadDeviceIdentification { .. } => parse_device_identification(pdu),
    }
}

/// The data after an exception function code: exactly one exception code byte.
fn parse_exception(function: u8, data: &[u8]) -> Result<Reply, String> {
    match data {
        [code] => Ok(Reply::Exception {
            function,
            code: *code,
        }),
        [] => Err(format!(
            "exception response {function:#04x} has no exception code"
        )),
        [_, trailing @ ..] => Err(format!(
            "exception response {function:#04x} has {} trailing bytes after the exception code",
            trailing.len()
        )),
    }
}

/// The bytes after a byte count, when the count matches what follows it.
fn counted_payload<'a>(data: &'a [u8], what: &str) -> Result<&'a [u8], String> {
    let Some((&byte_count, payload)) = data.split_first() else {
        return Err(format!(
            "{what} response truncated: no byte count after the function code"
        ));
    };
    let byte_count = usize::from(byte_count);
    if byte_count > payload.len() {
        return Err(format!(
            "{what} response truncated: byte count {byte_count} but only {} bytes follow",
            payload.len()
        ));
    }
    if byte_count < payload.len() {
        return Err(format!(
            "{what} response has {} trailing bytes: byte count {byte_count} but {} bytes follow",
            payload.len() - byte_count,
            payload.len()
        ));
    }
    Ok(payload)
}

/// FC 1/2 data: byte count, then the bits packed eight to a byte, LSB first.
fn parse_bits(quantity: u16, data: &[u8]) -> Result<Reply, String> {
    let payload = counted_payload(data, "read bits")?;
    let quantity = usize::from(quantity);
    let expected_bytes = quantity.div_ceil(8);
    if payload.len() != expected_bytes {
        return Err(format!(
            "read bits byte count {} does not match the {expected_bytes} bytes \
             {quantity} requested bits need",
            payload.len()
        ));
    }
    let bits = payload
        .iter()
        .flat_map(|byte| (0..8).map(move |bit| (byte >> bit) & 1 == 1))
        .take(quantity)
        .collect();
    Ok(Reply::Bits(bits))
}

/// FC 3/4 data: byte count, then the registers, big endian.
fn parse_registers(quantity: u16, data: &[u8]) -> Result<Reply, String> {
    let payload = counted_payload(data, "read registers")?;
    if payload.len() % 2 != 0 {
        return Err(format!(
            "read registers byte count {} is odd",
            payload.len()
        ));
    }
    let quantity = usize::from(quantity);
    if payload.len() != 2 * quantity {
        return Err(format!(
            "read registers byte count {} does not match the {} bytes \
             {quantity} requested registers need",
            payload.len(),
            2 * quantity
        ));
    }
    let registers = payload
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    Ok(Reply::Registers(registers))
}

/// A whole FC 43 / MEI 14 response PDU (function code included). Objects are
/// read by looping on the declared count, checking each length against what is
/// left, so neither a missing nor a surplus object goes unnoticed.
fn parse_device_identification(pdu: &[u8]) -> Result<Reply, String> {
    let [
        _function,
        mei_type,
        read_code,
        conformity_level,
        more_follows,
        next_object_id,
        object_count,
        objects_data @ ..,
    ] = pdu
    else {
        return Err(format!(
            "read device identification response truncated: {} bytes, the fixed part is {}",
            pdu.len(),
            DEVICE_ID_RESPONSE_HEADER_LEN
        ));
    };
    if *mei_type != MEI_READ_DEVICE_IDENTIFICATION {
        return Err(format!(
            "MEI type {mei_type:#04x} is not {MEI_READ_DEVICE_IDENTIFICATION:#04x} \
             (read device identification)"
        ));
    }
    let Some(read_code) = DeviceIdReadCode::from_byte(*read_code) else {
        return Err(format!(
            "read device id code {read_code:#04x} is not 0x01–0x04"
        ));
    };
    let more_follows = match more_follows {
        0x00 => false,
        0xFF => true,
        other => {
            return Err(format!(
                "more follows byte {other:#04x} is neither 0x00 nor 0xff"
            ));
        }
    };

    let object_count = usize::from(*object_count);
    let mut objects = Vec::with_capacity(object_count);
    let mut remaining = objects_data;
    for index in 1..=object_count {
        let [object_id, length, after @ ..] = remaining else {
            return Err(if remaining.is_empty() {
                format!(
                    "object count says {object_count} but the PDU ends after {} objects",
                    index - 1
                )
            } else {
                format!(
                    "object {index} of {object_count} truncated: {} byte left, \
                     an object needs an id and a length",
                    remaining.len()
                )
            });
        };
        let length = usize::from(*length);
        if after.len() < length {
            return Err(format!(
                "object {index} of {object_count} (id {object_id:#04x}) truncated: \
                 length {length} but only {} bytes left",
                after.len()
            ));
        }
        let (value, next) = after.split_at(length);
        objects.push((*object_id, value.to_vec()));
        remaining = next;
    }
    if !remaining.is_empty() {
        return Err(format!(
            "object count says {object_count} but {} more bytes follow the last declared object",
            remaining.len()
        ));
    }
    Ok(Reply::DeviceIdentification(DeviceIdResponse {
        read_code,
        conformity_level: *conformity_level,
        more_follows,
        next_object_id: *next_object_id,
        objects,
    }))
}

/// The name the Modbus specification gives an exception code, if it defines it
/// (0x01–0x08, 0x0A, 0x0B; 0x07 is from the older Modicon reference).
pub fn exception_code_name(code: u8) -> Option<&'static str> {
    match code {
        0x01 => Some("Illegal Function"),
        0x02 => Some("Illegal Data Address"),
        0x03 => Some("Illegal Data Value"),
        0x04 => Some("Server Device Failure"),
        0x05 => Some("Acknowledge"),
        0x06 => Some("Server Device Busy"),
        0x07 => Some("Negative Acknowledge"),
        0x08 => Some("Memory Parity Error"),
        0x0A => Some("Gateway Path Unavailable"),
        0x0B => Some("Gateway Target Device Failed to Respond"),
        _ => None,
    }
}

/// Best-effort text of an FC 17 payload: the runs of printable ASCII
/// (0x20–0x7E), trimmed, that are at least 3 characters long, joined by a space.
pub fn server_id_text(payload: &[u8]) -> String {
    payload
        .split(|byte| !(0x20..=0x7E).contains(byte))
        .map(|run| run.trim_ascii())
        .filter(|run| run.len() >= 3)
        .map(|run| run.iter().map(|&byte| char::from(byte)).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run indicator of an FC 17 payload with the usual `server id, 0x00|0xFF, …`
/// shape: `Some(true)` for 0xFF (running), `Some(false)` for 0x00, `None` when
/// the payload is shorter than 2 bytes or its second byte is anything else.
pub fn server_id_running(payload: &[u8]) -> Option<bool> {
    match payload.get(1) {
        Some(0xFF) => Some(true),
        Some(0x00) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response frame: MBAP header (protocol id 0, length from the PDU) + PDU.
    fn frame(transaction_id: u16, unit_id: u8, pdu: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&transaction_id.to_be_bytes());
        bytes.extend_from_slice(&[0, 0]);
        bytes.extend_from_slice(&u16::try_from(pdu.len() + 1).unwrap().to_be_bytes());
        bytes.push(unit_id);
        bytes.extend_from_slice(pdu);
        bytes
    }

    /// Splits `bytes` as exactly one frame and parses its PDU against `request`.
    fn parse_frame(request: &ReadRequest, bytes: &[u8]) -> Reply {
        match split_frame(bytes) {
            FrameSplit::Complete {
                header,
                pdu,
                frame_len,
            } => {
                assert_eq!(frame_len, bytes.len(), "one whole frame expected");
                parse_response(request, &header, &bytes[pdu])
            }
            other => panic!("expected a complete frame, got {other:?}"),
        }
    }

    fn malformed_reason(reply: &Reply) -> &str {
        match reply {
            Reply::Malformed(MalformedReply { reason }) => reason,
            other => panic!("expected a malformed reply, got {other:?}"),
        }
    }

    fn coils(address: u16, quantity: u16) -> ReadRequest {
        ReadRequest::coils(address, quantity).unwrap()
    }

    fn holding(address: u16, quantity: u16) -> ReadRequest {
        ReadRequest::holding_registers(address, quantity).unwrap()
    }

    fn basic_identification() -> ReadRequest {
        ReadRequest::device_identification(DeviceIdReadCode::Basic, 0)
    }

    /// `[id, len, value…]` for each object.
    fn objects(list: &[(u8, &str)]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for (id, value) in list {
            bytes.push(*id);
            bytes.push(u8::try_from(value.len()).unwrap());
            bytes.extend_from_slice(value.as_bytes());
        }
        bytes
    }

    /// One request of every kind. The match has no wildcard: a new variant
    /// does not compile until it is listed here too.
    fn every_kind() -> Vec<ReadRequest> {
        let requests = vec![
            coils(0, 1),
            ReadRequest::discrete_inputs(10, 2000).unwrap(),
            holding(0x6B, 3),
            ReadRequest::input_registers(0xFFFF, 125).unwrap(),
            ReadRequest::report_server_id(),
            ReadRequest::device_identification(DeviceIdReadCode::Basic, 0),
            ReadRequest::device_identification(DeviceIdReadCode::Regular, 0),
            ReadRequest::device_identification(DeviceIdReadCode::Extended, 0x80),
            ReadRequest::device_identification(DeviceIdReadCode::Specific, 0x05),
        ];
        for request in &requests {
            match request {
                ReadRequest::ReadCoils { .. }
                | ReadRequest::ReadDiscreteInputs { .. }
                | ReadRequest::ReadHoldingRegisters { .. }
                | ReadRequest::ReadInputRegisters { .. }
                | ReadRequest::ReportServerId
                | ReadRequest::ReadDeviceIdentification { .. } => {}
            }
        }
        requests
    }

    // ---- requests ------------------------------------------------------

    #[test]
    fn every_request_encodes_an_allowed_function_code() {
        for request in every_kind() {
            let adu = encode_adu(7, 1, &request);
            assert!(
                ALLOWED_FUNCTION_CODES.contains(&adu[MBAP_HEADER_LEN]),
                "{request:?} encoded function code {:#04x}",
                adu[MBAP_HEADER_LEN]
            );
            assert_eq!(adu[MBAP_HEADER_LEN], request.function_code());
            assert!(ALLOWED_FUNCTION_CODES.contains(&request.function_code()));
        }
        let codes: Vec<u8> = every_kind()
            .iter()
            .map(ReadRequest::function_code)
            .collect();
        for allowed in ALLOWED_FUNCTION_CODES {
            assert!(codes.contains(&allowed), "no request kind sends {allowed}");
        }
    }

    #[test]
    fn quantities_are_validated_at_construction() {
        let cases: [(Result<ReadRequest, InvalidRequest>, Option<InvalidRequest>); 12] = [
            (
                ReadRequest::coils(0, 0),
                Some(InvalidRequest::BitQuantity(0)),
            ),
            (ReadRequest::coils(0, 1), None),
            (ReadRequest::coils(0, 2000), None),
            (
                ReadRequest::coils(0, 2001),
                Some(InvalidRequest::BitQuantity(2001)),
            ),
            (
                ReadRequest::discrete_inputs(0, 0),
                Some(InvalidRequest::BitQuantity(0)),
            ),
            (
                ReadRequest::discrete_inputs(0, u16::MAX),
                Some(InvalidRequest::BitQuantity(u16::MAX)),
            ),
            (
                ReadRequest::holding_registers(0, 0),
                Some(InvalidRequest::RegisterQuantity(0)),
            ),
            (ReadRequest::holding_registers(0, 125), None),
            (
                ReadRequest::holding_registers(0, 126),
                Some(InvalidRequest::RegisterQuantity(126)),
            ),
            (ReadRequest::input_registers(0, 1), None),
            (
                ReadRequest::input_registers(0, 0),
                Some(InvalidRequest::RegisterQuantity(0)),
            ),
            (
                ReadRequest::input_registers(0, 2000),
                Some(InvalidRequest::RegisterQuantity(2000)),
            ),
        ];
        for (index, (result, expected_error)) in cases.into_iter().enumerate() {
            assert_eq!(result.err(), expected_error, "case {index}");
        }
    }

    #[test]
    fn encoded_requests_decode_by_hand_as_a_server_would() {
        for (transaction_id, unit_id, request) in every_kind()
            .into_iter()
            .enumerate()
            .map(|(index, request)| (0x1234 + index as u16, index as u8 * 31, request))
        {
            let adu = encode_adu(transaction_id, unit_id, &request);
            // MBAP header, as a server parses it.
            assert_eq!(u16::from_be_bytes([adu[0], adu[1]]), transaction_id);
            assert_eq!(u16::from_be_bytes([adu[2], adu[3]]), 0, "protocol id");
            let length = usize::from(u16::from_be_bytes([adu[4], adu[5]]));
            assert_eq!(length, adu.len() - 6, "length covers unit id and PDU");
            assert_eq!(adu[6], unit_id);
            // PDU, as a server parses it.
            let pdu = &adu[MBAP_HEADER_LEN..];
            let decoded = match pdu {
                [fc @ 1..=4, a0, a1, q0, q1] => {
                    let address = u16::from_be_bytes([*a0, *a1]);
                    let quantity = u16::from_be_bytes([*q0, *q1]);
                    match fc {
                        1 => ReadRequest::coils(address, quantity),
                        2 => ReadRequest::discrete_inputs(address, quantity),
                        3 => ReadRequest::holding_registers(address, quantity),
                        _ => ReadRequest::input_registers(address, quantity),
                    }
                    .unwrap()
                }
                [17] => ReadRequest::ReportServerId,
                [43, 0x0E, read_code, object_id] => ReadRequest::device_identification(
                    DeviceIdReadCode::from_byte(*read_code).unwrap(),
                    *object_id,
                ),
                other => panic!("server cannot decode {other:02x?}"),
            };
            assert_eq!(decoded, request);
        }
    }

    #[test]
    fn encoded_requests_match_the_spec_bytes() {
        // Spec §6.1, §6.3, §6.21 request examples, in an MBAP frame.
        let cases: [(ReadRequest, &[u8]); 6] = [
            (coils(0x13, 0x13), &[0x01, 0x00, 0x13, 0x00, 0x13]),
            (
                ReadRequest::discrete_inputs(0xC4, 0x16).unwrap(),
                &[0x02, 0x00, 0xC4, 0x00, 0x16],
            ),
            (holding(0x6B, 3), &[0x03, 0x00, 0x6B, 0x00, 0x03]),
            (
                ReadRequest::input_registers(0x08, 1).unwrap(),
                &[0x04, 0x00, 0x08, 0x00, 0x01],
            ),
            (ReadRequest::report_server_id(), &[0x11]),
            (basic_identification(), &[0x2B, 0x0E, 0x01, 0x00]),
        ];
        for (request, pdu) in cases {
            assert_eq!(encode_adu(0x0001, 0xFF, &request), frame(0x0001, 0xFF, pdu));
        }
    }

    // ---- frame splitting -----------------------------------------------

    #[test]
    fn split_frame_table() {
        let cases: Vec<(&str, Vec<u8>, FrameSplit)> = vec![
            ("empty", vec![], FrameSplit::Incomplete { needed: 7 }),
            ("1 byte", vec![0x00], FrameSplit::Incomplete { needed: 6 }),
            (
                "protocol id checked after 4 bytes",
                vec![0x00, 0x01, 0x00, 0x01],
                FrameSplit::Invalid(InvalidFrame::ProtocolId(1)),
            ),
            (
                "HTTP is not Modbus",
                b"HTTP/1.1 400 Bad Request\r\n".to_vec(),
                FrameSplit::Invalid(InvalidFrame::ProtocolId(0x5450)),
            ),
            (
                "length 0",
                vec![0x00, 0x01, 0x00, 0x00, 0x00, 0x00],
                FrameSplit::Invalid(InvalidFrame::LengthTooShort(0)),
            ),
            (
                "length 1: a unit id and no PDU",
                vec![0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01],
                FrameSplit::Invalid(InvalidFrame::LengthTooShort(1)),
            ),
            (
                "length 255",
                vec![0x00, 0x01, 0x00, 0x00, 0x00, 0xFF],
                FrameSplit::Invalid(InvalidFrame::LengthTooLong(255)),
            ),
            (
                "length 65535 asks for no allocation",
                vec![0x00, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x01],
                FrameSplit::Invalid(InvalidFrame::LengthTooLong(0xFFFF)),
            ),
            (
                "length known, unit id missing",
                vec![0x00, 0x01, 0x00, 0x00, 0x00, 0x03],
                FrameSplit::Incomplete { needed: 3 },
            ),
            (
                "length known, PDU partly there",
                vec![0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x01, 0x81],
                FrameSplit::Incomplete { needed: 1 },
            ),
            (
                "smallest frame",
                vec![0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x01, 0x81],
                FrameSplit::Complete {
                    header: MbapHeader {
                        transaction_id: 1,
                        length: 2,
                        unit_id: 1,
                    },
                    pdu: 7..8,
                    frame_len: 8,
                },
            ),
        ];
        for (name, bytes, expected) in cases {
            assert_eq!(split_frame(&bytes), expected, "{name}");
        }
    }

    #[test]
    fn largest_frame_is_complete_and_one_more_byte_is_invalid() {
        let largest = frame(9, 1, &[0x03; MAX_PDU_LEN]);
        assert_eq!(largest.len(), MAX_ADU_LEN);
        let FrameSplit::Complete {
            header, frame_len, ..
        } = split_frame(&largest)
        else {
            panic!("largest frame not complete");
        };
        assert_eq!((header.length, frame_len), (254, 260));
        let too_long = frame(9, 1, &[0x03; MAX_PDU_LEN + 1]);
        assert_eq!(
            split_frame(&too_long),
            FrameSplit::Invalid(InvalidFrame::LengthTooLong(255))
        );
    }

    #[test]
    fn frame_fed_one_byte_at_a_time() {
        let bytes = frame(0x0102, 0x11, &[0x03, 0x02, 0x00, 0x2A]);
        let mut buffer = Vec::new();
        for (index, byte) in bytes.iter().enumerate() {
            buffer.push(*byte);
            let split = split_frame(&buffer);
            if index + 1 < bytes.len() {
                let FrameSplit::Incomplete { needed } = split else {
                    panic!("after {} bytes: {split:?}", index + 1);
                };
                assert!(needed >= 1);
                assert!(buffer.len() + needed <= bytes.len(), "never overshoots");
                if buffer.len() >= 6 {
                    assert_eq!(
                        buffer.len() + needed,
                        bytes.len(),
                        "exact once length known"
                    );
                }
            } else {
                assert_eq!(
                    parse_frame(&holding(0, 1), &buffer),
                    Reply::Registers(vec![42])
                );
            }
        }
    }

    #[test]
    fn header_split_across_reads() {
        let bytes = frame(5, 1, &[0x81, 0x02]);
        for cut in 1..MBAP_HEADER_LEN {
            let (first, second) = bytes.split_at(cut);
            assert!(matches!(split_frame(first), FrameSplit::Incomplete { .. }));
            let mut buffer = first.to_vec();
            buffer.extend_from_slice(second);
            assert_eq!(
                parse_frame(&coils(0, 1), &buffer),
                Reply::Exception {
                    function: 0x81,
                    code: 0x02
                }
            );
        }
    }

    #[test]
    fn two_frames_back_to_back() {
        let mut buffer = frame(1, 1, &[0x01, 0x01, 0x05]);
        buffer.extend(frame(2, 1, &[0x11, 0x03, 0x42, 0xFF, 0x00]));
        buffer.extend_from_slice(&[0x00, 0x03]); // start of a third frame
        let request_then_reply = [
            (coils(0, 3), Reply::Bits(vec![true, false, true])),
            (
                ReadRequest::ReportServerId,
                Reply::ServerId {
                    payload: vec![0x42, 0xFF, 0x00],
                },
            ),
        ];
        for (transaction_id, (request, expected)) in (1..).zip(request_then_reply) {
            let FrameSplit::Complete {
                header,
                pdu,
                frame_len,
            } = split_frame(&buffer)
            else {
                panic!("expected a frame in {buffer:02x?}");
            };
            assert_eq!(check_ids(transaction_id, 1, &header), Ok(()));
            assert_eq!(parse_response(&request, &header, &buffer[pdu]), expected);
            buffer.drain(..frame_len);
        }
        assert_eq!(split_frame(&buffer), FrameSplit::Incomplete { needed: 5 });
    }

    // ---- ids -----------------------------------------------------------

    #[test]
    fn ids_are_compared() {
        let header = MbapHeader {
            transaction_id: 0x0010,
            length: 3,
            unit_id: 0xFF,
        };
        assert_eq!(check_ids(0x0010, 0xFF, &header), Ok(()));

        let wrong_transaction = check_ids(0x0011, 0xFF, &header).unwrap_err();
        assert!(wrong_transaction.transaction_id_differs());
        assert!(!wrong_transaction.unit_id_differs());
        assert_eq!(
            wrong_transaction.to_string(),
            "response ids differ: transaction id 0x0011 answered with 0x0010"
        );

        let wrong_unit = check_ids(0x0010, 3, &header).unwrap_err();
        assert!(!wrong_unit.transaction_id_differs());
        assert!(wrong_unit.unit_id_differs());
        assert_eq!(
            wrong_unit.to_string(),
            "response ids differ: unit id 3 answered with unit id 255"
        );

        let both = check_ids(1, 2, &header).unwrap_err();
        assert!(both.transaction_id_differs() && both.unit_id_differs());
    }

    // ---- exceptions ----------------------------------------------------

    #[test]
    fn every_exception_code_is_kept_raw() {
        for request in every_kind() {
            let function = request.function_code() | 0x80;
            for code in (0x01..=0x0B).chain([0x00, 0x0C, 0x7F, 0xFF]) {
                assert_eq!(
                    parse_frame(&request, &frame(1, 1, &[function, code])),
                    Reply::Exception { function, code },
                    "{request:?} exception {code:#04x}"
                );
            }
        }
        for code in 0x01..=0x0B {
            assert_eq!(exception_code_name(code).is_some(), code != 0x09);
        }
        assert_eq!(
            exception_code_name(0x0B),
            Some("Gateway Target Device Failed to Respond")
        );
        assert_eq!(exception_code_name(0x42), None);
    }

    #[test]
    fn spec_exception_example() {
        // Spec §7: Read Coils at 0x04A1 answered by 81 02 (Illegal Data Address).
        let request = coils(0x04A1, 1);
        assert_eq!(
            encode_adu(1, 1, &request)[MBAP_HEADER_LEN..],
            [0x01, 0x04, 0xA1, 0x00, 0x01]
        );
        assert_eq!(
            parse_frame(&request, &frame(1, 1, &[0x81, 0x02])),
            Reply::Exception {
                function: 0x81,
                code: 0x02
            }
        );
    }

    // ---- replies: data-driven --------------------------------------------

    /// What a PDU should parse to.
    enum Expect {
        Reply(Reply),
        /// Malformed, with a reason containing this text.
        Malformed(&'static str),
    }

    fn check_table(cases: Vec<(&str, ReadRequest, Vec<u8>, Expect)>) {
        for (name, request, pdu, expected) in cases {
            let reply = parse_frame(&request, &frame(1, 1, &pdu));
            match expected {
                Expect::Reply(expected) => assert_eq!(reply, expected, "{name}"),
                Expect::Malformed(text) => {
                    let reason = malformed_reason(&reply);
                    assert!(
                        reason.contains(text),
                        "{name}: reason {reason:?} lacks {text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn read_replies_table() {
        check_table(vec![
            (
                "spec §6.1 read coils 20-38",
                coils(0x13, 0x13),
                vec![0x01, 0x03, 0xCD, 0x6B, 0x05],
                Expect::Reply(Reply::Bits(vec![
                    true, false, true, true, false, false, true, true, // 0xCD
                    true, true, false, true, false, true, true, false, // 0x6B
                    true, false, true, // 0x05, 3 bits
                ])),
            ),
            (
                "spec §6.2 read discrete inputs 197-218",
                ReadRequest::discrete_inputs(0xC4, 0x16).unwrap(),
                vec![0x02, 0x03, 0xAC, 0xDB, 0x35],
                Expect::Reply(Reply::Bits(vec![
                    false, false, true, true, false, true, false, true, // 0xAC
                    true, true, false, true, true, false, true, true, // 0xDB
                    true, false, true, false, true, true, // 0x35, 6 bits
                ])),
            ),
            (
                "spec §6.3 read holding registers 108-110",
                holding(0x6B, 3),
                vec![0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64],
                Expect::Reply(Reply::Registers(vec![555, 0, 100])),
            ),
            (
                "spec §6.4 read input register 9",
                ReadRequest::input_registers(0x08, 1).unwrap(),
                vec![0x04, 0x02, 0x00, 0x0A],
                Expect::Reply(Reply::Registers(vec![10])),
            ),
            (
                "padding bits are dropped",
                coils(0, 1),
                vec![0x01, 0x01, 0xFF],
                Expect::Reply(Reply::Bits(vec![true])),
            ),
            (
                "bit byte count larger than payload",
                coils(0, 16),
                vec![0x01, 0x03, 0xFF, 0xFF],
                Expect::Malformed("truncated: byte count 3 but only 2 bytes follow"),
            ),
            (
                "bit byte count smaller than payload",
                coils(0, 8),
                vec![0x01, 0x01, 0xFF, 0x00],
                Expect::Malformed("1 trailing bytes: byte count 1 but 2 bytes follow"),
            ),
            (
                "bit byte count not matching quantity",
                coils(0, 9),
                vec![0x01, 0x01, 0xFF],
                Expect::Malformed("byte count 1 does not match the 2 bytes 9 requested bits need"),
            ),
            (
                "no byte count",
                coils(0, 9),
                vec![0x01],
                Expect::Malformed("no byte count"),
            ),
            (
                "register byte count larger than payload",
                holding(0, 2),
                vec![0x03, 0x04, 0x00, 0x01],
                Expect::Malformed("truncated: byte count 4 but only 2 bytes follow"),
            ),
            (
                "register byte count odd",
                holding(0, 1),
                vec![0x03, 0x03, 0x00, 0x01, 0x02],
                Expect::Malformed("byte count 3 is odd"),
            ),
            (
                "register byte count not matching quantity",
                holding(0, 2),
                vec![0x03, 0x02, 0x00, 0x01],
                Expect::Malformed(
                    "byte count 2 does not match the 4 bytes 2 requested registers need",
                ),
            ),
            (
                "answer to another function",
                holding(0, 1),
                vec![0x04, 0x02, 0x00, 0x01],
                Expect::Malformed(
                    "function code 0x04 is neither the request's 0x03 nor its exception 0x83",
                ),
            ),
            (
                "exception of another function",
                holding(0, 1),
                vec![0x84, 0x02],
                Expect::Malformed("function code 0x84 is neither"),
            ),
            (
                "exception without code",
                holding(0, 1),
                vec![0x83],
                Expect::Malformed("exception response 0x83 has no exception code"),
            ),
            (
                "exception with trailing bytes",
                holding(0, 1),
                vec![0x83, 0x02, 0x00],
                Expect::Malformed("1 trailing bytes after the exception code"),
            ),
        ]);
    }

    #[test]
    fn report_server_id_table() {
        let request = ReadRequest::ReportServerId;
        check_table(vec![
            (
                "server id, running, text",
                request,
                [&[0x11, 0x0C, 0x01, 0xFF][..], b"PLC-4 v2.1"].concat(),
                Expect::Reply(Reply::ServerId {
                    payload: [&[0x01, 0xFF][..], b"PLC-4 v2.1"].concat(),
                }),
            ),
            (
                "empty payload",
                request,
                vec![0x11, 0x00],
                Expect::Reply(Reply::ServerId { payload: vec![] }),
            ),
            (
                "no byte count",
                request,
                vec![0x11],
                Expect::Malformed("no byte count"),
            ),
            (
                "byte count larger than payload",
                request,
                vec![0x11, 0x05, 0x01, 0xFF],
                Expect::Malformed(
                    "report server id response truncated: byte count 5 but only 2 bytes follow",
                ),
            ),
            (
                "byte count smaller than payload",
                request,
                vec![0x11, 0x01, 0x01, 0xFF],
                Expect::Malformed("1 trailing bytes"),
            ),
        ]);
    }

    #[test]
    fn report_server_id_one_byte_short_in_mbap() {
        // tokio-modbus 0.17's server announces one byte too few in the MBAP
        // length of FC 17 (see ARCHITECTURE.md): the frame ends one byte early,
        // the byte count disagrees, and the last byte is left in the buffer.
        let pdu = [0x11, 0x03, 0x01, 0xFF, 0x41];
        let mut bytes = frame(1, 1, &pdu);
        bytes[5] -= 1;
        let FrameSplit::Complete {
            header,
            pdu,
            frame_len,
        } = split_frame(&bytes)
        else {
            panic!("expected a frame");
        };
        assert_eq!(frame_len, bytes.len() - 1);
        let reply = parse_response(&ReadRequest::ReportServerId, &header, &bytes[pdu]);
        assert_eq!(
            malformed_reason(&reply),
            "report server id response truncated: byte count 3 but only 2 bytes follow"
        );
    }

    #[test]
    fn server_id_helpers() {
        let cases: [(&[u8], &str, Option<bool>); 8] = [
            (b"", "", None),
            (&[0x01], "", None),
            (&[0x01, 0x00], "", Some(false)),
            (&[0x01, 0xFF, b'S', b'7'], "", Some(true)),
            (&[0x01, 0x7F, b'a', b'b', b'c'], "abc", None),
            (
                b"\x0a\xffSIMATIC S7  \x00\x00CPU 315\x01ab\x02",
                "SIMATIC S7 CPU 315",
                Some(true),
            ),
            (b"  xy \x00 abc ", "abc", None),
            (b"\x00\x00\x00\x00", "", Some(false)),
        ];
        for (payload, text, running) in cases {
            assert_eq!(server_id_text(payload), text, "{payload:02x?}");
            assert_eq!(server_id_running(payload), running, "{payload:02x?}");
        }
    }

    #[test]
    fn device_identification_spec_example() {
        // Spec §6.21 example: basic identification in one exchange. Object
        // lengths are those of the value strings.
        let request = basic_identification();
        assert_eq!(request.encode_pdu(), [0x2B, 0x0E, 0x01, 0x00]);
        let pdu = [
            vec![0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x03],
            objects(&[
                (0x00, "Company identification"),
                (0x01, "Product code XX"),
                (0x02, "V2.11"),
            ]),
        ]
        .concat();
        assert_eq!(pdu[8], 0x16, "\"Company identification\" is 22 bytes");
        assert_eq!(
            parse_frame(&request, &frame(1, 1, &pdu)),
            Reply::DeviceIdentification(DeviceIdResponse {
                read_code: DeviceIdReadCode::Basic,
                conformity_level: 0x01,
                more_follows: false,
                next_object_id: 0x00,
                objects: vec![
                    (0x00, b"Company identification".to_vec()),
                    (0x01, b"Product code XX".to_vec()),
                    (0x02, b"V2.11".to_vec()),
                ],
            })
        );
    }

    #[test]
    fn device_identification_more_follows_spec_example() {
        // Spec §6.21, the device that needs two exchanges: the first answer sets
        // "more follows" 0xFF and next object id 0x02, the second starts there.
        let first_request = basic_identification();
        let first = [
            vec![0x2B, 0x0E, 0x01, 0x01, 0xFF, 0x02, 0x02],
            objects(&[
                (0x00, "Company identification"),
                (0x01, "Product code XXXXXXXXXXXXXXXX"),
            ]),
        ]
        .concat();
        let Reply::DeviceIdentification(first_reply) =
            parse_frame(&first_request, &frame(1, 1, &first))
        else {
            panic!("first exchange did not parse");
        };
        assert!(first_reply.more_follows);
        assert_eq!(first_reply.next_object_id, 0x02);
        assert_eq!(first_reply.objects.len(), 2);

        let second_request =
            ReadRequest::device_identification(DeviceIdReadCode::Basic, first_reply.next_object_id);
        assert_eq!(second_request.encode_pdu(), [0x2B, 0x0E, 0x01, 0x02]);
        let second = [
            vec![0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x01],
            objects(&[(0x02, "V2.11")]),
        ]
        .concat();
        assert_eq!(
            parse_frame(&second_request, &frame(2, 1, &second)),
            Reply::DeviceIdentification(DeviceIdResponse {
                read_code: DeviceIdReadCode::Basic,
                conformity_level: 0x01,
                more_follows: false,
                next_object_id: 0x00,
                objects: vec![(0x02, b"V2.11".to_vec())],
            })
        );
    }

    #[test]
    fn device_identification_table() {
        let request = basic_identification();
        let two_objects = objects(&[(0x00, "ACME"), (0x01, "X1")]);
        let with_header = |fixed: &[u8], rest: &[u8]| [fixed, rest].concat();
        check_table(vec![
            (
                "no objects",
                request,
                vec![0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x00],
                Expect::Reply(Reply::DeviceIdentification(DeviceIdResponse {
                    read_code: DeviceIdReadCode::Basic,
                    conformity_level: 0x01,
                    more_follows: false,
                    next_object_id: 0,
                    objects: vec![],
                })),
            ),
            (
                "a device answering with its lower level and an empty object",
                ReadRequest::device_identification(DeviceIdReadCode::Extended, 0),
                vec![0x2B, 0x0E, 0x02, 0x82, 0x00, 0x00, 0x01, 0x05, 0x00],
                Expect::Reply(Reply::DeviceIdentification(DeviceIdResponse {
                    read_code: DeviceIdReadCode::Regular,
                    conformity_level: 0x82,
                    more_follows: false,
                    next_object_id: 0,
                    objects: vec![(0x05, vec![])],
                })),
            ),
            (
                "truncated before the object count",
                request,
                vec![0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00],
                Expect::Malformed("truncated: 6 bytes, the fixed part is 7"),
            ),
            (
                "function code alone",
                request,
                vec![0x2B],
                Expect::Malformed("truncated: 1 bytes"),
            ),
            (
                "MEI type 13 (CANopen)",
                request,
                vec![0x2B, 0x0D, 0x01, 0x01, 0x00, 0x00, 0x00],
                Expect::Malformed("MEI type 0x0d is not 0x0e"),
            ),
            (
                "read code 0",
                request,
                vec![0x2B, 0x0E, 0x00, 0x01, 0x00, 0x00, 0x00],
                Expect::Malformed("read device id code 0x00 is not 0x01–0x04"),
            ),
            (
                "more follows 0x01",
                request,
                vec![0x2B, 0x0E, 0x01, 0x01, 0x01, 0x00, 0x00],
                Expect::Malformed("more follows byte 0x01 is neither 0x00 nor 0xff"),
            ),
            (
                "object count larger than objects present",
                request,
                with_header(&[0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x03], &two_objects),
                Expect::Malformed("object count says 3 but the PDU ends after 2 objects"),
            ),
            (
                "object count smaller than objects present",
                request,
                with_header(&[0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x01], &two_objects),
                Expect::Malformed(
                    "object count says 1 but 4 more bytes follow the last declared object",
                ),
            ),
            (
                "object value truncated",
                request,
                with_header(
                    &[0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x02],
                    &two_objects[..two_objects.len() - 1],
                ),
                Expect::Malformed(
                    "object 2 of 2 (id 0x01) truncated: length 2 but only 1 bytes left",
                ),
            ),
            (
                "object header truncated",
                request,
                with_header(
                    &[0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x03],
                    &[&two_objects[..], &[0x02]].concat(),
                ),
                Expect::Malformed("object 3 of 3 truncated: 1 byte left"),
            ),
            (
                "object length 255 past the end",
                request,
                vec![0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0xFF, 0x41],
                Expect::Malformed(
                    "object 1 of 1 (id 0x00) truncated: length 255 but only 1 bytes left",
                ),
            ),
        ]);
    }

    #[test]
    fn device_identification_real_world_meter() {
        // Basic identification of a KBR multicomp F144 energy meter, from the
        // example in its Modbus manual (RTU there: address and CRC dropped,
        // MBAP header added; the manual's 0x1D inside "F144-3" read as 0x2D).
        let pdu = [
            vec![0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x03],
            objects(&[
                (0x00, "KBR GmbH"),
                (0x01, "multicomp F144-3  "),
                (0x02, " 2.00r016"),
            ]),
        ]
        .concat();
        let Reply::DeviceIdentification(reply) =
            parse_frame(&basic_identification(), &frame(0x4711, 1, &pdu))
        else {
            panic!("did not parse");
        };
        assert_eq!(reply.objects[0], (0x00, b"KBR GmbH".to_vec()));
        assert_eq!(reply.objects[1].1.len(), 0x12);
        assert_eq!(reply.objects[2].1.len(), 0x09);
    }

    #[test]
    fn header_and_pdu_must_agree() {
        let header = MbapHeader {
            transaction_id: 1,
            length: 5,
            unit_id: 1,
        };
        let reply = parse_response(&holding(0, 1), &header, &[0x03, 0x02, 0x00]);
        assert_eq!(
            malformed_reason(&reply),
            "MBAP length field 5 announces a 4-byte PDU but 3 bytes were given"
        );
        let empty = MbapHeader {
            transaction_id: 1,
            length: 1,
            unit_id: 1,
        };
        assert_eq!(
            malformed_reason(&parse_response(&holding(0, 1), &empty, &[])),
            "empty PDU: no function code"
        );
    }

    #[test]
    fn any_pdu_parses_without_panicking() {
        // A small deterministic sweep over short PDUs; the fuzz target goes further.
        let mut state: u32 = 0x1234_5678;
        let mut next_byte = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        };
        for length in 0..40usize {
            for _ in 0..200 {
                let mut pdu: Vec<u8> = (0..length).map(|_| next_byte()).collect();
                for request in every_kind() {
                    if let Some(first) = pdu.first_mut() {
                        *first = request.function_code();
                    }
                    let header = MbapHeader {
                        transaction_id: 0,
                        length: u16::try_from(pdu.len() + 1).unwrap(),
                        unit_id: 0,
                    };
                    let reply = parse_response(&request, &header, &pdu);
                    match (reply, request.quantity()) {
                        (Reply::Bits(bits), Some(quantity)) => {
                            assert_eq!(bits.len(), usize::from(quantity));
                        }
                        (Reply::Registers(registers), Some(quantity)) => {
                            assert_eq!(registers.len(), usize::from(quantity));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}
