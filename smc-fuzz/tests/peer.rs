//! The reference peer against real kernels (issue 7); filled in by the matrix commit.
