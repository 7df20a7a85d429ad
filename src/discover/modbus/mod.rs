//! Modbus TCP discovery: the wire format in [`frame`], the prober on top of it.

pub mod connection;
pub mod frame;
pub mod identify;
