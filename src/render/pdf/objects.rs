//! The PDF file syntax we write: numbered objects, streams, strings, the cross-reference
//! table and the trailer. Only what the convention needs; every number is ours.

use std::fmt::Write as _;
use std::io::Write as _;

/// An indirect object's number (generation 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ref(pub usize);

impl std::fmt::Display for Ref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} 0 R", self.0)
    }
}

/// A file being written: objects are allocated first (so that they can refer to each other)
/// and written in any order; `finish` writes the cross-reference table.
pub struct Writer {
    pub buf: Vec<u8>,
    offsets: Vec<Option<usize>>,
}

impl Writer {
    pub fn new(capacity: usize) -> Writer {
        let mut buf = Vec::with_capacity(capacity);
        // PDF 1.7 (ISO 32000-1, the base of PDF/A-2); the comment's bytes above 127 tell
        // transfer tools the file is binary (ISO 19005-2, 6.1.2).
        buf.extend_from_slice(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
        Writer {
            buf,
            offsets: Vec::new(),
        }
    }

    pub fn alloc(&mut self) -> Ref {
        self.offsets.push(None);
        Ref(self.offsets.len())
    }

    fn begin(&mut self, r: Ref) {
        debug_assert!(
            self.offsets[r.0 - 1].is_none(),
            "object {} written twice",
            r.0
        );
        self.offsets[r.0 - 1] = Some(self.buf.len());
        let _ = writeln!(self.buf, "{} 0 obj", r.0);
    }

    /// An object whose body is `body` (a dictionary, an array, a number…).
    pub fn object(&mut self, r: Ref, body: &str) {
        self.begin(r);
        self.buf.extend_from_slice(body.as_bytes());
        self.buf.extend_from_slice(b"\nendobj\n");
    }

    /// A stream: `dict` holds the entries other than Length and Filter; the data is deflated
    /// when `deflate` is set (level 6 for data written once, such as fonts; see `deflate`).
    pub fn stream(&mut self, r: Ref, dict: &str, data: &[u8], deflate: Option<u32>) {
        let packed;
        let (data, filter) = match deflate {
            Some(level) => {
                packed = self::deflate(data, level);
                (&packed[..], "/Filter/FlateDecode")
            }
            None => (data, ""),
        };
        self.stream_as_is(r, &format!("{dict}{filter}"), data);
    }

    /// A stream whose data is already encoded as `dict` says (constant data deflated once).
    /// The end of line before `endstream` is CR LF: a validator that measures the data up to
    /// that keyword (PDF/A-2, 6.1.7.1) strips one end of line, and after a bare LF it would
    /// also take a CR ending the data (1 deflated stream in 256) for part of a CR LF.
    pub fn stream_as_is(&mut self, r: Ref, dict: &str, data: &[u8]) {
        self.begin(r);
        let _ = write!(self.buf, "<<{dict}/Length {}>>\nstream\n", data.len());
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\nendstream\nendobj\n");
    }

    /// The start of an object whose bytes the caller writes (the signature dictionary, whose
    /// offsets the seal needs); close it with `end_raw`.
    pub fn begin_raw(&mut self, r: Ref) {
        self.begin(r);
    }

    pub fn end_raw(&mut self) {
        self.buf.extend_from_slice(b"\nendobj\n");
    }

    /// Cross-reference table and trailer; every allocated object must have been written.
    pub fn finish(mut self, root: Ref, id: &[u8; 16]) -> Vec<u8> {
        let xref = self.buf.len();
        let _ = write!(
            self.buf,
            "xref\n0 {}\n0000000000 65535 f \n",
            self.offsets.len() + 1
        );
        for (i, o) in self.offsets.iter().enumerate() {
            let o = o.unwrap_or_else(|| panic!("object {} allocated but not written", i + 1));
            let _ = writeln!(self.buf, "{o:010} 00000 n ");
        }
        let id = hex::encode_upper(id);
        let _ = write!(
            self.buf,
            "trailer\n<</Size {}/Root {root}/ID[<{id}><{id}>]>>\nstartxref\n{xref}\n%%EOF\n",
            self.offsets.len() + 1
        );
        self.buf
    }
}

/// zlib data of `data`. One compressor per thread and level, reset between streams: a new
/// one allocates and zeroes its tables (a few hundred KB), which for the ten streams of a
/// convention cost more than compressing them.
pub fn deflate(data: &[u8], level: u32) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress, Status};
    thread_local! {
        static COMPRESSORS: std::cell::RefCell<Vec<(u32, Compress)>> = const {
            std::cell::RefCell::new(Vec::new())
        };
    }
    COMPRESSORS.with(|c| {
        let mut all = c.borrow_mut();
        let at = match all.iter().position(|(l, _)| *l == level) {
            Some(at) => at,
            None => {
                all.push((level, Compress::new(Compression::new(level), true)));
                all.len() - 1
            }
        };
        let z = &mut all[at].1;
        z.reset();
        let mut out = Vec::with_capacity(data.len() / 2 + 128);
        loop {
            let consumed = z.total_in() as usize;
            let status = z
                .compress_vec(&data[consumed..], &mut out, FlushCompress::Finish)
                .expect("deflate of a buffer in memory");
            if status == Status::StreamEnd {
                return out;
            }
            out.reserve(out.capacity().max(1024));
        }
    })
}

