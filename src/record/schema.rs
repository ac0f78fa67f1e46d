//! JSON Schemas for records (work in progress).
