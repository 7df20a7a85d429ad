// A third-party OPC UA server built with node-opcua (npm, pinned in
// package.json / package-lock.json), for `tests/interop_opcua.rs`: discovery
// must report someone else's OPC UA stack exactly as it is configured.
//
// Usage: node node_opcua_server.mjs [--port N] [--secure-only] [--pki DIR]
//                                   [--folders N] [--per-folder N]
// (--folders 100 --per-folder 1000 gives the 100,000-variable address space
// that benches/browse.rs measures with I4GAUGE_BROWSE_URL.)
//
// Listens on 127.0.0.1 only (port 0, the default, picks a free port) and
// serves:
//
// - endpoints: SecurityPolicy None (mode None) and Basic256Sha256 Sign and
//   SignAndEncrypt; with --secure-only the Basic256Sha256 ones only;
// - logins: anonymous and user name/password (USER/PASSWORD below), or with
//   --secure-only user name/password only;
// - a self-signed server certificate that node-opcua's own PKI creates on
//   first start, in --pki DIR (the test passes a temporary directory it
//   removes) or else in a fresh temporary directory removed on exit; never the
//   current directory. Unknown client certificates are accepted (as an
//   integrator does during commissioning), so that a session over a secured
//   endpoint is possible;
// - BuildInfo as in BUILD_INFO, the DI and Machinery companion nodesets that
//   node-opcua ships (loaded, not just registered), and a few hundred
//   variables in folders of the server's own namespace.
//
// The first line on stdout is the ready line, one JSON object: the port and
// what discovery should find (endpoints as the server itself lists them, build
// info, namespaces, user and password). After it, one JSON line per event, so
// that the test can check what a scan did to the server:
//
//   {"event": "request", "service": "ReadRequest"}      every service request
//   {"event": "login", "token": "anonymous"|"username", "user": ..., "accepted": bool}
//
// node-opcua quirks, stated in the ready line as the server lists them:
// - the None endpoint also offers a user name token (the password encrypted
//   with Basic256Sha256), and the secured endpoints also offer anonymous login
//   and X509 certificate login unless `allowAnonymous: false`;
// - with SecurityMode None not offered, node-opcua still accepts a None
//   channel for discovery (a "restricted" endpoint, not listed by
//   GetEndpoints).

import fs from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import process from "node:process";

import {
    DataType,
    MessageSecurityMode,
    OPCUACertificateManager,
    OPCUAServer,
    SecurityPolicy,
    UserTokenType,
    Variant,
    nodesets,
} from "node-opcua";

const require = createRequire(import.meta.url);
const { version } = require("node-opcua/package.json");

// node-opcua logs its warnings with console.log: keep stdout for our JSON lines.
console.log = (...args) => console.error(...args);

const HOST = "127.0.0.1";
const USER = "operator";
const PASSWORD = "node-opcua-interop-pw";
const APPLICATION_URI = "urn:i4gauge:interop:node-opcua-server";
const BUILD_INFO = {
    product_uri: "urn:i4gauge:interop:node-opcua-product",
    manufacturer_name: "Ural Machine Works",
    product_name: "node-opcua Interop Press Line",
    software_version: "7.1.0",
    build_number: "7100-rc3",
};
const FOLDERS = 10;
const VARIABLES_PER_FOLDER = 30;

function parseArgs(argv) {
    const args = { port: 0, secureOnly: false, pki: null, folders: FOLDERS, perFolder: VARIABLES_PER_FOLDER };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--port") args.port = Number(argv[++i]);
        else if (argv[i] === "--secure-only") args.secureOnly = true;
        else if (argv[i] === "--pki") args.pki = argv[++i];
        else if (argv[i] === "--folders") args.folders = Number(argv[++i]);
        else if (argv[i] === "--per-folder") args.perFolder = Number(argv[++i]);
        else throw new Error(`unknown argument ${argv[i]}`);
    }
    return args;
}

/** One JSON line on stdout: the ready line, then events. */
function line(fields) {
    process.stdout.write(`${JSON.stringify(fields)}\n`);
}

/** A free port on 127.0.0.1 (node-opcua builds endpoint URLs from the configured port). */
function freePort() {
    return new Promise((resolve, reject) => {
        const probe = net.createServer();
        probe.on("error", reject);
        probe.listen(0, HOST, () => {
            const { port } = probe.address();
            probe.close(() => resolve(port));
        });
    });
}

const MODE_NAMES = {
    [MessageSecurityMode.None]: "None",
    [MessageSecurityMode.Sign]: "Sign",
    [MessageSecurityMode.SignAndEncrypt]: "SignAndEncrypt",
};
const TOKEN_NAMES = {
    [UserTokenType.Anonymous]: "anonymous",
    [UserTokenType.UserName]: "username",
    [UserTokenType.Certificate]: "certificate",
    [UserTokenType.IssuedToken]: "issued-token",
};

