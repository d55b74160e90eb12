//! Thrift's compact protocol, just what Parquet's footer and page
//! headers need.

pub(super) const T_TRUE: u8 = 1;
pub(super) const T_FALSE: u8 = 2;
pub(super) const T_BYTE: u8 = 3;
pub(super) const T_I16: u8 = 4;
pub(super) const T_I32: u8 = 5;
pub(super) const T_I64: u8 = 6;
pub(super) const T_BINARY: u8 = 8;
pub(super) const T_LIST: u8 = 9;
pub(super) const T_STRUCT: u8 = 12;

/// A writer of thrift's compact protocol, just what Parquet's footer and
/// page headers need.
#[derive(Default)]
pub(crate) struct Thrift {
    pub(crate) buf: Vec<u8>,
    last: i16,
    stack: Vec<i16>,
}

pub(super) fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

pub(super) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

impl Thrift {
    pub(super) fn field(&mut self, ty: u8, id: i16) {
        let delta = id - self.last;
        if delta > 0 && delta <= 15 {
            self.buf.push(((delta as u8) << 4) | ty);
        } else {
            self.buf.push(ty);
            varint(&mut self.buf, zigzag(id as i64));
        }
        self.last = id;
    }
    pub(super) fn i32(&mut self, id: i16, v: i32) {
        self.field(T_I32, id);
        varint(&mut self.buf, zigzag(v as i64));
    }
    pub(super) fn i64(&mut self, id: i16, v: i64) {
        self.field(T_I64, id);
        varint(&mut self.buf, zigzag(v));
    }
    pub(super) fn i16(&mut self, id: i16, v: i16) {
        self.field(T_I16, id);
        varint(&mut self.buf, zigzag(v as i64));
    }
    pub(super) fn byte(&mut self, id: i16, v: i8) {
        self.field(T_BYTE, id);
        self.buf.push(v as u8);
    }
    pub(super) fn bool(&mut self, id: i16, v: bool) {
        self.field(if v { T_TRUE } else { T_FALSE }, id);
    }
    pub(super) fn binary(&mut self, id: i16, v: &[u8]) {
        self.field(T_BINARY, id);
        varint(&mut self.buf, v.len() as u64);
        self.buf.extend_from_slice(v);
    }
    /// Starts a struct-typed field; end it with [`Thrift::end`].
    pub(super) fn begin(&mut self, id: i16) {
        self.field(T_STRUCT, id);
        self.open();
    }
    /// Starts a struct that is a list element (no field header).
    pub(super) fn open(&mut self) {
        self.stack.push(self.last);
        self.last = 0;
    }
    pub(super) fn end(&mut self) {
        self.buf.push(0);
        self.last = self.stack.pop().unwrap_or(0);
    }
    pub(super) fn list(&mut self, id: i16, elem: u8, len: usize) {
        self.field(T_LIST, id);
        if len < 15 {
            self.buf.push(((len as u8) << 4) | elem);
        } else {
            self.buf.push(0xF0 | elem);
            varint(&mut self.buf, len as u64);
        }
    }
    pub(super) fn list_i32(&mut self, id: i16, v: &[i32]) {
        self.list(id, T_I32, v.len());
        for &x in v {
            varint(&mut self.buf, zigzag(x as i64));
        }
    }
    pub(super) fn list_str(&mut self, id: i16, v: &[&str]) {
        self.list(id, T_BINARY, v.len());
        for s in v {
            varint(&mut self.buf, s.len() as u64);
            self.buf.extend_from_slice(s.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thrift_field_headers_and_zigzag() {
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(i64::MIN), u64::MAX);
        let mut t = Thrift::default();
        t.i32(1, 5); // short form: delta 1, type i32
        t.i32(20, 1); // long form: delta > 15
        assert_eq!(t.buf, vec![0x15, 10, 0x05, 40, 2]);
    }
}
