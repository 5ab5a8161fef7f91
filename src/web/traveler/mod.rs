//! Pages for travelers: the tour page with its calendar, and booking a departure (the
//! manage-booking page and the widget come next, on the same foundation).

pub mod booking;
pub mod calendar;
pub mod failure;
pub mod hold;
pub mod policy;
pub mod tour;
