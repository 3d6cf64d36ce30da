//! The assistance workflow end to end on two in-memory nodes joined by a loopback (no
//! network): the reference story, the refusals of the issue, tampered evidence, duplicate
//! delivery, and the property test over random action sequences.

mod governance;
mod loopback;
mod prop;
mod prop_governance;
mod story;
