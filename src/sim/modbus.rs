//! Simulated Modbus TCP devices, served by the tokio-modbus server.
//!
//! [`answer`] is the whole behaviour of a device as a pure function of its
//! [`ModbusDeviceSpec`], the unit id and the request; [`ModbusDeviceService`]
//! wraps it for the tokio-modbus server, adds the configured latency and
//! records every request in a [`RequestLog`] so tests can check what a scanner
//! sent (function codes, rate, requests in flight).

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::net::TcpListener;
use tokio_modbus::{
    ExceptionCode, Request, Response, SlaveRequest,
    prelude::{ConformityLevel, DeviceIdObject, ReadCode, ReadDeviceIdentificationResponse},
    server::tcp::{Server, accept_tcp_connection},
};
use tokio_util::sync::CancellationToken;

use super::spec::{DeviceIdentificationSpec, ModbusDeviceSpec, ModbusUnitSpec};

/// Largest PDU a Modbus response may carry (function code included).
const MAX_PDU_SIZE: usize = 253;
/// Fixed part of an FC 43/14 response PDU: function code, MEI type, read code,
/// conformity level, more follows, next object id, number of objects.
const DEVICE_ID_HEADER_SIZE: usize = 7;

/// One request as a simulated device saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// When the request arrived.
    pub at: Instant,
    /// The client's address.
    pub peer: SocketAddr,
    /// Unit id of the request.
    pub unit_id: u8,
    /// Function code of the request.
    pub function_code: u8,
    /// Requests being processed by this device at the moment this one arrived
    /// (this one included), across all connections.
    pub in_flight: usize,
}

/// Everything a simulated Modbus device was asked, in arrival order.
#[derive(Debug, Default)]
pub struct RequestLog {
    inner: Mutex<RequestLogInner>,
}

#[derive(Debug, Default)]
struct RequestLogInner {
    requests: Vec<RecordedRequest>,
    in_flight: usize,
}

impl RequestLog {
    /// A copy of the requests recorded so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The largest number of requests that were being processed at once.
    pub fn max_in_flight(&self) -> usize {
        self.lock()
            .requests
            .iter()
            .map(|r| r.in_flight)
            .max()
            .unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RequestLogInner> {
        // A panic while holding the lock cannot leave the log inconsistent.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn begin(&self, peer: SocketAddr, unit_id: u8, function_code: u8) {
        let mut inner = self.lock();
        inner.in_flight += 1;
        let in_flight = inner.in_flight;
        inner.requests.push(RecordedRequest {
            at: Instant::now(),
            peer,
            unit_id,
            function_code,
            in_flight,
        });
    }

    fn end(&self) {
        let mut inner = self.lock();
        inner.in_flight = inner.in_flight.saturating_sub(1);
    }
}

/// What a device does with one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A normal response.
    Respond(Response),
    /// An exception response with this code.
    Exception(ExceptionCode),
    /// No response at all.
    Silence,
}

/// The behaviour of one simulated device: the answer to `request` sent to `unit_id`.
pub fn answer(device: &ModbusDeviceSpec, unit_id: u8, request: &Request<'_>) -> Answer {
    let unit = match device.units.iter().find(|u| u.unit_id == unit_id) {
        Some(unit) => unit,
        None => {
            if let Some(code) = device.other_unit_ids.exception_code() {
                return Answer::Exception(ExceptionCode::new(code));
            }
            match device.other_unit_ids {
                super::spec::OtherUnitIds::Ignore => return Answer::Silence,
                _ => &device.units[0],
            }
        }
    };
    answer_unit(unit, request)
}

fn answer_unit(unit: &ModbusUnitSpec, request: &Request<'_>) -> Answer {
    match request {
        Request::ReadCoils(address, quantity) => {
            read_range(&unit.coils, *address, *quantity, 2000, Response::ReadCoils)
        }
        Request::ReadDiscreteInputs(address, quantity) => read_range(
            &unit.discrete_inputs,
            *address,
            *quantity,
            2000,
            Response::ReadDiscreteInputs,
        ),
        Request::ReadHoldingRegisters(address, quantity) => read_range(
            &unit.holding_registers,
            *address,
            *quantity,
            125,
            Response::ReadHoldingRegisters,
        ),
        Request::ReadInputRegisters(address, quantity) => read_range(
            &unit.input_registers,
            *address,
            *quantity,
            125,
            Response::ReadInputRegisters,
        ),
        Request::ReportServerId => match &unit.server_id {
            // Encoded by hand: tokio-modbus 0.17 computes the PDU size of
            // `Response::ReportServerId` one byte short, so the MBAP length field
            // would not cover the last byte and clients would read a broken frame.
            Some(server_id) => {
                let payload = server_id.response_bytes();
                let mut pdu = Vec::with_capacity(payload.len() + 1);
                pdu.push(u8::try_from(payload.len()).unwrap_or(u8::MAX));
                pdu.extend_from_slice(&payload);
                Answer::Respond(Response::Custom(0x11, pdu.into()))
            }
            None => Answer::Exception(ExceptionCode::IllegalFunction),
        },
        Request::ReadDeviceIdentification(read_code, object_id) => match &unit.identification {
            Some(identification) => {
                read_device_identification(identification, *read_code, *object_id)
            }
            None => Answer::Exception(ExceptionCode::IllegalFunction),
        },
        // The simulator is read-only: every write (and anything else) is refused as
        // a device that does not implement the function would refuse it.
        _ => Answer::Exception(ExceptionCode::IllegalFunction),
    }
}

