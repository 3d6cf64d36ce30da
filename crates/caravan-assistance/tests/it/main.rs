//! Integration tests of `caravan-assistance`, one binary so the linker runs once.

mod agreement;
mod fixtures;
mod intake;
mod lifecycle;
mod marking;
mod usecontrol;
