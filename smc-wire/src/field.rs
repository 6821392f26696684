//! Byte ranges used by every `mod field` offset table (smoltcp `wire/mod.rs` habit).
//!
//! Each message file declares its offsets once, in a private `mod field`, built from these two
//! aliases; accessors read through those constants and never through bare numbers.

/// A fixed byte range inside a message.
pub type Field = core::ops::Range<usize>;
/// Everything from an offset to the end of the buffer.
pub type Rest = core::ops::RangeFrom<usize>;
