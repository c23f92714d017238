//! The integration tests: one binary, one module per concern.

mod bad_input;
mod cmmi;
mod golden;
mod properties;
mod reprice;
mod rules;
mod scale;
mod support;
mod true_up;
