//! Fuzzes the Modbus TCP reply path: arbitrary bytes are split into frames
//! with `split_frame`, and every frame's PDU (plus the raw input taken as a
//! PDU) is parsed against every kind of `ReadRequest`. The target asserts the
//! splitter's invariants and that nothing panics.

#![no_main]

use i4gauge::discover::modbus::frame::{
    DeviceIdReadCode, FrameSplit, MAX_ADU_LEN, MBAP_HEADER_LEN, MbapHeader, ReadRequest, Reply,
    check_ids, parse_response, split_frame,
};
use libfuzzer_sys::fuzz_target;

/// One request of every kind; the first two input bytes pick the quantities so
/// the fuzzer explores byte-count checks for every quantity.
fn requests(seed: u16) -> Vec<ReadRequest> {
    let bits = seed % 2000 + 1;
    let registers = seed % 125 + 1;
    [
        ReadRequest::coils(0, bits),
        ReadRequest::discrete_inputs(0, bits),
        ReadRequest::holding_registers(0, registers),
        ReadRequest::input_registers(0, registers),
    ]
    .into_iter()
    .flatten()
    .chain([
        ReadRequest::report_server_id(),
        ReadRequest::device_identification(DeviceIdReadCode::Basic, 0),
        ReadRequest::device_identification(DeviceIdReadCode::Specific, 0x80),
    ])
    .collect()
}

fn check_reply(request: &ReadRequest, reply: &Reply) {
    match (reply, request.quantity()) {
        (Reply::Bits(bits), Some(quantity)) => assert_eq!(bits.len(), usize::from(quantity)),
        (Reply::Registers(registers), Some(quantity)) => {
            assert_eq!(registers.len(), usize::from(quantity))
        }
        (Reply::Exception { function, .. }, _) => {
            assert_eq!(*function, request.function_code() | 0x80)
        }
        (Reply::Malformed(malformed), _) => assert!(!malformed.reason.is_empty()),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let (seed, stream) = match data {
        [high, low, rest @ ..] => (u16::from_be_bytes([*high, *low]), rest),
        _ => (0, data),
    };
    let requests = requests(seed);

    // The stream as a connection would see it: frame after frame.
    let mut buffer = stream;
    loop {
        match split_frame(buffer) {
            FrameSplit::Complete {
                header,
                pdu,
                frame_len,
            } => {
                assert!(frame_len <= buffer.len() && frame_len <= MAX_ADU_LEN);
                assert_eq!(frame_len, MBAP_HEADER_LEN + usize::from(header.length) - 1);
                assert_eq!(pdu, MBAP_HEADER_LEN..frame_len);
                let _ = check_ids(seed, 1, &header);
                for request in &requests {
                    let reply = parse_response(request, &header, &buffer[pdu.clone()]);
                    check_reply(request, &reply);
                }
                buffer = &buffer[frame_len..];
            }
            FrameSplit::Incomplete { needed } => {
                assert!(needed >= 1 && buffer.len() + needed <= MAX_ADU_LEN);
                break;
            }
            FrameSplit::Invalid(_) => break,
        }
    }

    // The raw stream as a PDU, so the parser is reached without framing too.
    if let Ok(length) = u16::try_from(stream.len() + 1) {
        let header = MbapHeader {
            transaction_id: 0,
            length,
            unit_id: 0,
        };
        for request in &requests {
            let reply = parse_response(request, &header, stream);
            check_reply(request, &reply);
        }
    }
});
