#!/usr/bin/env python3
"""Independent third-party check of a running `i4gauge sim` plant.

Usage:
    i4gauge sim --json > manifest.json &      # prints the manifest, then serves
    python check_sim.py manifest.json [--password USER=PASS[,USER=PASS...]]

`i4gauge sim --json` prints a manifest (format: `Manifest` in src/sim/manifest.rs)
naming every simulated device, its address and exactly what it answers. This
script proves that claim with clients written by other people -- pymodbus for
Modbus TCP and asyncua for OPC UA -- so a bug shared by i4gauge's scanner and
its simulator (both built on i4gauge's own reading of the specifications) cannot
hide. Nothing here reuses i4gauge code.

What is proven, per device in the manifest:

Modbus TCP, for every listed unit id:
  * Read Device Identification (FC 43 / MEI 14): the stream read (read code 0x02,
    or 0x03 for extended devices) from object 0, following "more follows" across
    responses, yields exactly the manifest's objects (id -> value bytes), with the
    manifest's conformity level in every response and at most
    `objects_per_response` objects per response. When the conformity level
    claims individual access (bit 0x80), every object is also read alone (read
    code 0x04). A unit without identification answers exception 0x01.
  * Report Server ID (FC 17): the raw bytes after the byte count equal
    `response_hex`; a unit without one answers exception 0x01.
  * Coils, discrete inputs, holding and input registers: the manifest's count is
    readable from address 0 and address `count` answers exception 0x02.
  * Unit ids not listed: with a gateway exception code, unit 100 (or the first free
    id from 100) gets exactly that exception to FC 3, FC 43 and FC 17 -- so it is
    not a device; with "answer", it passes all the checks above as the first
    listed unit and its data values equal that unit's; with "ignore", it gets no
    answer.

OPC UA:
  * GetEndpoints: the (security policy URI, security mode) set, the user token types
    per endpoint, the endpoint URL and the application description (name, URIs)
    are those of the manifest.
  * A session -- anonymous over SecurityPolicy None when the manifest says
    anonymous login is accepted, otherwise the first listed user over
    Basic256Sha256/SignAndEncrypt with a throwaway self-signed client certificate
    -- reads BuildInfo, which matches the manifest, and the NamespaceArray, which
    holds the manifest's namespaces in the manifest's order.
  * Anonymous login is refused when the manifest says it is not accepted.
  * Every machine is found by browsing Objects -> DeviceSet -> machine and its
    Manufacturer, Model, SerialNumber and SoftwareRevision properties match.
  * Browsing Objects -> Plant finds exactly `variables` variables (when <= 5000).

Only the addresses in the manifest are contacted, and only if they are loopback.
Every network operation is bounded by a 5 s timeout. Each check prints one line
("ok   ..." or "FAIL ..."), then one line "N passed, M failed"; the exit status is
0 only when nothing failed.

Library quirks worked around (pymodbus 3.16.1, asyncua 2.1.0):
  * pymodbus `read_device_information` performs one exchange and ignores "more
    follows"; the continuation loop is done here.
  * pymodbus decodes FC 17 as <identifier><run status> with the run status taken
    from the LAST byte, which is not the layout of the Modbus specification
    (<server id><run indicator><additional data>); the FC 17 answer is therefore
    taken from the raw received frame (pymodbus `trace_packet` hook).
  * pymodbus returns coils and discrete inputs padded to a multiple of 8; the
    number of values is checked against that padding.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import math
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from asyncua import Client, ua
from asyncua.crypto import security_policies, uacrypto
from cryptography.hazmat.primitives.serialization import Encoding
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException

TIMEOUT = 5.0
"""Upper bound of every network operation, in seconds."""

DEFAULT_PASSWORDS = "operator=operator-sim,historian=historian-sim"
CLIENT_APPLICATION_URI = "urn:i4gauge:interop-check"
DI_NAMESPACE = "http://opcfoundation.org/UA/DI/"
OTHER_UNIT_ID = 100
MAX_VARIABLES_TO_COUNT = 5000

# Modbus exception codes.
ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_ADDRESS = 0x02

# Largest quantities one Modbus read may ask for.
MAX_REGISTERS_PER_READ = 125
MAX_BITS_PER_READ = 2000

TOKEN_TYPE_NAMES = {
    ua.UserTokenType.Anonymous: "anonymous",
    ua.UserTokenType.UserName: "username",
    ua.UserTokenType.Certificate: "certificate",
    ua.UserTokenType.IssuedToken: "issued-token",
}


class CheckFailed(Exception):
    """A device answered, but not what the manifest says."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


