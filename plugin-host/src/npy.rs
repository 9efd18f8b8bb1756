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
    let count = height * width;
    let data = &bytes[data_start..];
    if data.len() != count * size {
        return Err(format!(
            "NPY data is {} bytes but shape {shape:?} of {descr} needs {}; the file is truncated or corrupt",
            data.len(),
            count * size
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
