"""A third-party OPC UA server for tests/interop_opcua.rs: stock asyncua (PyPI,
pinned in requirements.txt), configured as an integrator would.

    python asyncua_server.py [--port N] [--secure-only]

Listens on 127.0.0.1 only (port 0, the default, picks a free port) and
serves:

- endpoints: SecurityPolicy None (mode None) and Basic256Sha256 Sign and
  SignAndEncrypt; with --secure-only the Basic256Sha256 ones only;
- logins: anonymous and user name/password (USER/PASSWORD below), or with
  --secure-only user name/password only;
- a self-signed server certificate made with asyncua's cert_gen helpers in a
  temporary directory (never the current one), removed once loaded;
- BuildInfo as in BUILD_INFO, the DI and Machinery companion namespaces plus
  one of its own, and a few hundred variables in folders.

The first line on stdout is the ready line, one JSON object: the port and what
discovery should find (endpoints as the server itself lists them, build info,
namespaces, user and password). After it, one JSON line per event, flushed at
once, so the test can check what a scan did to the server:

    {"event": "request", "service": "ReadRequest"}       every service request
    {"event": "login", "token": "anonymous"|"username", "user": ..., "accepted": bool}

asyncua quirk: identity tokens are a server-wide setting, so every endpoint
lists every accepted token type (anonymous and username appear on the None and
on the secured endpoints alike); the ready line states exactly what is listed.
"""

import argparse
import asyncio
import json
import socket
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import asyncua
from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server import uaprocessor
from cryptography.x509.oid import ExtendedKeyUsageOID

HOST = "127.0.0.1"
USER = "engineer"
PASSWORD = "asyncua-interop-pw"
APPLICATION_URI = "urn:i4gauge:interop:asyncua-server"
OWN_NAMESPACE = "urn:i4gauge:interop:asyncua:plant"
COMPANION_NAMESPACES = [
    "http://opcfoundation.org/UA/DI/",
    "http://opcfoundation.org/UA/Machinery/",
]
BUILD_INFO = {
    "product_uri": "urn:i4gauge:interop:asyncua-product",
    "manufacturer_name": "Irtysh Automation",
    "product_name": "asyncua Interop Line Server",
    "software_version": "3.4.5",
    "build_number": "2024.11.7-b42",
}
FOLDERS = 12
VARIABLES_PER_FOLDER = 25

MODE_NAMES = {
    ua.MessageSecurityMode.None_: "None",
    ua.MessageSecurityMode.Sign: "Sign",
    ua.MessageSecurityMode.SignAndEncrypt: "SignAndEncrypt",
}
TOKEN_NAMES = {
    ua.UserTokenType.Anonymous: "anonymous",
    ua.UserTokenType.UserName: "username",
    ua.UserTokenType.Certificate: "certificate",
    ua.UserTokenType.IssuedToken: "issued-token",
}


def event(**fields):
    print(json.dumps({"event": fields.pop("kind"), **fields}), flush=True)


class UserManager:
    """Anonymous (where the server offers it) and one user name/password."""

    def get_user(self, iserver, username=None, password=None, certificate=None):
        # `certificate` is the client's application certificate (from
        # CreateSession) for every token type; X509 user tokens are not
        # offered here, so no user name means an anonymous token, which asyncua
        # lets through to here only if the server accepts anonymous tokens.
        if username is None:
            event(kind="login", token="anonymous", user=None, accepted=True)
            return User(role=UserRole.User)
        accepted = username == USER and password == PASSWORD
        event(kind="login", token="username", user=username, accepted=accepted)
        return User(role=UserRole.User, name=username) if accepted else None


def log_requests():
    """Reports every service request as an event line (the test checks that
    discovery only reads)."""
    original = uaprocessor.UaProcessor._process_message

    async def process_message(self, typeid, requesthdr, seqhdr, body):
        name = ua.ObjectIdNames.get(typeid.Identifier, str(typeid)) if typeid.NamespaceIndex == 0 else str(typeid)
        event(kind="request", service=name.removesuffix("_Encoding_DefaultBinary"))
        return await original(self, typeid, requesthdr, seqhdr, body)

    uaprocessor.UaProcessor._process_message = process_message


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


