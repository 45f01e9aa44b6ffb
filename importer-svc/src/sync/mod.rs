//! The sync engine and what it talks to.

pub mod destination;
