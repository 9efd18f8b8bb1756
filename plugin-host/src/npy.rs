//! A reader for the 2-D float maps numpy writes with `np.save` (NPY format versions 1–3).

use localizer_api::Map;

/// Parses an NPY file holding a 2-D `float32` or `float64` array (either byte order, C or
/// Fortran order) into a map of `f32` (`shape = (height, width)`). Values are not range-checked.
///
/// The error says what is unsupported and how to save the array instead.
pub fn read_npy_map(bytes: &[u8]) -> Result<Map, String> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        return Err("not an NPY file (no \\x93NUMPY magic); save maps with numpy.save".into());
    }
    let (header_len, header_start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize,
            12,
        ),
        v => {
            return Err(format!(
                "NPY format version {v} is not supported (1, 2 and 3 are)"
            ))
        }
    };
    let data_start = header_start + header_len;
    let header = bytes
        .get(header_start..data_start)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or("NPY header is truncated or not text")?;
    let descr = dict_value(header, "descr")?.trim_matches(|c| c == '\'' || c == '"');
    let fortran_order = match dict_value(header, "fortran_order")? {
        "True" => true,
        "False" => false,
        other => {
            return Err(format!(
                "NPY fortran_order is '{other}', expected True or False"
            ))
        }
    };
    let shape: Vec<usize> = dict_value(header, "shape")?
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            d.parse()
                .map_err(|_| format!("NPY shape has a non-integer dimension '{d}'"))
        })
        .collect::<Result<_, _>>()?;
    let &[height, width] = shape.as_slice() else {
        return Err(format!(
            "array has shape {shape:?}; a map must be 2-D (height, width)"
        ));
    };
    let (size, big_endian) = match descr {
        "<f4" => (4, false),
        ">f4" => (4, true),
        "<f8" => (8, false),
        ">f8" => (8, true),
        other => {
            return Err(format!(
                "dtype '{other}' is not supported; save float32 or float64 maps (map.astype(numpy.float32))"
            ))
        }
    };
    // Checked: the shape is read from the file, and a product that wraps could match the data.
    let Some((count, needed)) = height
        .checked_mul(width)
        .and_then(|count| Some((count, count.checked_mul(size)?)))
    else {
        return Err(format!("shape {shape:?} is too large for a map"));
    };
    let data = &bytes[data_start..];
    if data.len() != needed {
        return Err(format!(
            "NPY data is {} bytes but shape {shape:?} of {descr} needs {needed}; the file is truncated or corrupt",
            data.len(),
        ));
    }
    let values = data.chunks_exact(size).map(|b| match (size, big_endian) {
        (4, false) => f32::from_le_bytes(b.try_into().expect("4 bytes")),
        (4, true) => f32::from_be_bytes(b.try_into().expect("4 bytes")),
        (_, false) => f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32,
        (_, true) => f64::from_be_bytes(b.try_into().expect("8 bytes")) as f32,
    });
    let (w, h) = (u32::try_from(width), u32::try_from(height));
    let (Ok(w), Ok(h)) = (w, h) else {
        return Err(format!("shape {shape:?} is too large for a map"));
    };
    let row_major: Vec<f32> = if fortran_order {
        // Column-major on disk: element (y, x) is at x * height + y.
        let column_major: Vec<f32> = values.collect();
        (0..count)
            .map(|i| column_major[(i % width) * height + i / width])
            .collect()
    } else {
        values.collect()
    };
    Ok(Map::from_raw(w, h, row_major).expect("length is width × height"))
}

/// The text of `key`'s value in the header's Python dict literal.
fn dict_value<'h>(header: &'h str, key: &str) -> Result<&'h str, String> {
    let missing = || format!("NPY header has no '{key}' entry: {header:?}");
    let at = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))
        .ok_or_else(missing)?;
    let rest = header[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')
        .ok_or_else(missing)?
        .trim_start();
    let end = match rest.chars().next() {
        Some(q @ ('\'' | '"')) => rest[1..].find(q).map(|i| i + 2),
        Some('(') => rest.find(')').map(|i| i + 1),
        _ => rest.find([',', '}']),
    }
    .ok_or_else(missing)?;
    Ok(rest[..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An NPY v1 file as numpy writes it (header padded so the data starts at a multiple of 64).
    fn npy(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let dict = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        let pad = 64 - (10 + dict.len() + 1) % 64;
        let header = format!("{dict}{}\n", " ".repeat(pad % 64));
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn reads_both_orders_and_both_widths() {
        let values = [0.0f32, 0.25, 0.5, 1.0, 0.75, 0.125];
        let le: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let map = read_npy_map(&npy("<f4", false, "(2, 3)", &le)).unwrap();
        assert_eq!((map.width(), map.height()), (3, 2));
        assert_eq!(map.as_raw(), &values);
        // The same array stored column-major: (y, x) at x·2 + y.
        let col: Vec<u8> = [0, 3, 1, 4, 2, 5]
            .iter()
            .flat_map(|&i| f64::from(values[i]).to_be_bytes())
            .collect();
        let map = read_npy_map(&npy(">f8", true, "(2, 3)", &col)).unwrap();
        assert_eq!(map.as_raw(), &values);
    }

    #[test]
    fn a_shape_whose_size_overflows_is_an_error_not_a_panic() {
        let err = read_npy_map(&npy("<f4", false, "(4294967296, 4294967297)", &[])).unwrap_err();
        assert!(err.contains("too large"), "{err}");
        let err = read_npy_map(&npy("<f8", false, "(3074457345618258603, 3)", &[])).unwrap_err();
        assert!(err.contains("too large"), "{err}");
    }

    proptest! {
        /// Any bytes: an error or a map, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = read_npy_map(&bytes);
        }

        /// A valid file with some bytes overwritten: still no panic, and a map that comes back
        /// has as many values as its shape says.
        #[test]
        fn corrupted_files_never_panic(
            edits in proptest::collection::vec((0usize..200, any::<u8>()), 1..6),
            cut in 0usize..220,
        ) {
            let data: Vec<u8> = (0..24).flat_map(|i| (i as f32 / 24.0).to_le_bytes()).collect();
            let mut bytes = npy("<f4", false, "(4, 6)", &data);
            for (at, value) in edits {
                if at < bytes.len() {
                    bytes[at] = value;
                }
            }
            bytes.truncate(bytes.len().min(cut.max(10)));
            if let Ok(map) = read_npy_map(&bytes) {
                prop_assert_eq!(map.as_raw().len(), (map.width() * map.height()) as usize);
            }
        }
    }
}
