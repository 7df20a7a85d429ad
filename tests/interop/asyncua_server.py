"""A third-party OPC UA server for tests/interop_opcua.rs: stock asyncua (PyPI,
pinned in requirements.txt), configured as an integrator would.

    python asyncua_server.py [--port N] [--secure-only] [--user-cert-dir DIR]

Listens on 127.0.0.1 only (port 0, the default, picks a free port) and
serves:

- endpoints: SecurityPolicy None (mode None) and Basic256Sha256 Sign and
  SignAndEncrypt; with --secure-only the Basic256Sha256 ones only;
- logins: anonymous and user name/password (USER/PASSWORD below), or with
  --secure-only user name/password only; with --user-cert-dir also X509
  certificate login: the server makes a user key pair and certificate in DIR
  (user-cert.pem/.der, user-key.pem, user-key.der as PKCS#8, and a
  stranger-cert.pem/stranger-key.pem pair it does not accept) and accepts
  exactly that user certificate (with a valid signature);
- a self-signed server certificate made with asyncua's cert_gen helpers in a
  temporary directory (never the current one), removed once loaded;
- BuildInfo as in BUILD_INFO, the DI and Machinery companion namespaces plus
  one of its own, and a few hundred variables in folders.

The first line on stdout is the ready line, one JSON object: the port and what
discovery should find (endpoints as the server itself lists them, build info,
namespaces, user and password). After it, one JSON line per event, flushed at
once, so the test can check what a scan did to the server:

    {"event": "request", "service": "ReadRequest"}       every service request
    {"event": "login", "token": "anonymous"|"username"|"certificate", "user": ..., "accepted": bool}

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
from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncua
from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server import uaprocessor
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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


# DER of the user certificate accepted for X509 login (--user-cert-dir), and
# the certificate of the X509 token being checked: asyncua verifies the token's
# signature, then calls get_user at once (no await in between).
USER_CERTIFICATE = None
X509_PRESENTED = None


def accept_x509_tokens(iserver):
    """Wraps asyncua's X509 token check so that get_user knows a certificate
    login from an anonymous one (both reach it with a certificate)."""
    original = iserver.verify_x509_token

    def verify(isession, token, signature):
        global X509_PRESENTED
        try:
            X509_PRESENTED = original(isession, token, signature)
        except Exception:
            event(kind="login", token="certificate", user=None, accepted=False)
            raise
        return X509_PRESENTED

    iserver.verify_x509_token = verify


def make_user_certificate(name: str):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def write_user_certificates(directory: Path) -> bytes:
    """The accepted user's and a stranger's key pairs, in PEM and DER."""
    directory.mkdir(parents=True, exist_ok=True)
    accepted = None
    for prefix, name in [("user", "i4gauge interop user"), ("stranger", "someone else")]:
        key, certificate = make_user_certificate(name)
        der = certificate.public_bytes(serialization.Encoding.DER)
        (directory / f"{prefix}-cert.der").write_bytes(der)
        (directory / f"{prefix}-cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        for encoding, suffix in [(serialization.Encoding.PEM, "pem"), (serialization.Encoding.DER, "der")]:
            (directory / f"{prefix}-key.{suffix}").write_bytes(
                key.private_bytes(encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            )
        accepted = accepted or der
    return accepted


class UserManager:
    """Anonymous (where the server offers it), one user name/password, and
    with --user-cert-dir one user certificate."""

    def get_user(self, iserver, username=None, password=None, certificate=None):
        global X509_PRESENTED
        if X509_PRESENTED is not None:
            presented, X509_PRESENTED = X509_PRESENTED, None
            accepted = presented == USER_CERTIFICATE
            subject = x509.load_der_x509_certificate(presented).subject.rfc4514_string()
            event(kind="login", token="certificate", user=subject, accepted=accepted)
            return User(role=UserRole.User, name=subject) if accepted else None
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
    parser.add_argument("--user-cert-dir", type=Path)
    args = parser.parse_args()
    global USER_CERTIFICATE
    if args.user_cert_dir:
        USER_CERTIFICATE = write_user_certificates(args.user_cert_dir)
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
    tokens = [ua.UserNameIdentityToken]
    if args.user_cert_dir:
        tokens.append(ua.X509IdentityToken)
        accept_x509_tokens(server.iserver)
    if args.secure_only:
        server.set_security_policy(secured)
    else:
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity, *secured])
        tokens.insert(0, ua.AnonymousIdentityToken)
    server.set_identity_tokens(tokens)
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
            "mode": ("secure-only" if args.secure_only else "open") + (" + user certificate" if args.user_cert_dir else ""),
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
