"""A Modbus TCP server built with pymodbus (PyPI, pinned in requirements.txt),
for `tests/interop_servers.rs`: discovery must identify devices served by
someone else's Modbus stack exactly as they are configured.

Usage: pymodbus_server.py [--port N] [--mode plain|gateway] [--ignore-missing]

Binds 127.0.0.1 (port 0 = ephemeral) and prints one JSON line on stdout when
it listens: {"port": N, "mode": ..., "units": {...}, ...} with what discovery
should find. Runs until killed.

Modes:

plain    Stock pymodbus, no custom code: one ModbusDeviceIdentification passed to
         ModbusTcpServer(identity=...), two SimDevices (ids 1 and 2) with holding
         and input registers. pymodbus answers FC 43 and FC 17 from one global
         control block whatever the unit id (SimDevice.identity exists in 3.16.1
         but is never used), so every unit id, known or not, reports the same
         identity: one device that answers every unit id. The extended objects
         are long enough that pymodbus splits them with "more follows".

gateway  Looks like a Modbus TCP/RTU gateway: the gateway itself at unit 255 and
         serial devices at units 1, 2 and 5, each with its own identity (unit 5
         has none and answers only coils and discrete inputs, like a simple
         I/O module). pymodbus cannot give units their own identity, so FC 43/14
         and FC 17 are served by two small request classes registered through
         pymodbus's `custom_pdu` hook; the framing, the response encoding (with
         "more follows") and the exception handling stay pymodbus's. An unknown
         unit id raises pymodbus's NoSuchIdException: pymodbus then answers
         exception 0x0B (gateway target failed to respond), or, with
         --ignore-missing (ModbusTcpServer(ignore_missing_devices=True)), nothing.

Reads (FC 1-4) to a unit id without a SimDevice get exception 0x04 in every
mode, --ignore-missing or not: pymodbus 3.16.1's SimCore raises KeyError there,
not NoSuchIdException, so ignore_missing_devices never applies to reads (and
pymodbus logs the KeyError; logging is silenced below).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import struct
import sys
from types import SimpleNamespace

from pymodbus import __version__ as pymodbus_version
from pymodbus.constants import DeviceInformation, ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.device import DeviceInformationFactory, ModbusDeviceIdentification
from pymodbus.pdu.mei_message import ReadDeviceInformationResponse
from pymodbus.pdu.other_message import ReportDeviceIdResponse
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

OBJECT_NAMES = [
    "VendorName",
    "ProductCode",
    "MajorMinorRevision",
    "VendorUrl",
    "ProductName",
    "ModelName",
    "UserApplicationName",
]

# plain: one PLC. The regular objects plus two private (extended) objects are
# longer than one response can hold (pymodbus: 247 bytes), so the extended
# stream comes in two parts.
PLAIN_IDENTITY = {
    "VendorName": "Pymodbus Interop Works",
    "ProductCode": "PM-PLC-316",
    "MajorMinorRevision": "3.16.1",
    "VendorUrl": "https://example.invalid/pymodbus-interop/" + "u" * 40,
    "ProductName": "Pymodbus Interop PLC",
    "ModelName": "PM-PLC-316-TCP",
    "UserApplicationName": "bottling line 4 / " + "a" * 60,
}
PLAIN_PRIVATE = {
    0x80: "serial 0001-" + "7" * 60,
    0x81: "firmware build " + "b" * 60,
}

# gateway: the gateway itself (unit 255) and the devices behind it.
GATEWAY_UNITS: dict[int, dict[str, str] | None] = {
    255: {
        "VendorName": "Pymodbus Interop Works",
        "ProductCode": "PM-GW-485",
        "MajorMinorRevision": "2.0",
        "VendorUrl": "https://example.invalid/gw",
        "ProductName": "Modbus TCP/RTU Gateway",
        "ModelName": "PM-GW-485-2P",
        "UserApplicationName": "utilities gateway",
    },
    1: {
        "VendorName": "Meterhaus",
        "ProductCode": "MH-E3",
        "MajorMinorRevision": "1.4.2",
        "VendorUrl": "https://example.invalid/meterhaus",
        "ProductName": "Energy Meter E3",
        "ModelName": "MH-E3-485",
        "UserApplicationName": "feeder 1",
    },
    2: {
        "VendorName": "Drivetek",
        "ProductCode": "DT-VFD-7",
        "MajorMinorRevision": "5.01",
        "VendorUrl": "https://example.invalid/drivetek",
        "ProductName": "Frequency Inverter 7.5 kW",
        "ModelName": "DT-VFD-7-485",
        "UserApplicationName": "pump 2",
    },
    5: None,
}


def identity_of(names: dict[str, str], private: dict[int, str] | None = None):
    identity = ModbusDeviceIdentification(info_name=names)
    for object_id, value in (private or {}).items():
        identity[object_id] = value
    return identity


def registers(unit: int) -> tuple[list, list, list, list]:
    """Non-shared blocks (coils, discrete inputs, holding, input registers)."""
    holding = [SimData(0, values=[1000 + unit, 2000 + unit, 3000 + unit], datatype=DataType.REGISTERS, readonly=True)]
    inputs = [SimData(0, values=[4000 + unit, 5000 + unit], datatype=DataType.REGISTERS, readonly=True)]
    coils = [SimData(0, values=[True, False, True, True], datatype=DataType.BITS, readonly=True)]
    discrete = [SimData(0, values=[False, True], datatype=DataType.BITS, readonly=True)]
    return coils, discrete, holding, inputs


def bits_only() -> tuple[list, list, list, list]:
    coils = [SimData(0, values=[True] * 8, datatype=DataType.BITS, readonly=True)]
    discrete = [SimData(0, values=[True, False] * 4, datatype=DataType.BITS, readonly=True)]
    # No registers: every address is invalid (reads answer exception 0x02).
    holding = [SimData(0, count=16, datatype=DataType.INVALID)]
    inputs = [SimData(0, count=16, datatype=DataType.INVALID)]
    return coils, discrete, holding, inputs


# ---------------------------------------------------------------------------
# gateway mode: per-unit FC 43/14 and FC 17 through pymodbus's custom_pdu hook
# ---------------------------------------------------------------------------

UNIT_IDENTITIES: dict[int, ModbusDeviceIdentification | None] = {}


def unit_identity(device_id: int) -> ModbusDeviceIdentification | None:
    if device_id not in UNIT_IDENTITIES:
        raise NoSuchIdException(f"device_id - {device_id} does not exist")
    return UNIT_IDENTITIES[device_id]


class PerUnitDeviceInformationRequest(ModbusPDU):
    """FC 43 (all MEI types): 14 from the addressed unit's identity.

    sub_function_code stays -1 so that pymodbus's decoder keeps this class
    instead of swapping in its own ReadDeviceInformationRequest.
    """

    function_code = 0x2B

    def __init__(self, dev_id: int = 0, transaction_id: int = 0) -> None:
        super().__init__(dev_id=dev_id, transaction_id=transaction_id)
        self.mei_type = 0
        self.read_code = 0
        self.object_id = 0

    def decode(self, data: bytes) -> None:
        self.mei_type, self.read_code, self.object_id = struct.unpack(">BBB", data[:3])

    async def datastore_update(self, context, device_id: int) -> ModbusPDU:
        _ = context
        identity = unit_identity(device_id)
        if self.mei_type != 0x0E or identity is None:
            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_FUNCTION)
        if not 0x01 <= self.read_code <= 0x04:
            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_VALUE)
        # pymodbus's own object selection, over this unit's identity.
        information = DeviceInformationFactory.get(
            SimpleNamespace(Identity=identity), self.read_code, self.object_id
        )
        if self.read_code == DeviceInformation.SPECIFIC and not information.get(self.object_id):
            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_ADDRESS)
        return ReadDeviceInformationResponse(
            read_code=self.read_code,
            information=information,
            dev_id=device_id,
            transaction_id=self.transaction_id,
        )


class PerUnitReportServerIdRequest(ModbusPDU):
    """FC 17 from the addressed unit's identity, encoded as pymodbus does."""

    function_code = 0x11

    async def datastore_update(self, context, device_id: int) -> ModbusPDU:
        _ = context
        identity = unit_identity(device_id)
        if identity is None:
            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_FUNCTION)
        information = DeviceInformationFactory.get(SimpleNamespace(Identity=identity))
        identifier = b"-".join(v if isinstance(v, bytes) else v.encode() for v in information.values())
        return ReportDeviceIdResponse(identifier=identifier, dev_id=device_id, transaction_id=self.transaction_id)


