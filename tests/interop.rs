//! Placeholder replaced when the interop harness lands.
