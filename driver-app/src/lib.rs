//! The Todoke driver app as a library: a typed client of the driver API (`api`), the app's own store
//! with its queue (`store`), the sync engine that drains the queue exactly once (`sync`), the proof
//! rules checked at the door (`proof`), the day as the phone knows it (`day`), track replay (`track`),
//! and the program (`cli`).

pub mod api;
pub mod cli;
pub mod day;
pub mod proof;
pub mod store;
pub mod sync;
pub mod track;
