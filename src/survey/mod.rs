//! The survey: many enterprises' assessments turned into population statistics
//! that never expose a single plant.
//!
//! `synth` generates realistic synthetic populations for tests, benchmarks and
//! the demo.

pub mod synth;
