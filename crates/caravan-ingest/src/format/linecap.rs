//! A reader that refuses physical lines longer than a cap.
//!
//! Line-oriented parsers buffer a whole record before they can judge it, so a 2 GB line
//! would be read into memory before any rule could reject it. Capping lines where the
//! bytes enter keeps memory flat whatever the file holds.

use std::io::{self, Read};

/// The error payload used when a line exceeds the cap; parsers downcast to it to report
/// a specific error rather than a generic IO failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("line {line} is longer than {cap} bytes")]
pub struct LineTooLong {
    /// 1-based number of the offending line.
    pub line: u64,
    /// The cap in bytes.
    pub cap: usize,
}

/// Wraps a reader; fails with [`LineTooLong`] once a line passes `cap` bytes.
pub struct LineCapReader<R> {
    inner: R,
    cap: usize,
    current_len: usize,
    line: u64,
}

impl<R: Read> LineCapReader<R> {
    /// Caps lines of `inner` at `cap` bytes.
    pub fn new(inner: R, cap: usize) -> LineCapReader<R> {
        LineCapReader {
            inner,
            cap,
            current_len: 0,
            line: 1,
        }
    }
}

impl<R: Read> Read for LineCapReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        let mut start = 0;
        for (i, byte) in chunk.iter().enumerate() {
            if *byte == b'\n' {
                if self.current_len + (i - start) > self.cap {
                    return Err(self.too_long());
                }
                self.current_len = 0;
                self.line += 1;
                start = i + 1;
            }
        }
        self.current_len += n - start;
        if self.current_len > self.cap {
            return Err(self.too_long());
        }
        Ok(n)
    }
}

impl<R> LineCapReader<R> {
    fn too_long(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            LineTooLong {
                line: self.line,
                cap: self.cap,
            },
        )
    }
}

/// Finds a [`LineTooLong`] inside an IO error, if that is what it is.
pub fn line_too_long(err: &io::Error) -> Option<LineTooLong> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<LineTooLong>())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_pass_and_long_lines_fail() {
        let data = b"abc\ndefgh\nij".to_vec();
        let mut out = Vec::new();
        LineCapReader::new(&data[..], 5)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);

        let err = LineCapReader::new(&b"abc\nabcdefg\nx"[..], 5).read_to_end(&mut Vec::new());
        let err = err.unwrap_err();
        assert_eq!(line_too_long(&err), Some(LineTooLong { line: 2, cap: 5 }));
    }
}
