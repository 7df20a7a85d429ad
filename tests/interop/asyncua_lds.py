"""A Local Discovery Server for tests/interop_opcua.rs, built on stock asyncua
(PyPI, pinned in requirements.txt): asyncua keeps the servers registered with
it and reports them in FindServers, as an LDS does.

    python asyncua_lds.py [--port N] --register URI URL[,URL...] [--register ...]

Listens on 127.0.0.1 only (port 0, the default, picks a free port), with one
endpoint (SecurityPolicy None, anonymous), as a DiscoveryServer application.
Each --register adds a registered server (ApplicationUri URI, its discovery
URLs) through asyncua's own RegisterServer handling, exactly as if that server
had called RegisterServer. Nothing here contacts the registered URLs.

The first line on stdout is the ready line, one JSON object: the port, the
LDS's own application URI, and the registered servers. After it, one JSON line
per service request, flushed at once:

    {"event": "request", "service": "FindServersRequest"}
"""

import argparse
import asyncio
import json
import socket
import sys

from asyncua import Server, ua
from asyncua.server import uaprocessor

HOST = "127.0.0.1"
APPLICATION_URI = "urn:i4gauge:interop:asyncua-lds"


def log_requests():
    original = uaprocessor.UaProcessor._process_message

    async def process_message(self, typeid, requesthdr, seqhdr, body):
        name = ua.ObjectIdNames.get(typeid.Identifier, str(typeid)) if typeid.NamespaceIndex == 0 else str(typeid)
        print(json.dumps({"event": "request", "service": name.removesuffix("_Encoding_DefaultBinary")}), flush=True)
        return await original(self, typeid, requesthdr, seqhdr, body)

    uaprocessor.UaProcessor._process_message = process_message


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--register", nargs=2, action="append", default=[], metavar=("URI", "URLS"))
    args = parser.parse_args()
    port = args.port or free_port()

    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://{HOST}:{port}/")
    server.set_server_name("asyncua interop LDS")
    server.application_type = ua.ApplicationType.DiscoveryServer
    await server.set_application_uri(APPLICATION_URI)
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])

    registered = []
    for uri, urls in args.register:
        record = ua.RegisteredServer()
        record.ServerUri = uri
        record.ProductUri = f"{uri}:product"
        record.ServerNames = [ua.LocalizedText(uri.rsplit(":", 1)[-1])]
        record.ServerType = ua.ApplicationType.Server
        record.DiscoveryUrls = urls.split(",")
        record.IsOnline = True
        server.iserver.register_server(record)
        registered.append({"application_uri": uri, "discovery_urls": record.DiscoveryUrls})

    log_requests()
    async with server:
        print(
            json.dumps(
                {
                    "server": "asyncua-lds",
                    "mode": "lds",
                    "port": port,
                    "application_uri": APPLICATION_URI,
                    "registered": registered,
                }
            ),
            flush=True,
        )
        while True:
            await asyncio.sleep(3600)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
