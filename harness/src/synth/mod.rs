//! The embedded synthetic benchmark (SPEC §3).
