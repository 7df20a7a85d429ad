//! Discovery: finds Modbus TCP and OPC UA devices on the addresses the user
//! named, safely (read-only, rate-limited, bounded in time), and returns
//! [`crate::evidence::Evidence`] plus diagnostics. Scanners never print.

pub mod classify;
pub mod modbus;
pub mod opcua;
pub mod pacing;
pub mod scan;
pub mod targets;
