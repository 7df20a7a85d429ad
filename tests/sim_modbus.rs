//! Every simulated Modbus device answers as its manifest says, checked with the
//! tokio-modbus client (FC 43 objects across "more follows", FC 17 bytes,
//! registers, gateway exceptions), for every shipped plant.

use std::net::SocketAddr;

use i4gauge::sim::{
    PlantSpec,
    manifest::{ModbusDeviceManifest, ModbusUnitManifest, to_hex},
    spec::{OtherUnitIds, SCENARIOS},
};
use tokio_modbus::{
    ExceptionCode, Request, Response,
    client::{Context, tcp},
    prelude::{Client, ReadCode, Reader, Slave, SlaveContext, Writer},
};

use crate::util::{bounded, modbus, start};

async fn connect(address: SocketAddr) -> Context {
    bounded("connect", tcp::connect(address))
        .await
        .expect("the simulated device accepts connections")
}

/// Reads every identification object, following "more follows"; returns the
/// conformity level, the objects and the number of exchanges.
async fn read_identification(
    ctx: &mut Context,
    read_code: ReadCode,
) -> Result<(u8, Vec<(u8, String)>, u32), ExceptionCode> {
    let mut objects = Vec::new();
    let mut next = 0u8;
    let mut exchanges = 0;
    loop {
        exchanges += 1;
        assert!(exchanges < 64, "more follows never ends");
        let response = bounded("FC 43", ctx.read_device_identification(read_code, next))
            .await
            .expect("transport works")?;
        objects.extend(response.device_id_objects.iter().map(|o| {
            (
                o.id,
                String::from_utf8(o.value.to_vec()).expect("sim objects are UTF-8"),
            )
        }));
        if !response.more_follows {
            return Ok((response.conformity_level.value(), objects, exchanges));
        }
        assert!(
            response.next_object_id > next || next == 0,
            "next object id must advance"
        );
        next = response.next_object_id;
    }
}

async fn check_unit(ctx: &mut Context, device: &str, unit: &ModbusUnitManifest) {
    let label = format!("{device} unit {}", unit.unit_id);
    match &unit.identification {
        Some(expected) => {
            let (conformity, objects, exchanges) = read_identification(ctx, ReadCode::Extended)
                .await
                .unwrap_or_else(|e| panic!("{label}: FC 43 refused: {e:?}"));
            assert_eq!(conformity, expected.conformity_level, "{label}: conformity");
            let expected_objects: Vec<(u8, String)> = expected
                .objects
                .iter()
                .map(|o| (o.id, o.value.clone()))
                .collect();
            assert_eq!(objects, expected_objects, "{label}: identification objects");
            if let Some(per_response) = expected.objects_per_response {
                let needed = expected.objects.len().div_ceil(usize::from(per_response));
                assert_eq!(exchanges as usize, needed, "{label}: exchanges");
                assert!(exchanges > 1, "{label}: the answer must be split");
            }
            // Basic stream access returns exactly objects 0..=2.
            let (_, basic, _) = read_identification(ctx, ReadCode::Basic).await.unwrap();
            assert_eq!(basic.iter().map(|o| o.0).collect::<Vec<_>>(), vec![0, 1, 2]);
        }
        None => {
            let result = bounded("FC 43", ctx.read_device_identification(ReadCode::Basic, 0))
                .await
                .expect("transport works");
            assert_eq!(
                result.unwrap_err(),
                ExceptionCode::IllegalFunction,
                "{label}"
            );
        }
    }

    let server_id = bounded("FC 17", ctx.call(Request::ReportServerId))
        .await
        .expect("transport works");
    match (&unit.server_id, server_id) {
        (Some(expected), Ok(Response::ReportServerId(id, running, data))) => {
            let mut bytes = vec![id, if running { 0xFF } else { 0x00 }];
            bytes.extend_from_slice(&data);
            assert_eq!(
                to_hex(&bytes),
                expected.response_hex,
                "{label}: FC 17 bytes"
            );
        }
        (None, Err(code)) => assert_eq!(code, ExceptionCode::IllegalFunction, "{label}: FC 17"),
        (expected, got) => panic!("{label}: FC 17 expected {expected:?}, got {got:?}"),
    }

    let count = |n: usize| u16::try_from(n).unwrap();
    if unit.holding_registers > 0 {
        let words = ctx
            .read_holding_registers(0, count(unit.holding_registers))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            words.len(),
            unit.holding_registers,
            "{label}: holding registers"
        );
    }
    let past_end = ctx
        .read_holding_registers(count(unit.holding_registers), 1)
        .await
        .unwrap();
    assert_eq!(
        past_end.unwrap_err(),
        ExceptionCode::IllegalDataAddress,
        "{label}"
    );
    if unit.input_registers > 0 {
        let words = ctx
            .read_input_registers(0, count(unit.input_registers))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            words.len(),
            unit.input_registers,
            "{label}: input registers"
        );
    }
    if unit.coils > 0 {
        let bits = ctx.read_coils(0, count(unit.coils)).await.unwrap().unwrap();
        assert_eq!(bits.len(), unit.coils, "{label}: coils");
    }
    if unit.discrete_inputs > 0 {
        let bits = ctx
            .read_discrete_inputs(0, count(unit.discrete_inputs))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(bits.len(), unit.discrete_inputs, "{label}: discrete inputs");
    }
}

