//! CPU ops of the forward pass.