function populate(addressSpace, folders, perFolder) {
    const namespace = addressSpace.getOwnNamespace();
    const plant = namespace.addFolder(addressSpace.rootFolder.objects, { browseName: "PressLine" });
    let count = 0;
    for (let f = 0; f < folders; f++) {
        const folder = namespace.addFolder(plant, { browseName: `Press${f}` });
        for (let v = 0; v < perFolder; v++) {
            const [dataType, value] =
                v % 3 === 0
                    ? [DataType.Double, (f * 100 + v) / 10]
                    : v % 3 === 1
                      ? [DataType.Int32, f * 100 + v]
                      : [DataType.Boolean, v % 2 === 0];
            namespace.addVariable({
                componentOf: folder,
                browseName: `Press${f}.Tag${String(v).padStart(3, "0")}`,
                dataType,
                value: new Variant({ dataType, value }),
            });
            count++;
        }
    }
    return count;
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    let pkiRoot = args.pki;
    if (!pkiRoot) {
        pkiRoot = fs.mkdtempSync(path.join(os.tmpdir(), "i4gauge-node-opcua-pki-"));
        const cleanUp = () => fs.rmSync(pkiRoot, { recursive: true, force: true });
        process.on("exit", cleanUp);
        for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
    }
    const serverCertificateManager = new OPCUACertificateManager({
        rootFolder: path.join(pkiRoot, "server"),
        automaticallyAcceptUnknownCertificate: true,
    });
    const userCertificateManager = new OPCUACertificateManager({
        rootFolder: path.join(pkiRoot, "user"),
        automaticallyAcceptUnknownCertificate: false,
    });
    const port = args.port || (await freePort());

    const server = new OPCUAServer({
        host: HOST,
        hostname: HOST,
        port,
        nodeset_filename: [nodesets.standard, nodesets.di, nodesets.ia, nodesets.machinery],
        serverCertificateManager,
        userCertificateManager,
        serverInfo: {
            applicationUri: APPLICATION_URI,
            productUri: BUILD_INFO.product_uri,
            applicationName: { text: "node-opcua interop server", locale: "en" },
        },
        buildInfo: {
            productUri: BUILD_INFO.product_uri,
            manufacturerName: BUILD_INFO.manufacturer_name,
            productName: BUILD_INFO.product_name,
            softwareVersion: BUILD_INFO.software_version,
            buildNumber: BUILD_INFO.build_number,
            buildDate: new Date("2024-10-01T00:00:00Z"),
        },
        securityPolicies: args.secureOnly
            ? [SecurityPolicy.Basic256Sha256]
            : [SecurityPolicy.None, SecurityPolicy.Basic256Sha256],
        securityModes: args.secureOnly
            ? [MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt]
            : [MessageSecurityMode.None, MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt],
        allowAnonymous: !args.secureOnly,
        userManager: {
            isValidUser(username, password) {
                const accepted = username === USER && password === PASSWORD;
                line({ event: "login", token: "username", user: username, accepted });
                return accepted;
            },
        },
    });
    server.on("request", (request) => {
        line({ event: "request", service: request.constructor.name });
    });
    server.on("session_activated", (session, token) => {
        if (token?.constructor?.name === "AnonymousIdentityToken") {
            line({ event: "login", token: "anonymous", user: null, accepted: true });
        }
    });

    await server.initialize();
    const variables = populate(server.engine.addressSpace, args.folders, args.perFolder);
    await server.start();

    const endpoints = server.endpoints
        .flatMap((endpoint) => endpoint.endpointDescriptions())
        // The "restricted" None endpoint of --secure-only is not listed by GetEndpoints.
        .filter((description) => !description.restricted)
        .map((description) => ({
            url: description.endpointUrl,
            security_policy_uri: description.securityPolicyUri,
            security_mode: MODE_NAMES[description.securityMode],
            user_token_types: (description.userIdentityTokens ?? []).map((t) => TOKEN_NAMES[t.tokenType]),
        }));
    const namespaces = server.engine.addressSpace.getNamespaceArray().map((ns) => ns.namespaceUri);
    line({
        server: "node-opcua",
        version,
        mode: args.secureOnly ? "secure-only" : "open",
        port,
        application_uri: APPLICATION_URI,
        endpoints,
        build_info: BUILD_INFO,
        namespaces,
        companion_namespaces: ["http://opcfoundation.org/UA/DI/", "http://opcfoundation.org/UA/Machinery/"],
        variables,
        user: USER,
        password: PASSWORD,
    });
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
