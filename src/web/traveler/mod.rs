//! Pages for travelers: the tour page with its calendar, booking a departure (or joining a
//! sold-out one's waiting line), and the manage-booking page every message links to (the widget
//! comes next, on the same foundation).

pub mod booking;
pub mod calendar;
pub mod failure;
pub mod hold;
pub mod manage;
pub mod policy;
pub mod tour;
pub mod waitlist;
