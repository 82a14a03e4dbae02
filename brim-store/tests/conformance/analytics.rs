//! Analytics in SQL.