async def bounded(awaitable: Awaitable[Any], what: str, timeout: float = TIMEOUT) -> Any:
    """Awaits one network operation, failing the check after `timeout` seconds."""
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        raise CheckFailed(f"{what}: no answer within {timeout:g} s") from None


class Report:
    """Prints one line per check and counts the outcome."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def ok(self, name: str, detail: str) -> None:
        self.passed += 1
        print(f"ok   {name}: {detail}", flush=True)

    def fail(self, name: str, detail: str) -> None:
        self.failed += 1
        print(f"FAIL {name}: {detail}", flush=True)

    def skip(self, name: str, detail: str) -> None:
        print(f"skip {name}: {detail}", flush=True)

    async def check(self, name: str, run: Callable[[], Awaitable[str]]) -> bool:
        """Runs one check; any exception (garbage answers included) is a FAIL."""
        try:
            detail = await run()
        except CheckFailed as failure:
            self.fail(name, str(failure))
            return False
        except Exception as error:  # noqa: BLE001 -- a broken device must not crash us
            self.fail(name, f"{type(error).__name__}: {error}")
            return False
        self.ok(name, detail)
        return True


def require_loopback(host: str) -> None:
    """Refuses any address that is not loopback: the checker only talks to the sim."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise CheckFailed(f"refusing to contact non-loopback address {host!r}")


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    require_loopback(host)
    return host, int(port)


# --------------------------------------------------------------------------- Modbus