async def make_certificate(directory: Path):
    key_file = directory / "server-key.pem"
    cert_file = directory / "server-cert.der"
    await setup_self_signed_certificate(
        key_file,
        cert_file,
        APPLICATION_URI,
        HOST,
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        {
            "countryName": "KZ",
            "organizationName": BUILD_INFO["manufacturer_name"],
            "commonName": "asyncua interop server",
        },
    )
    return key_file, cert_file


async def populate(server: Server, namespace: int) -> int:
    plant = await server.nodes.objects.add_folder(namespace, "Plant")
    count = 0
    for f in range(FOLDERS):
        folder = await plant.add_folder(namespace, f"Cell{f:02}")
        for v in range(VARIABLES_PER_FOLDER):
            if v % 3 == 0:
                value = ua.Variant(float(f * 100 + v) / 10.0, ua.VariantType.Double)
            elif v % 3 == 1:
                value = ua.Variant(f * 100 + v, ua.VariantType.Int32)
            else:
                value = ua.Variant(v % 2 == 0, ua.VariantType.Boolean)
            await folder.add_variable(namespace, f"Cell{f:02}.Tag{v:03}", value)
            count += 1
    return count


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secure-only", action="store_true")
    args = parser.parse_args()
    port = args.port or free_port()

    server = Server(user_manager=UserManager())
    await server.init()
    server.set_endpoint(f"opc.tcp://{HOST}:{port}/")
    server.set_server_name("asyncua interop server")
    # FindServers reports this one, BuildInfo the one given to set_build_info.
    server.product_uri = BUILD_INFO["product_uri"]
    await server.set_application_uri(APPLICATION_URI)
    # The key pair lives on disk only until loaded: the test kills this process,
    # which leaves no chance to clean up later.
    with tempfile.TemporaryDirectory(prefix="i4gauge-asyncua-pki-") as pki:
        key_file, cert_file = await make_certificate(Path(pki))
        await server.load_certificate(str(cert_file))
        await server.load_private_key(str(key_file))
    secured = [
        ua.SecurityPolicyType.Basic256Sha256_Sign,
        ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
    ]
    if args.secure_only:
        server.set_security_policy(secured)
        server.set_security_IDs(["Username"])
    else:
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity, *secured])
        server.set_security_IDs(["Anonymous", "Username"])
    await server.set_build_info(
        BUILD_INFO["product_uri"],
        BUILD_INFO["manufacturer_name"],
        BUILD_INFO["product_name"],
        BUILD_INFO["software_version"],
        BUILD_INFO["build_number"],
        datetime(2024, 11, 7, tzinfo=timezone.utc),
    )
    for uri in COMPANION_NAMESPACES:
        await server.register_namespace(uri)
    own = await server.register_namespace(OWN_NAMESPACE)
    variables = await populate(server, own)

    log_requests()
    async with server:
        endpoints = [
            {
                "url": e.EndpointUrl,
                "security_policy_uri": e.SecurityPolicyUri,
                "security_mode": MODE_NAMES[e.SecurityMode],
                "user_token_types": [TOKEN_NAMES[t.TokenType] for t in e.UserIdentityTokens],
            }
            for e in await server.get_endpoints()
        ]
        namespaces = await server.get_namespace_array()
        ready = {
            "server": "asyncua",
            "version": asyncua.__version__ if hasattr(asyncua, "__version__") else None,
            "mode": "secure-only" if args.secure_only else "open",
            "port": port,
            "application_uri": APPLICATION_URI,
            "endpoints": endpoints,
            "build_info": BUILD_INFO,
            "namespaces": namespaces,
            "companion_namespaces": COMPANION_NAMESPACES,
            "variables": variables,
            "user": USER,
            "password": PASSWORD,
        }
        print(json.dumps(ready), flush=True)
        # Serve until the test kills the process.
        while True:
            await asyncio.sleep(3600)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
