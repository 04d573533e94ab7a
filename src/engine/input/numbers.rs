//! A number column built a value at a time by the vectorised readers: the
//! values in one vector, and a validity bitmap made only at the first null
//! (most columns have none), handed to polars without a copy.

use polars::prelude::*;
use polars_arrow::bitmap::MutableBitmap;

pub struct Numbers<T> {
    values: Vec<T>,
    /// Created at the first null.
    validity: Option<MutableBitmap>,
}

impl<T: Default + Copy> Numbers<T> {
    pub fn new(rows: usize) -> Self {
        Numbers {
            values: Vec::with_capacity(rows),
            validity: None,
        }
    }

    #[inline]
    pub fn push(&mut self, value: T) {
        self.values.push(value);
        if let Some(v) = &mut self.validity {
            v.push(true);
        }
    }

    #[inline]
    pub fn push_null(&mut self) {
        let v = self.validity.get_or_insert_with(|| {
            let mut b = MutableBitmap::with_capacity(self.values.capacity());
            b.extend_constant(self.values.len(), true);
            b
        });
        v.push(false);
        self.values.push(T::default());
    }

    /// Add a text field's value (`parse`d; an empty field is a null).
    #[inline]
    pub fn push_field(&mut self, value: &[u8], parse: fn(&[u8]) -> Option<T>) -> Option<()> {
        if value.is_empty() {
            self.push_null();
        } else {
            self.push(parse(value)?);
        }
        Some(())
    }
}

impl Numbers<i64> {
    pub fn finish_int(self, name: PlSmallStr) -> Column {
        Int64Chunked::from_vec_validity(name, self.values, self.validity.map(Into::into))
            .into_column()
    }
}

impl Numbers<f64> {
    pub fn finish_float(self, name: PlSmallStr) -> Column {
        Float64Chunked::from_vec_validity(name, self.values, self.validity.map(Into::into))
            .into_column()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_land_where_they_were_pushed() {
        let mut n = Numbers::new(2);
        n.push(1.5);
        n.push_null();
        assert_eq!(n.push_field(b"", |_| None), Some(()));
        assert_eq!(n.push_field(b"x", |_| None), None);
        n.push(-2.0);
        let c = n.finish_float("x".into());
        let values: Vec<Option<f64>> = c.f64().unwrap().iter().collect();
        assert_eq!(values, [Some(1.5), None, None, Some(-2.0)]);
        let mut n = Numbers::new(0);
        n.push(7i64);
        assert_eq!(n.finish_int("i".into()).null_count(), 0);
    }
}
