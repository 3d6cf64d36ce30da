//! Integration tests of `caravan-assistance`, one binary so the linker runs once.

mod agreement;
mod codes;
mod cost;
mod evidence;
mod fixtures;
mod hitnohit;
mod intake;
mod lifecycle;
mod marking;
mod retention;
mod roles;
mod stats;
mod usecontrol;
