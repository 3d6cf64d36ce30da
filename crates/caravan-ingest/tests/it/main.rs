//! Integration tests of caravan-ingest: one binary, one module per syntax.
mod corridor;
mod cusdec;
mod pipeline;
mod wco_xml;