async fn check_device(device: &ModbusDeviceManifest) {
    let mut ctx = connect(device.address).await;
    for unit in &device.units {
        ctx.set_slave(Slave(unit.unit_id));
        check_unit(&mut ctx, &device.name, unit).await;
    }
    // A unit id the device does not have.
    let absent = (1..=247u8)
        .find(|id| device.units.iter().all(|u| u.unit_id != *id))
        .unwrap();
    ctx.set_slave(Slave(absent));
    let reply = bounded("absent unit", ctx.read_holding_registers(0, 1)).await;
    match device.other_unit_ids {
        OtherUnitIds::GatewayTargetFailed | OtherUnitIds::GatewayPathUnavailable => {
            let code = reply.expect("transport works").unwrap_err();
            assert_eq!(
                Some(u8::from(code)),
                device.other_unit_ids_exception,
                "{}: unit {absent} must get the gateway exception",
                device.name
            );
        }
        OtherUnitIds::Answer => {
            // Answers as its first unit does.
            let mut first = connect(device.address).await;
            first.set_slave(Slave(device.units[0].unit_id));
            let expected = first.read_holding_registers(0, 1).await.unwrap();
            assert_eq!(reply.unwrap(), expected, "{}: unit {absent}", device.name);
        }
        OtherUnitIds::Ignore => {}
    }
}

#[tokio::test]
async fn every_modbus_device_of_every_plant_answers_as_its_manifest_says() {
    for (name, _) in SCENARIOS {
        let spec = PlantSpec::scenario(name).unwrap();
        let plant = start(&spec).await;
        for device in &plant.manifest().devices {
            if let i4gauge::sim::ManifestDevice::ModbusTcp(device) = device {
                check_device(device).await;
            }
        }
        plant.shutdown().await;
    }
}

#[tokio::test]
async fn default_plant_has_the_devices_the_foundation_promises() {
    let plant = start(&PlantSpec::builtin_default()).await;
    let manifest = plant.manifest();
    let with_split_identification = modbus(manifest, "plc-filling");
    let identification = with_split_identification.units[0]
        .identification
        .as_ref()
        .unwrap();
    assert!(identification.objects.len() > 3, "basic + regular objects");
    assert!(identification.objects_per_response.is_some());
    let server_id_only = modbus(manifest, "plc-packing");
    assert!(server_id_only.units[0].identification.is_none());
    assert!(server_id_only.units[0].server_id.is_some());
    let anonymous = modbus(manifest, "plc-boiler");
    assert!(anonymous.units[0].identification.is_none() && anonymous.units[0].server_id.is_none());
    assert!(anonymous.units[0].holding_registers > 0);
    let gateway = modbus(manifest, "gateway-utilities");
    assert_eq!(gateway.other_unit_ids_exception, Some(0x0B));
    assert!(gateway.units.len() >= 3, "several serial devices");
    plant.shutdown().await;
}

#[tokio::test]
async fn the_simulator_records_every_request_and_refuses_writes() {
    let plant = start(&PlantSpec::builtin_default()).await;
    let device = modbus(plant.manifest(), "plc-boiler");
    let mut ctx = connect(device.address).await;
    ctx.set_slave(Slave(1));
    ctx.read_holding_registers(0, 2).await.unwrap().unwrap();
    let write = ctx.write_single_register(0, 7).await.unwrap();
    assert_eq!(write.unwrap_err(), ExceptionCode::IllegalFunction);
    let after = ctx.read_holding_registers(0, 1).await.unwrap().unwrap();
    assert_eq!(after, vec![85], "a refused write changes nothing");

    let log = plant.modbus_log("plc-boiler").unwrap().requests();
    let codes: Vec<u8> = log.iter().map(|r| r.function_code).collect();
    assert_eq!(codes, vec![3, 6, 3]);
    assert!(log.iter().all(|r| r.unit_id == 1 && r.in_flight == 1));
    plant.shutdown().await;
}