class ModbusDevice:
    """A pymodbus client for one device, keeping the last raw frame received."""

    def __init__(self, address: str) -> None:
        host, port = split_address(address)
        self.last_received = b""
        self.client = AsyncModbusTcpClient(
            host,
            port=port,
            timeout=TIMEOUT - 1,  # pymodbus gives up first, so its error is reported
            retries=0,
            reconnect_delay=0,
            trace_packet=self._trace_packet,
        )

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            # pymodbus passes its whole receive buffer; the last call holds the frame.
            self.last_received = data
        return data

    async def connect(self) -> None:
        connected = await bounded(self.client.connect(), "TCP connect")
        expect(bool(connected), "TCP connect refused")

    def close(self) -> None:
        self.client.close()

    async def call(self, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """One exchange: `client.<method>(*args, **kwargs)`, bounded by the timeout.

        Connects again first if an earlier exchange lost the connection, so one bad
        answer fails one check, not all that follow.
        """
        if not self.client.connected:
            await self.connect()
        return await bounded(getattr(self.client, method)(*args, **kwargs), what)


def exception_code(response: Any) -> int | None:
    """The exception code of an exception response, None for a normal one."""
    if response.isError():
        return getattr(response, "exception_code", -1)
    return None


def describe(response: Any) -> str:
    code = exception_code(response)
    if code is not None:
        return f"exception {code:#04x}"
    return f"a normal {type(response).__name__}"


def expect_exception(response: Any, code: int, what: str) -> None:
    got = exception_code(response)
    expect(got == code, f"{what}: expected exception {code:#04x}, got {describe(response)}")


def expect_normal(response: Any, what: str) -> None:
    expect(not response.isError(), f"{what}: expected a normal response, got {describe(response)}")


TABLES = {
    # manifest field: (function code, pymodbus method name, values attribute, max per read)
    "coils": (0x01, "read_coils", "bits", MAX_BITS_PER_READ),
    "discrete_inputs": (0x02, "read_discrete_inputs", "bits", MAX_BITS_PER_READ),
    "holding_registers": (0x03, "read_holding_registers", "registers", MAX_REGISTERS_PER_READ),
    "input_registers": (0x04, "read_input_registers", "registers", MAX_REGISTERS_PER_READ),
}


async def read_table(device: ModbusDevice, unit_id: int, table: str, count: int) -> list[Any]:
    """Reads `count` items from address 0, in as many requests as the protocol needs."""
    function_code, method, attribute, max_per_read = TABLES[table]
    values: list[Any] = []
    for start in range(0, count, max_per_read):
        quantity = min(max_per_read, count - start)
        what = f"FC{function_code:02X} {quantity} at {start}"
        response = await device.call(what, method, start, count=quantity, device_id=unit_id)
        expect_normal(response, what)
        chunk = list(getattr(response, attribute))
        if attribute == "bits":
            expected_len = 8 * math.ceil(quantity / 8)  # pymodbus pads to whole bytes
            expect(len(chunk) == expected_len,
                   f"{what}: {len(chunk)} bits decoded, expected {expected_len} ({quantity} padded)")
            chunk = chunk[:quantity]
        else:
            expect(len(chunk) == quantity, f"{what}: {len(chunk)} registers, expected {quantity}")
        values.extend(chunk)
    return values


async def check_table(device: ModbusDevice, unit_id: int, table: str, count: int) -> str:
    function_code, method, _, _ = TABLES[table]
    parts = []
    if count > 0:
        await read_table(device, unit_id, table, count)
        parts.append(f"{count} read")
    what = f"FC{function_code:02X} 1 at {count} (one past the end)"
    response = await device.call(what, method, count, count=1, device_id=unit_id)
    expect_exception(response, ILLEGAL_DATA_ADDRESS, what)
    parts.append(f"address {count} -> exception 0x02")
    return f"FC{function_code:02X} {table.replace('_', ' ')}: " + ", ".join(parts)


def decoded_objects(response: Any) -> list[tuple[int, bytes]]:
    """(id, value) pairs of one FC 43 response, as pymodbus decoded them."""
    pairs = []
    for object_id, value in response.information.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((object_id, bytes(item)))
    return pairs


async def read_identification_stream(
    device: ModbusDevice, unit_id: int, read_code: int
) -> tuple[list[tuple[int, bytes]], list[Any]]:
    """A full stream read from object 0, following "more follows" until done.

    pymodbus' read_device_information does a single exchange, so the loop is here.
    Returns the objects in arrival order and every response.
    """
    objects: list[tuple[int, bytes]] = []
    responses = []
    object_id = 0
    requested: set[int] = set()
    while True:
        expect(object_id not in requested,
               f"more-follows loop: next object id {object_id:#04x} was already requested")
        expect(len(responses) < 256, "more than 256 responses without the end of the stream")
        requested.add(object_id)
        what = f"FC43 read code {read_code:#04x} object {object_id:#04x}"
        response = await device.call(what, "read_device_information",
                                     read_code=read_code, object_id=object_id, device_id=unit_id)
        expect_normal(response, what)
        responses.append(response)
        pairs = decoded_objects(response)
        expect(response.number_of_objects == len(pairs),
               f"{what}: header says {response.number_of_objects} objects, body holds {len(pairs)}")
        expect(response.read_code == read_code,
               f"{what}: response read code {response.read_code:#04x}")
        objects.extend(pairs)
        if response.more_follows == 0x00:
            return objects, responses
        expect(response.more_follows == 0xFF,
               f"{what}: more-follows byte {response.more_follows:#04x} is neither 0x00 nor 0xFF")
        object_id = response.next_object_id


async def check_identification(device: ModbusDevice, unit_id: int, ident: dict | None) -> str:
    if ident is None:
        what = "FC43 read code 0x01 object 0x00"
        response = await device.call(what, "read_device_information",
                                     read_code=0x01, object_id=0, device_id=unit_id)
        expect_exception(response, ILLEGAL_FUNCTION, what)
        return "FC43 -> exception 0x01 (no identification)"

    conformity = ident["conformity_level"]
    read_code = 0x03 if conformity & 0x7F == 0x03 else 0x02
    expected = [(o["id"], o["value"].encode()) for o in ident["objects"]]
    objects, responses = await read_identification_stream(device, unit_id, read_code)

    levels = {r.conformity for r in responses}
    expect(levels == {conformity},
           f"conformity level {sorted(hex(l) for l in levels)}, manifest says {conformity:#04x}")
    ids = [object_id for object_id, _ in objects]
    expect(len(ids) == len(set(ids)), f"object ids repeated across responses: {ids}")
    expect(sorted(objects) == sorted(expected), diff_objects(dict(objects), dict(expected)))
    per_response = ident.get("objects_per_response")
    if per_response:
        most = max(r.number_of_objects for r in responses)
        expect(most <= per_response,
               f"{most} objects in one response, manifest says at most {per_response}")
        exchanges = math.ceil(len(expected) / per_response)
        expect(len(responses) == exchanges,
               f"{len(responses)} exchanges, expected {exchanges} for {len(expected)} objects "
               f"at {per_response} per response")
    return (f"FC43 {len(objects)} objects in {len(responses)} exchange"
            f"{'s' if len(responses) != 1 else ''}, conformity {conformity:#04x}")


async def check_individual_access(device: ModbusDevice, unit_id: int, ident: dict) -> str:
    for entry in ident["objects"]:
        what = f"FC43 read code 0x04 object {entry['id']:#04x}"
        response = await device.call(what, "read_device_information",
                                     read_code=0x04, object_id=entry["id"], device_id=unit_id)
        expect_normal(response, what)
        pairs = decoded_objects(response)
        expected = [(entry["id"], entry["value"].encode())]
        expect(pairs == expected, f"{what}: {format_objects(pairs)} != {format_objects(expected)}")
        expect(response.conformity == ident["conformity_level"],
               f"{what}: conformity {response.conformity:#04x}")
    return f"FC43 individual access, {len(ident['objects'])} objects one by one"


def diff_objects(got: dict[int, bytes], want: dict[int, bytes]) -> str:
    """What differs between the objects read and the manifest's, object by object."""
    differences = []
    for object_id in sorted(set(got) | set(want)):
        if object_id not in want:
            differences.append(f"{object_id:#04x} unexpected {got[object_id]!r}")
        elif object_id not in got:
            differences.append(f"{object_id:#04x} missing (manifest {want[object_id]!r})")
        elif got[object_id] != want[object_id]:
            differences.append(f"{object_id:#04x} is {got[object_id]!r}, manifest {want[object_id]!r}")
    return "objects differ: " + "; ".join(differences)


def format_objects(objects: list[tuple[int, bytes]]) -> str:
    return "{" + ", ".join(f"{i:#04x}: {v!r}" for i, v in objects) + "}"


def raw_report_server_id(frame: bytes, unit_id: int) -> bytes:
    """The bytes after the byte count in a raw FC 17 response frame (MBAP + PDU)."""
    expect(len(frame) >= 9, f"FC11 frame too short: {frame.hex()}")
    length = int.from_bytes(frame[4:6], "big")
    pdu = frame[7:6 + length]
    expect(frame[6] == unit_id, f"FC11 answered by unit {frame[6]}, asked {unit_id}")
    expect(pdu[0] == 0x11, f"FC11 answer has function code {pdu[0]:#04x}: {frame.hex()}")
    byte_count = pdu[1]
    data = pdu[2:]
    expect(len(data) == byte_count,
           f"FC11 byte count {byte_count} but {len(data)} bytes follow: {frame.hex()}")
    return bytes(data)


async def check_server_id(device: ModbusDevice, unit_id: int, server_id: dict | None) -> str:
    what = "FC11 report server id"
    response = await device.call(what, "report_device_id", device_id=unit_id)
    if server_id is None:
        expect_exception(response, ILLEGAL_FUNCTION, what)
        return "FC11 -> exception 0x01 (no server id)"
    expect_normal(response, what)
    # pymodbus' own decoding reads the run status from the last byte; use the raw frame.
    data = raw_report_server_id(device.last_received, unit_id)
    expect(data.hex() == server_id["response_hex"],
           f"FC11 bytes {data.hex()} != manifest {server_id['response_hex']}")
    return f"FC11 {len(data)} bytes = response_hex ({server_id['additional_data']!r})"


def unit_checks(device: ModbusDevice, unit_id: int, unit: dict) -> list[tuple[str, Callable]]:
    """The checks of one unit id, answering as manifest entry `unit` says."""
    checks: list[tuple[str, Callable]] = [
        ("identification", lambda: check_identification(device, unit_id, unit["identification"])),
    ]
    ident = unit["identification"]
    if ident is not None and ident["conformity_level"] & 0x80:
        checks.append(("individual access", lambda: check_individual_access(device, unit_id, ident)))
    checks.append(("server id", lambda: check_server_id(device, unit_id, unit["server_id"])))
    for table in TABLES:
        checks.append((table, lambda table=table: check_table(device, unit_id, table, unit[table])))
    return checks


async def check_gateway_exception(device: ModbusDevice, unit_id: int, code: int) -> str:
    requests = [
        ("FC03", "read_holding_registers", (0,), {"count": 1}),
        ("FC43", "read_device_information", (), {"read_code": 0x01, "object_id": 0}),
        ("FC11", "report_device_id", (), {}),
    ]
    for name, method, args, kwargs in requests:
        response = await device.call(f"{name} to unit {unit_id}", method, *args,
                                     device_id=unit_id, **kwargs)
        expect_exception(response, code, f"{name} to unit {unit_id}")
    return f"FC03/FC43/FC11 -> exception {code:#04x}, so not a device"


async def check_answers_like(device: ModbusDevice, unit_id: int, first: dict) -> str:
    """The values (not just the counts) read from `unit_id` are those of the first unit."""
    compared = []
    for table in TABLES:
        count = first[table]
        if count:
            mine = await read_table(device, unit_id, table, count)
            theirs = await read_table(device, first["unit_id"], table, count)
            expect(mine == theirs, f"{table} {mine} != unit {first['unit_id']}'s {theirs}")
            compared.append(f"{count} {table.replace('_', ' ')}")
    expect(bool(compared), f"unit {first['unit_id']} has no data to compare")
    return f"same values as unit {first['unit_id']}: " + ", ".join(compared)


async def check_silent(device: ModbusDevice, unit_id: int) -> str:
    try:
        response = await device.call(f"FC03 to unit {unit_id}", "read_holding_registers", 0,
                                     count=1, device_id=unit_id)
    except CheckFailed:  # bounded() timed out
        return "no answer, as configured"
    except ModbusIOException as error:  # pymodbus gave up waiting first
        if "No response" in str(error):
            return "no answer, as configured"
        raise
    raise CheckFailed(f"expected silence, got {describe(response)}")


async def check_modbus_device(report: Report, device_spec: dict) -> None:
    name = device_spec["name"]
    try:
        device = ModbusDevice(device_spec["address"])
    except CheckFailed as failure:
        report.fail(name, str(failure))
        return
    try:
        if not await report.check(f"{name} connect",
                                  lambda: connect_detail(device, device_spec["address"])):
            return
        for unit in device_spec["units"]:
            for label, run in unit_checks(device, unit["unit_id"], unit):
                await report.check(f"{name} unit {unit['unit_id']} {label}", run)

        listed = {unit["unit_id"] for unit in device_spec["units"]}
        candidates = [*range(OTHER_UNIT_ID, 256), *range(1, OTHER_UNIT_ID)]
        other = next(unit_id for unit_id in candidates if unit_id not in listed)
        policy = device_spec["other_unit_ids"]
        code = device_spec["other_unit_ids_exception"]
        first = device_spec["units"][0]
        if code is not None:
            await report.check(f"{name} unit {other} (not listed)",
                               lambda: check_gateway_exception(device, other, code))
        elif policy == "answer":
            for label, run in unit_checks(device, other, first):
                await report.check(f"{name} unit {other} (not listed, answers as unit "
                                   f"{first['unit_id']}) {label}", run)
            await report.check(f"{name} unit {other} (not listed) values",
                               lambda: check_answers_like(device, other, first))
        elif policy == "ignore":
            await report.check(f"{name} unit {other} (not listed)",
                               lambda: check_silent(device, other))
        else:
            report.fail(f"{name} other unit ids", f"unknown policy {policy!r} in the manifest")
    finally:
        device.close()


async def connect_detail(device: ModbusDevice, address: str) -> str:
    await device.connect()
    return f"TCP {address}"


# --------------------------------------------------------------------------- OPC UA


def mode_name(mode: ua.MessageSecurityMode) -> str:
    return "None" if mode == ua.MessageSecurityMode.None_ else mode.name


class OpcUaServer:
    """State shared by the checks of one OPC UA server."""

    def __init__(self, spec: dict, passwords: dict[str, str], pki: Path) -> None:
        self.spec = spec
        self.name = spec["name"]
        self.url = spec["endpoint_url"]
        parsed = urlparse(self.url)
        require_loopback(parsed.hostname or "")
        self.passwords = passwords
        self.pki = pki
        self.endpoints: list[ua.EndpointDescription] = []

    def new_client(self) -> Client:
        client = Client(self.url, timeout=TIMEOUT - 1)
        client.application_uri = CLIENT_APPLICATION_URI
        client.name = client.description = "i4gauge interop check"
        return client

    async def get_endpoints(self) -> list[ua.EndpointDescription]:
        if not self.endpoints:
            client = self.new_client()
            try:
                self.endpoints = await bounded(client.connect_and_get_server_endpoints(),
                                               "GetEndpoints")
            finally:
                client.disconnect_socket()
        return self.endpoints

    async def client_certificate(self) -> tuple[Path, Path]:
        cert, key = self.pki / "client-cert.der", self.pki / "client-key.pem"
        if not cert.exists():
            await self.new_client().setup_self_signed_certificate(key, cert)
        return cert, key

    def find_endpoint(self, policy_uri: str, mode: ua.MessageSecurityMode) -> ua.EndpointDescription:
        for endpoint in self.endpoints:
            if endpoint.SecurityPolicyUri == policy_uri and endpoint.SecurityMode == mode:
                return endpoint
        raise CheckFailed(f"no {policy_uri.rsplit('#', 1)[-1]}/{mode_name(mode)} endpoint offered")

    async def session_client(self, anonymous: bool) -> tuple[Client, str]:
        """A connected client: anonymous or as the first user; None security when possible."""
        await self.get_endpoints()
        client = self.new_client()
        none_uri = security_policies.SecurityPolicyNone.URI
        if anonymous and any(e.SecurityPolicyUri == none_uri for e in self.endpoints):
            how = "None/None"
        else:
            policy = security_policies.SecurityPolicyBasic256Sha256
            mode = ua.MessageSecurityMode.SignAndEncrypt
            endpoint = self.find_endpoint(policy.URI, mode)
            server_cert = uacrypto.x509_from_der(endpoint.ServerCertificate).public_bytes(Encoding.DER)
            cert, key = await self.client_certificate()
            await client.set_security(policy, str(cert), str(key),
                                      server_certificate=server_cert, mode=mode)
            how = "Basic256Sha256/SignAndEncrypt"
        if anonymous:
            how += ", anonymous"
        else:
            users = self.spec["users"]
            expect(bool(users), "neither anonymous login nor users in the manifest")
            user = users[0]
            expect(user in self.passwords, f"no password for user {user!r} (use --password {user}=...)")
            client.set_user(user)
            client.set_password(self.passwords[user])
            how += f", user {user!r}"
        try:
            await bounded(client.connect(), f"connect ({how})")
        except BaseException:
            client.disconnect_socket()  # connect() does not clean up when cancelled
            raise
        return client, how


async def check_endpoints(server: OpcUaServer) -> str:
    endpoints = await server.get_endpoints()
    expect(bool(endpoints), "GetEndpoints returned no endpoints")
    got: dict[tuple[str, str], set[str]] = {}
    for endpoint in endpoints:
        key = (endpoint.SecurityPolicyUri, mode_name(endpoint.SecurityMode))
        tokens = got.setdefault(key, set())
        for token in endpoint.UserIdentityTokens or []:
            tokens.add(TOKEN_TYPE_NAMES.get(token.TokenType, str(token.TokenType)))
    wanted = {(e["security_policy_uri"], e["security_mode"]): set(e["user_tokens"])
              for e in server.spec["endpoints"]}
    expect(set(got) == set(wanted),
           f"endpoints {sorted(got)} != manifest {sorted(wanted)}")
    for key, tokens in wanted.items():
        expect(got[key] == tokens,
               f"endpoint {key[0].rsplit('#', 1)[-1]}/{key[1]} user tokens {sorted(got[key])} "
               f"!= manifest {sorted(tokens)}")
    urls = {endpoint.EndpointUrl for endpoint in endpoints}
    expect(urls == {server.url}, f"endpoint URLs {sorted(urls)} != manifest {server.url!r}")
    summary = ", ".join(f"{p.rsplit('#', 1)[-1]}/{m} [{', '.join(sorted(got[(p, m)]))}]"
                        for p, m in sorted(got))
    return f"GetEndpoints {len(endpoints)} endpoints: {summary}"


async def check_application(server: OpcUaServer) -> str:
    endpoints = await server.get_endpoints()
    spec = server.spec
    for endpoint in endpoints:
        app = endpoint.Server
        got = (app.ApplicationName.Text, app.ApplicationUri, app.ProductUri)
        want = (spec["application_name"], spec["application_uri"], spec["product_uri"])
        expect(got == want, f"application (name, uri, product uri) {got} != manifest {want}")
    return f"application {spec['application_name']!r} {spec['application_uri']} {spec['product_uri']}"


async def check_build_info(client: Client, server: OpcUaServer) -> str:
    ids = ua.ObjectIds
    fields = [
        ("manufacturer_name", ids.Server_ServerStatus_BuildInfo_ManufacturerName),
        ("product_name", ids.Server_ServerStatus_BuildInfo_ProductName),
        ("software_version", ids.Server_ServerStatus_BuildInfo_SoftwareVersion),
        ("build_number", ids.Server_ServerStatus_BuildInfo_BuildNumber),
    ]
    nodes = [client.get_node(ua.NodeId(node_id, 0)) for _, node_id in fields]
    values = await bounded(client.read_values(nodes), "read BuildInfo")
    got = {field: value for (field, _), value in zip(fields, values)}
    want = server.spec["build_info"]
    differences = [f"{field} {got[field]!r}, manifest {want[field]!r}"
                   for field in want if got.get(field) != want[field]]
    expect(not differences, "BuildInfo differs: " + "; ".join(differences))
    return f"BuildInfo {want['manufacturer_name']} / {want['product_name']} " \
           f"{want['software_version']} ({want['build_number']})"


async def check_namespaces(client: Client, server: OpcUaServer, state: dict) -> str:
    array = await bounded(client.get_namespace_array(), "read NamespaceArray")
    state["namespaces"] = array  # the later checks need it even if this one fails
    wanted = server.spec["namespaces"]
    missing = [uri for uri in wanted if uri not in array]
    expect(not missing, f"NamespaceArray {array} lacks {missing}")
    indexes = [array.index(uri) for uri in wanted]
    expect(indexes == sorted(indexes),
           f"NamespaceArray {array} does not list {wanted} in the manifest's order")
    return "NamespaceArray contains, in order, " + ", ".join(
        f"{index}={uri}" for index, uri in zip(indexes, wanted))


async def browse(node: Any, what: str) -> list[ua.ReferenceDescription]:
    """Forward hierarchical references of a node (Browse + BrowseNext)."""
    return await bounded(node.get_children_descriptions(), f"browse {what}")


async def browse_child(client: Client, node: Any, namespace: int, name: str, path: str) -> Any:
    for reference in await browse(node, path):
        if reference.BrowseName == ua.QualifiedName(name, namespace):
            return client.get_node(reference.NodeId)
    raise CheckFailed(f"{path} has no child {namespace}:{name}")


def text_of(value: Any) -> Any:
    return value.Text if isinstance(value, ua.LocalizedText) else value


async def check_machine(client: Client, server: OpcUaServer, namespaces: list[str],
                        machine: dict) -> str:
    # The simulator puts DeviceSet in the DI namespace when the server declares it.
    uri = DI_NAMESPACE if DI_NAMESPACE in server.spec["namespaces"] else server.spec["namespaces"][0]
    expect(uri in namespaces, f"namespace {uri} not in the NamespaceArray")
    ns = namespaces.index(uri)
    objects = client.nodes.objects
    device_set = await browse_child(client, objects, ns, "DeviceSet", "Objects")
    node = await browse_child(client, device_set, ns, machine["name"], "Objects/DeviceSet")
    path = f"Objects/DeviceSet/{machine['name']}"
    properties = [("Manufacturer", "manufacturer"), ("Model", "model"),
                  ("SerialNumber", "serial_number"), ("SoftwareRevision", "software_revision")]
    got, types = {}, set()
    for browse_name, field in properties:
        prop = await browse_child(client, node, ns, browse_name, path)
        value = await bounded(prop.read_value(), f"read {path}/{browse_name}")
        types.add(type(value).__name__)
        got[field] = text_of(value)
    want = {field: machine[field] for _, field in properties}
    differences = [f"{field} {got[field]!r}, manifest {want[field]!r}"
                   for field in want if got[field] != want[field]]
    expect(not differences, f"{path} differs: " + "; ".join(differences))
    return (f"{path} (ns {ns} = {uri}): {want['manufacturer']} {want['model']} "
            f"SN {want['serial_number']} SW {want['software_revision']} "
            f"[{'/'.join(sorted(types))}]")


async def count_variables(client: Client, node: Any, path: str, depth: int = 0) -> tuple[int, int]:
    """(variables, objects) below `node`, following hierarchical references.

    Variables are counted but not descended into (their properties are not
    process variables); objects (folders) are descended into, at most 4 deep.
    """
    variables = objects = 0
    for reference in await browse(node, path):
        if reference.NodeClass == ua.NodeClass.Variable:
            variables += 1
        elif reference.NodeClass == ua.NodeClass.Object and depth < 4:
            objects += 1
            sub_variables, sub_objects = await count_variables(
                client, client.get_node(reference.NodeId),
                f"{path}/{reference.BrowseName.Name}", depth + 1)
            variables += sub_variables
            objects += sub_objects
    return variables, objects


async def check_variables(client: Client, server: OpcUaServer, namespaces: list[str]) -> str:
    own = server.spec["namespaces"][0]
    expect(own in namespaces, f"namespace {own} not in the NamespaceArray")
    ns = namespaces.index(own)
    plant = await browse_child(client, client.nodes.objects, ns, "Plant", "Objects")
    variables, folders = await count_variables(client, plant, "Objects/Plant")
    want = server.spec["variables"]
    expect(variables == want, f"{variables} variables under Objects/Plant, manifest says {want}")
    return f"{variables} variables in {folders} folders under Objects/Plant"


async def check_anonymous_refused(server: OpcUaServer) -> str:
    try:
        client, how = await server.session_client(anonymous=True)
    except ua.UaStatusCodeError as error:
        return f"anonymous session refused: {type(error).__name__}"
    await bounded(client.disconnect(), "disconnect")
    raise CheckFailed(f"anonymous session accepted ({how}), manifest says anonymous=false")


async def check_opcua_server(report: Report, spec: dict, passwords: dict[str, str],
                             pki: Path) -> None:
    name = spec["name"]
    try:
        server = OpcUaServer(spec, passwords, pki)
    except CheckFailed as failure:
        report.fail(name, str(failure))
        return
    await report.check(f"{name} endpoints", lambda: check_endpoints(server))
    if not server.endpoints:
        return  # GetEndpoints itself failed: nothing else can work
    await report.check(f"{name} application", lambda: check_application(server))

    state: dict[str, Any] = {}

    async def open_session() -> str:
        state["client"], how = await server.session_client(anonymous=spec["anonymous"])
        return f"session {how}"

    if not spec["anonymous"]:
        await report.check(f"{name} anonymous", lambda: check_anonymous_refused(server))
    if not await report.check(f"{name} session", open_session):
        return
    client: Client = state["client"]
    try:
        await report.check(f"{name} build info", lambda: check_build_info(client, server))
        await report.check(f"{name} namespaces", lambda: check_namespaces(client, server, state))
        if "namespaces" in state:
            namespaces = state["namespaces"]
            for machine in spec["machines"]:
                await report.check(f"{name} machine {machine['name']}",
                                   lambda m=machine: check_machine(client, server, namespaces, m))
            if spec["variables"] <= MAX_VARIABLES_TO_COUNT:
                await report.check(f"{name} variables",
                                   lambda: check_variables(client, server, namespaces))
            else:
                report.skip(f"{name} variables",
                            f"{spec['variables']} > {MAX_VARIABLES_TO_COUNT}, not counted")
    finally:
        try:
            await bounded(client.disconnect(), "disconnect")
        except Exception:  # noqa: BLE001 -- the checks are done; a messy close is not a failure
            client.disconnect_socket()


# --------------------------------------------------------------------------- main


def parse_passwords(values: list[str]) -> dict[str, str]:
    passwords = {}
    for value in values:
        for pair in value.split(","):
            user, sep, password = pair.partition("=")
            if not sep or not user:
                raise argparse.ArgumentTypeError(f"--password expects USER=PASS, got {pair!r}")
            passwords[user] = password
    return passwords


async def run(manifest: dict, passwords: dict[str, str]) -> Report:
    report = Report()
    version = manifest.get("manifest_version")
    if version != 1:
        report.fail("manifest", f"manifest_version {version!r}, this checker knows version 1")
        return report
    print(f"plant {manifest['plant']!r}: {len(manifest['devices'])} devices", flush=True)
    with tempfile.TemporaryDirectory(prefix="i4gauge-interop-") as pki:
        for device in manifest["devices"]:
            name = device.get("name", "?")
            protocol = device.get("protocol")
            try:
                if protocol == "modbus-tcp":
                    await check_modbus_device(report, device)
                elif protocol == "opcua":
                    await check_opcua_server(report, device, passwords, Path(pki))
                else:
                    report.fail(name, f"unknown protocol {protocol!r}")
            except (KeyError, TypeError, ValueError, IndexError, StopIteration) as error:
                # The manifest entry itself is malformed: that is a simulator bug too.
                report.fail(name, f"malformed manifest entry: {type(error).__name__}: {error}")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", type=Path, help="JSON printed by `i4gauge sim --json`")
    parser.add_argument("--password", action="append", metavar="USER=PASS[,USER=PASS...]",
                        help=f"OPC UA passwords by user name (default: {DEFAULT_PASSWORDS})")
    parser.add_argument("--verbose", action="store_true", help="show library log messages")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL,
                        stream=sys.stderr)
    try:
        passwords = parse_passwords(args.password or [DEFAULT_PASSWORDS])
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    try:
        manifest = json.loads(args.manifest.read_text())
    except (OSError, ValueError) as error:
        parser.error(f"cannot read the manifest {args.manifest}: {error}")
    report = asyncio.run(run(manifest, passwords))
    print(f"{report.passed} passed, {report.failed} failed", flush=True)
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