def server_id_hex(names: dict[str, str]) -> str:
    """FC 17 payload as pymodbus builds it: basic objects joined by '-', then 0xFF (running)."""
    identifier = "-".join(names[n] for n in OBJECT_NAMES[:3] if names.get(n)).encode()
    return identifier.hex() + "ff"


def expected_objects(names: dict[str, str], private: dict[int, str] | None = None) -> dict[str, str]:
    objects = {str(i): names[n] for i, n in enumerate(OBJECT_NAMES) if names.get(n)}
    objects.update({str(i): v for i, v in (private or {}).items()})
    return objects


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", choices=["plain", "gateway"], default="plain")
    parser.add_argument("--ignore-missing", action="store_true")
    args = parser.parse_args()
    # pymodbus logs deprecation warnings and per-request errors on the root logger.
    logging.basicConfig(level=logging.CRITICAL, stream=sys.stderr)

    if args.mode == "plain":
        devices = [SimDevice(id=unit, simdata=registers(unit)) for unit in (1, 2)]
        server = ModbusTcpServer(
            devices,
            identity=identity_of(PLAIN_IDENTITY, PLAIN_PRIVATE),
            address=("127.0.0.1", args.port),
            ignore_missing_devices=args.ignore_missing,
        )
        units = {
            "*": {
                "objects": expected_objects(PLAIN_IDENTITY, PLAIN_PRIVATE),
                "server_id_hex": server_id_hex(PLAIN_IDENTITY),
                "registers": {"1": {"holding": [1001, 2001, 3001], "input": [4001, 5001]},
                              "2": {"holding": [1002, 2002, 3002], "input": [4002, 5002]}},
            }
        }
    else:
        devices = []
        units = {}
        for unit, names in GATEWAY_UNITS.items():
            UNIT_IDENTITIES[unit] = identity_of(names) if names else None
            if unit != 255:
                devices.append(SimDevice(id=unit, simdata=registers(unit) if names else bits_only()))
            units[str(unit)] = (
                {"objects": expected_objects(names), "server_id_hex": server_id_hex(names)}
                if names
                else {"objects": None, "server_id_hex": None, "functions": {"1": "supported", "2": "supported"}}
            )
        server = ModbusTcpServer(
            devices,
            address=("127.0.0.1", args.port),
            ignore_missing_devices=args.ignore_missing,
            custom_pdu=[PerUnitDeviceInformationRequest, PerUnitReportServerIdRequest],
        )

    await server.serve_forever(background=True)
    port = server.transport.sockets[0].getsockname()[1]
    ready = {
        "server": "pymodbus",
        "version": pymodbus_version,
        "port": port,
        "mode": args.mode,
        "unknown_unit_id": {
            "fc43_fc17": "server identity"
            if args.mode == "plain"
            else "silent"
            if args.ignore_missing
            else "exception 0x0b",
            "reads": "exception 0x04",
        },
        "units": units,
    }
    print(json.dumps(ready), flush=True)
    await server.serving


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
