//! Pages for travelers: the tour page with its calendar (booking steps, the manage-booking page
//! and the widget come next, on the same foundation).

pub mod calendar;
pub mod policy;
pub mod tour;
