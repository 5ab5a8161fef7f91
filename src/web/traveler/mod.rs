//! Pages for travelers: the tour page with its calendar, and the manage-booking page every
//! message links to (booking steps and the widget come next, on the same foundation).

pub mod calendar;
pub mod manage;
pub mod policy;
pub mod tour;
