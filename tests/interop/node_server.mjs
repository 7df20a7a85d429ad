// A Modbus TCP server built with modbus-serial's ServerTCP (npm, pinned in
// package.json / package-lock.json), for `tests/interop_servers.rs`: discovery
// must identify devices served by someone else's Modbus stack exactly as they
// are configured, and cope with what that stack cannot do.
//
// Usage: node node_server.mjs [--port N] [--mode plc|gateway|noid]
//
// Binds 127.0.0.1 and prints one JSON line on stdout when it listens:
// {"port": N, "mode": ..., "units": {...}, ...} with what discovery should find.
// Runs until killed.
//
// Everything here goes through modbus-serial's documented "vector" API; what
// each mode shows about the library:
//
// plc      A PLC answering every unit id (ServerTCP's default unitID 255 means
//          "all"): registers, coils and FC 43/14 through the
//          `readDeviceIdentification(unitID)` hook, with long private objects
//          so that the identification is split with "more follows".
// gateway  A TCP/RTU gateway: the hooks look at the unit id; the gateway itself
//          is unit 255, a meter is unit 3 and a device without identification
//          (FC 43 → exception 0x01) is unit 4; every other unit id gets
//          exception 0x0B (gateway target failed to respond) from every hook.
// noid     A plain device without identification: no readDeviceIdentification
//          hook (FC 43 → exception 0x01), holding/input registers only, and
//          ServerTCP's `unitID: 1` option, which makes the server ignore
//          (never answer) requests to any other unit id.
//
// In every mode FC 17 (Report Server ID) gets exception 0x01: modbus-serial
// 8.0.25 implements it for ServerSerial only; ServerTCP has no case for it,
// even when the vector has `reportServerID`.

import { createRequire } from "node:module";
import net from "node:net";
import process from "node:process";

import ModbusRTU from "modbus-serial";

const require = createRequire(import.meta.url);
const { version } = require("modbus-serial/package.json");
const { ServerTCP } = ModbusRTU;

function parseArgs(argv) {
    const args = { port: 0, mode: "plc" };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--port") args.port = Number(argv[++i]);
        else if (argv[i] === "--mode") args.mode = argv[++i];
        else throw new Error(`unknown argument ${argv[i]}`);
    }
    if (!["plc", "gateway", "noid"].includes(args.mode)) {
        throw new Error(`unknown mode ${args.mode}`);
    }
    return args;
}

// Object ids as numbers; values are ASCII (modbus-serial sizes objects by
// JavaScript string length, so non-ASCII text would be mis-framed).
const PLC_IDENTITY = {
    0x00: "Node Interop Automation",
    0x01: "NI-PLC-8",
    0x02: "8.0.25",
    0x03: "https://example.invalid/node-interop",
    0x04: "Node Interop PLC",
    0x05: "NI-PLC-8-ETH",
    0x06: "press line 2",
    0x80: "serial NI-" + "8".repeat(70),
    0x81: "build " + "c".repeat(70),
    0x82: "options " + "d".repeat(60),
};

const GATEWAY_IDENTITY = {
    0x00: "Node Interop Automation",
    0x01: "NI-GW-2",
    0x02: "1.1",
    0x04: "Serial Gateway 2-port",
    0x05: "NI-GW-2-485",
};

const METER_IDENTITY = {
    0x00: "Wattwerk",
    0x01: "WW-PM5",
    0x02: "2.3.4",
    0x04: "Power Analyzer PM5",
    0x05: "WW-PM5-RS485",
};

function registerValues(unit) {
    return { holding: [100 + unit, 200 + unit, 300 + unit], input: [400 + unit, 500 + unit] };
}

function modbusError(code, msg) {
    return Object.assign(new Error(msg), { modbusErrorCode: code });
}

const ILLEGAL_FUNCTION = 0x01;
const ILLEGAL_ADDRESS = 0x02;
const GATEWAY_TARGET_FAILED = 0x0b;