/// A text string (titles, alternative descriptions, names shown by readers): UTF-16BE with
/// its byte order mark, in hex, so that every character survives whatever it is.
pub fn text_string(s: &str) -> String {
    let mut out = String::with_capacity(6 + s.len() * 4);
    out.push_str("<FEFF");
    for unit in s.encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

/// A name object's characters: `#xx` for anything outside the regular ASCII characters.
pub fn name(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    out.push('/');
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.+".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "#{b:02X}");
        }
    }
    out
}

/// A date as PDF writes it (ISO 32000-1, 7.9.4): D:YYYYMMDDHHmmSS+HH'mm'.
pub fn date(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    let offset = t.offset().local_minus_utc();
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.abs() / 60;
    format!(
        "(D:{}{sign}{:02}'{:02}')",
        t.format("%Y%m%d%H%M%S"),
        offset / 60,
        offset % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deflate_round_trips_with_its_reused_compressors() {
        use std::io::Read;
        let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        for data in [&b"abc"[..], &big, b"", &big[..1000]] {
            for level in [3, 6] {
                let z = deflate(data, level);
                let mut back = Vec::new();
                flate2::read::ZlibDecoder::new(&z[..])
                    .read_to_end(&mut back)
                    .unwrap();
                assert_eq!(back, data);
            }
        }
    }

    #[test]
    fn a_stream_ending_with_a_carriage_return_keeps_it_before_endstream() {
        let mut w = Writer::new(0);
        let r = w.alloc();
        w.stream_as_is(r, "", b"ab\r");
        assert!(w
            .buf
            .ends_with(b"<</Length 3>>\nstream\nab\r\r\nendstream\nendobj\n"));
    }

    #[test]
    fn text_strings_keep_every_character() {
        assert_eq!(text_string("é«"), "<FEFF00E900AB>");
        assert_eq!(text_string("😀"), "<FEFFD83DDE00>");
    }

    #[test]
    fn names_escape_what_names_cannot_hold() {
        assert_eq!(name("ABCDEF+LiberationSans"), "/ABCDEF+LiberationSans");
        assert_eq!(name("a b/c"), "/a#20b#2Fc");
    }

    #[test]
    fn dates_carry_their_offset() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-28T21:14:05+01:00").unwrap();
        assert_eq!(date(&t), "(D:20261128211405+01'00')");
    }

    #[test]
    fn the_cross_reference_table_points_at_each_object() {
        let mut w = Writer::new(0);
        let a = w.alloc();
        let b = w.alloc();
        w.object(b, "<</Type/Pages/Kids[]/Count 0>>");
        w.object(a, &format!("<</Type/Catalog/Pages {b}>>"));
        let pdf = w.finish(a, &[7; 16]);
        // Offsets are bytes: the binary comment of the header is not UTF-8.
        let xref = memchr::memmem::find(&pdf, b"\nxref\n").unwrap() + 1;
        let table = std::str::from_utf8(&pdf[xref..]).unwrap();
        let entries: Vec<usize> = table
            .lines()
            .skip(3)
            .take(2)
            .map(|l| l[..10].parse().unwrap())
            .collect();
        assert!(pdf[entries[0]..].starts_with(b"1 0 obj"));
        assert!(pdf[entries[1]..].starts_with(b"2 0 obj"));
        let startxref: usize = table.lines().rev().nth(1).unwrap().parse().unwrap();
        assert_eq!(startxref, xref);
    }
}