/// A read of `quantity` items at `address` from a table starting at address 0.
fn read_range<T: Clone>(
    values: &[T],
    address: u16,
    quantity: u16,
    max_quantity: u16,
    variant: fn(Vec<T>) -> Response,
) -> Answer {
    if quantity == 0 || quantity > max_quantity {
        return Answer::Exception(ExceptionCode::IllegalDataValue);
    }
    let start = usize::from(address);
    let end = start + usize::from(quantity);
    match values.get(start..end) {
        Some(slice) => Answer::Respond(variant(slice.to_vec())),
        None => Answer::Exception(ExceptionCode::IllegalDataAddress),
    }
}

/// FC 43 / MEI 14, following the Modbus Application Protocol v1.1b3, 6.21.
fn read_device_identification(
    identification: &DeviceIdentificationSpec,
    read_code: ReadCode,
    object_id: u8,
) -> Answer {
    let conformity = identification.conformity_level();
    let Some(conformity_level) = ConformityLevel::try_from_value(conformity) else {
        return Answer::Exception(ExceptionCode::ServerDeviceFailure);
    };
    let objects = identification.objects();
    let make_object = |(id, value): &(u8, String)| DeviceIdObject {
        id: *id,
        value: value.clone().into_bytes().into(),
    };

    if read_code == ReadCode::Specific {
        if conformity & 0x80 == 0 {
            return Answer::Exception(ExceptionCode::IllegalDataValue);
        }
        return match objects.iter().find(|(id, _)| *id == object_id) {
            Some(object) => Answer::Respond(Response::ReadDeviceIdentification(
                ReadDeviceIdentificationResponse {
                    read_code,
                    conformity_level,
                    more_follows: false,
                    next_object_id: 0,
                    device_id_objects: vec![make_object(object)],
                },
            )),
            None => Answer::Exception(ExceptionCode::IllegalDataAddress),
        };
    }

    // Stream access: the objects of the requested category (capped at what the
    // device has), starting at `object_id`; an unknown start restarts at the first.
    let category_end: u8 = match read_code {
        ReadCode::Basic => 0x02,
        ReadCode::Regular => 0x7F,
        _ => 0xFF,
    };
    let in_category: Vec<&(u8, String)> = objects
        .iter()
        .filter(|(id, _)| *id <= category_end)
        .collect();
    let start = in_category
        .iter()
        .position(|(id, _)| *id == object_id)
        .unwrap_or(0);
    let per_response = identification
        .objects_per_response
        .map(usize::from)
        .unwrap_or(usize::MAX);

    let mut size = DEVICE_ID_HEADER_SIZE;
    let mut chosen = Vec::new();
    for object in &in_category[start..] {
        let object_size = 2 + object.1.len();
        if chosen.len() == per_response || (size + object_size > MAX_PDU_SIZE && !chosen.is_empty())
        {
            break;
        }
        size += object_size;
        chosen.push(make_object(object));
    }
    let next_index = start + chosen.len();
    let (more_follows, next_object_id) = match in_category.get(next_index) {
        Some((id, _)) => (true, *id),
        None => (false, 0),
    };
    Answer::Respond(Response::ReadDeviceIdentification(
        ReadDeviceIdentificationResponse {
            read_code,
            conformity_level,
            more_follows,
            next_object_id,
            device_id_objects: chosen,
        },
    ))
}

/// The tokio-modbus service for one simulated device and one connection.
#[derive(Clone)]
pub struct ModbusDeviceService {
    device: Arc<ModbusDeviceSpec>,
    latency: Duration,
    log: Arc<RequestLog>,
    peer: SocketAddr,
}

impl tokio_modbus::server::Service for ModbusDeviceService {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Pin<Box<dyn Future<Output = Result<Option<Response>, ExceptionCode>> + Send>>;

    fn call(&self, request: Self::Request) -> Self::Future {
        let SlaveRequest { slave, request } = request;
        let function_code: u8 = request.function_code().value();
        self.log.begin(self.peer, slave, function_code);
        let result = answer(&self.device, slave, &request);
        let latency = self.latency;
        let log = self.log.clone();
        Box::pin(async move {
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            log.end();
            match result {
                Answer::Respond(response) => Ok(Some(response)),
                Answer::Exception(code) => Err(code),
                Answer::Silence => Ok(None),
            }
        })
    }
}

/// Serves one device on `listener` until `cancel` fires.
pub async fn serve(
    listener: TcpListener,
    device: Arc<ModbusDeviceSpec>,
    latency: Duration,
    log: Arc<RequestLog>,
    cancel: CancellationToken,
) {
    let server = Server::new(listener);
    let on_connected = move |stream, peer| {
        let service = ModbusDeviceService {
            device: device.clone(),
            latency,
            log: log.clone(),
            peer,
        };
        async move { accept_tcp_connection(stream, peer, move |_| Ok(Some(service.clone()))) }
    };
    let on_process_error = |error| tracing::debug!(%error, "simulated Modbus connection ended");
    let result = server
        .serve_until(&on_connected, on_process_error, cancel.cancelled_owned())
        .await;
    if let Err(error) = result {
        tracing::warn!(%error, "simulated Modbus device stopped");
    }
}
