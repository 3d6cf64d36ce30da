//! The assistance workflow end to end on two in-memory nodes joined by a loopback (no
//! network): the reference story, the refusals of the issue, tampered evidence, duplicate
//! delivery, and the property tests over random action sequences and concurrent re-markings.

mod governance;
mod loopback;
mod prop;
mod prop_governance;
mod prop_marking;
mod story;