/** A vector over `units`: unit id → {identity|null, registers|null, bits|null}. */
function vectorFor(units, { everyUnit, withIdentification }) {
    const unitOf = (unitID) => {
        const unit = everyUnit ? units["*"] : units[unitID];
        if (!unit) throw modbusError(GATEWAY_TARGET_FAILED, `no device at unit ${unitID}`);
        return unit;
    };
    const register = (table) => async (addr, unitID) => {
        const values = unitOf(unitID).registers?.[table];
        if (!values || addr >= values.length) throw modbusError(ILLEGAL_ADDRESS, "no such register");
        return values[addr];
    };
    const bit = (table) => async (addr, unitID) => {
        const values = unitOf(unitID).bits?.[table];
        if (!values || addr >= values.length) throw modbusError(ILLEGAL_ADDRESS, "no such bit");
        return values[addr];
    };
    const vector = {
        getHoldingRegister: register("holding"),
        getInputRegister: register("input"),
        getCoil: bit("coils"),
        getDiscreteInput: bit("discrete"),
        // Never called by ServerTCP 8.0.25 (see above); kept to show that.
        reportServerID: async (unitID) => ({ id: unitID, running: true }),
    };
    if (withIdentification) {
        vector.readDeviceIdentification = async (unitID) => {
            const { identity } = unitOf(unitID);
            if (!identity) throw modbusError(ILLEGAL_FUNCTION, "no identification");
            return identity;
        };
    }
    return vector;
}

function freePort() {
    return new Promise((resolve, reject) => {
        const probe = net.createServer();
        probe.once("error", reject);
        probe.listen({ port: 0, host: "127.0.0.1" }, () => {
            const { port } = probe.address();
            probe.close(() => resolve(port));
        });
    });
}

function listen(vector, options) {
    return new Promise((resolve, reject) => {
        const server = new ServerTCP(vector, options);
        server.once("initialized", () => resolve(server));
        server.once("serverError", reject);
        // Errors of single connections (a client resetting) must not kill the server.
        server.on("socketError", () => {});
        server.on("error", () => {});
    });
}

function expected(identity) {
    if (!identity) return { objects: null };
    return {
        objects: Object.fromEntries(
            Object.entries(identity).map(([id, value]) => [String(Number(id)), value]),
        ),
    };
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    let units;
    let options = {};
    let withIdentification = true;
    let everyUnit = false;
    if (args.mode === "plc") {
        everyUnit = true;
        units = {
            "*": {
                identity: PLC_IDENTITY,
                registers: registerValues(1),
                bits: { coils: [true, false, true], discrete: [false, true] },
            },
        };
    } else if (args.mode === "gateway") {
        units = {
            255: { identity: GATEWAY_IDENTITY, registers: null, bits: null },
            3: { identity: METER_IDENTITY, registers: registerValues(3), bits: null },
            4: { identity: null, registers: registerValues(4), bits: null },
        };
    } else {
        withIdentification = false;
        options = { unitID: 1 };
        units = { 1: { identity: null, registers: registerValues(1), bits: null } };
    }
    const vector = vectorFor(units, { everyUnit, withIdentification });

    // ServerTCP treats port 0 as "unset" and binds 502: find a free port first,
    // and try again if another process took it in between.
    let server;
    let port = args.port;
    for (let attempt = 0; !server; attempt++) {
        const tryPort = port || (await freePort());
        try {
            server = await listen(vector, { ...options, host: "127.0.0.1", port: tryPort });
            port = tryPort;
        } catch (error) {
            if (args.port || attempt >= 20 || error.code !== "EADDRINUSE") throw error;
        }
    }

    const ready = {
        server: "modbus-serial",
        version,
        port,
        mode: args.mode,
        fc17: "exception 0x01",
        unknown_unit_id: args.mode === "plc" ? "answered" : args.mode === "gateway" ? "exception 0x0b" : "silent",
        units: Object.fromEntries(
            Object.entries(units).map(([unit, u]) => [
                unit,
                { ...expected(u.identity), registers: u.registers, bits: u.bits },
            ]),
        ),
    };
    process.stdout.write(JSON.stringify(ready) + "\n");
    const stop = () => server.close(() => process.exit(0));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}

main().catch((error) => {
    process.stderr.write(`node_server: ${error.stack || error}\n`);
    process.exit(1);
});
