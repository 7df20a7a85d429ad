//! Synthetic assessment populations (being written).
