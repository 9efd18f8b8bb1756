//! `jpeg:Q`: a JPEG round trip with PIL's `save(quality=Q)` semantics.
//!
//! Encoding calls libjpeg (mozjpeg built in its libjpeg-turbo compatible profile,
//! `JCP_FASTEST`, the same as `mozjpeg::Compress::set_fastest_defaults`) through the raw API,
//! because the `mozjpeg` wrapper's `set_quality` passes `force_baseline = FALSE`: below
//! quality 24 its tables then hold entries above 255, where PIL clamps them to 255. With
//! `force_baseline = TRUE` the stream is PIL's: IJG Annex K tables scaled by quality, 4:2:0,
//! baseline Huffman, islow DCT. Decoding uses the `mozjpeg` wrapper (libjpeg semantics,
//! islow IDCT, fancy upsampling), like PIL.

use std::mem;
use std::os::raw::c_int;
use std::panic::{self, AssertUnwindSafe};

use image::RgbImage;
use mozjpeg_sys as ffi;

use crate::text::check_quality;
use crate::{check_not_empty, DegradationError};

/// libjpeg's `JPEG_MAX_DIMENSION`: the largest side it encodes.
const MAX_SIDE: u32 = 65500;
/// First size of the output buffer; it doubles when full.
const INITIAL_OUTPUT: usize = 16 * 1024;

/// JPEG round trip: encode at `quality` (1..=100) like PIL's `save(quality=quality)`, decode
/// back to RGB. Errors on a quality outside 1..=100, an empty image or a side above 65500.
pub fn jpeg(image: &RgbImage, quality: u8) -> Result<RgbImage, DegradationError> {
    let bytes = jpeg_encode(image, quality)?;
    jpeg_decode(&bytes)
}

/// Encodes `image` as a baseline JFIF JPEG at `quality` (1..=100), 4:2:0, with the IJG
/// tables scaled as libjpeg's `jpeg_set_quality(q, force_baseline = TRUE)` does: the same
/// bytes PIL writes.
pub fn jpeg_encode(image: &RgbImage, quality: u8) -> Result<Vec<u8>, DegradationError> {
    check_quality(quality)?;
    check_not_empty("jpeg", image)?;
    let (width, height) = image.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(DegradationError::TooLargeForJpeg {
            width,
            height,
            max: MAX_SIDE,
        });
    }
    let mut encoder = Box::new(Encoder::new());
    // libjpeg reports errors by unwinding out of `error_exit`; the Box is dropped (and
    // libjpeg's memory released) on both paths.
    let run = panic::catch_unwind(AssertUnwindSafe(|| encoder.encode(image, quality)));
    match run {
        Ok(()) => Ok(mem::take(&mut encoder.output.bytes)),
        Err(payload) => Err(libjpeg_error("encoding", payload)),
    }
}

/// Decodes a JPEG to RGB with libjpeg defaults (islow IDCT, fancy upsampling), as PIL does;
/// a grayscale JPEG has its channel replicated, like PIL's `convert("RGB")`. A file that ends
/// before its data does ("Premature end of JPEG file", a warning libjpeg would fill with gray)
/// is an error, as in PIL.
pub fn jpeg_decode(bytes: &[u8]) -> Result<RgbImage, DegradationError> {
    let run = panic::catch_unwind(|| -> std::io::Result<RgbImage> {
        let mut started = mozjpeg::Decompress::with_err(strict_error_manager())
            .from_mem(bytes)?
            .rgb()?;
        let (width, height) = (started.width() as u32, started.height() as u32);
        let pixels: Vec<u8> = started.read_scanlines()?;
        started.finish()?;
        RgbImage::from_raw(width, height, pixels)
            .ok_or_else(|| std::io::Error::other("short scanlines"))
    });
    match run {
        Ok(Ok(image)) => Ok(image),
        Ok(Err(_)) => Err(DegradationError::Jpeg {
            stage: "decoding",
            code: -1,
        }),
        Err(payload) => Err(libjpeg_error("decoding", payload)),
    }
}

/// Width and height from a JPEG's header, reading no further than the header.
pub fn jpeg_dimensions(reader: impl std::io::BufRead) -> Result<(u32, u32), DegradationError> {
    let run = panic::catch_unwind(AssertUnwindSafe(|| -> std::io::Result<(u32, u32)> {
        let header = mozjpeg::Decompress::with_err(strict_error_manager()).from_reader(reader)?;
        Ok((header.width() as u32, header.height() as u32))
    }));
    match run {
        Ok(Ok(size)) => Ok(size),
        Ok(Err(_)) => Err(DegradationError::Jpeg {
            stage: "reading the header",
            code: -1,
        }),
        Err(payload) => Err(libjpeg_error("reading the header", payload)),
    }
}

/// libjpeg's error manager with errors, and the truncated-file warning, unwinding.
fn strict_error_manager() -> ffi::jpeg_error_mgr {
    // SAFETY: `jpeg_std_error` fills every field of a zeroed manager.
    let mut err: ffi::jpeg_error_mgr = unsafe { mem::zeroed() };
    unsafe { ffi::jpeg_std_error(&mut err) };
    err.error_exit = Some(unwind_on_error);
    err.emit_message = Some(unwind_on_truncation);
    err
}

/// A warning (level −1) that the data ended early is an error; other messages are dropped.
extern "C-unwind" fn unwind_on_truncation(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
    // SAFETY: libjpeg calls this with `err` pointing at the installed manager.
    let code = unsafe { cinfo.err.as_ref() }.map_or(-1, |err| err.msg_code);
    if level < 0 && code == ffi::JWRN_JPEG_EOF {
        panic::resume_unwind(Box::new(LibjpegFailure(code)));
    }
}

/// Turns the payload of a libjpeg unwind into an error.
fn libjpeg_error(stage: &'static str, payload: Box<dyn std::any::Any + Send>) -> DegradationError {
    let code = payload.downcast_ref::<LibjpegFailure>().map_or(-1, |f| f.0);
    DegradationError::Jpeg { stage, code }
}

/// Unwind payload carrying libjpeg's message code.
struct LibjpegFailure(c_int);

/// libjpeg must not return from `error_exit`; unwinding (through C compiled with unwind
/// tables, mozjpeg-sys's `unwinding` feature) brings the error back to `catch_unwind`.
extern "C-unwind" fn unwind_on_error(cinfo: &mut ffi::jpeg_common_struct) {
    // SAFETY: libjpeg calls this with `err` pointing at the manager installed in `Encoder`.
    let code = unsafe { cinfo.err.as_ref() }.map_or(-1, |err| err.msg_code);
    panic::resume_unwind(Box::new(LibjpegFailure(code)));
}

/// Warnings (e.g. "premature end of data") are not printed to stderr.
extern "C-unwind" fn ignore_message(_cinfo: &mut ffi::jpeg_common_struct, _level: c_int) {}

/// libjpeg destination manager that appends to a growable Vec. `repr(C)` with the manager
/// first, so the `cinfo.dest` pointer libjpeg passes back can be cast to this struct.
#[repr(C)]
struct VecDestination {
    manager: ffi::jpeg_destination_mgr,
    bytes: Vec<u8>,
}

/// libjpeg's compressor with its error and destination managers. Boxed by the caller: libjpeg
/// keeps pointers to `error` and `output`, which must not move.
struct Encoder {
    cinfo: ffi::jpeg_compress_struct,
    error: ffi::jpeg_error_mgr,
    output: VecDestination,
}

impl Encoder {
    fn new() -> Self {
        // SAFETY: both are plain C structs for which all-zero is the documented initial state
        // (`jpeg_std_error` and `jpeg_CreateCompress` fill them in).
        let (cinfo, error) = unsafe { (mem::zeroed(), mem::zeroed()) };
        Encoder {
            cinfo,
            error,
            output: VecDestination {
                manager: ffi::jpeg_destination_mgr {
                    next_output_byte: std::ptr::null_mut(),
                    free_in_buffer: 0,
                    init_destination: Some(init_destination),
                    empty_output_buffer: Some(empty_output_buffer),
                    term_destination: Some(term_destination),
                },
                bytes: Vec::new(),
            },
        }
    }

    /// Runs libjpeg; unwinds with [`LibjpegFailure`] on error. `self` must not move after
    /// this starts (it is boxed).
    fn encode(&mut self, image: &RgbImage, quality: u8) {
        let (width, height) = image.dimensions();
        // SAFETY: the libjpeg compression sequence on a struct created here; `err` and `dest`
        // point into `self`, which is boxed and outlives `cinfo` (destroyed in Drop). Each
        // scanline pointer covers width*3 bytes of `image`.
        unsafe {
            ffi::jpeg_std_error(&mut self.error);
            self.error.error_exit = Some(unwind_on_error);
            self.error.emit_message = Some(ignore_message);
            self.cinfo.common.err = &mut self.error;
            ffi::jpeg_CreateCompress(
                &mut self.cinfo,
                ffi::JPEG_LIB_VERSION,
                mem::size_of::<ffi::jpeg_compress_struct>(),
            );
            self.cinfo.dest = &mut self.output.manager;
            self.cinfo.image_width = width;
            self.cinfo.image_height = height;
            self.cinfo.input_components = 3;
            self.cinfo.in_color_space = ffi::J_COLOR_SPACE::JCS_RGB;
            // libjpeg-turbo defaults instead of mozjpeg's (trellis, progressive, own tables).
            ffi::jpeg_c_set_int_param(
                &mut self.cinfo,
                ffi::J_INT_PARAM::JINT_COMPRESS_PROFILE,
                ffi::JINT_COMPRESS_PROFILE_VALUE::JCP_FASTEST as c_int,
            );
            ffi::jpeg_set_defaults(&mut self.cinfo);
            ffi::jpeg_set_quality(&mut self.cinfo, c_int::from(quality), 1);
            ffi::jpeg_start_compress(&mut self.cinfo, 1);
            for row in image.as_raw().chunks_exact(width as usize * 3) {
                let row_ptr = row.as_ptr();
                ffi::jpeg_write_scanlines(&mut self.cinfo, &row_ptr, 1);
            }
            ffi::jpeg_finish_compress(&mut self.cinfo);
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: a no-op on a zeroed struct (`mem` is null) and the documented cleanup after
        // both success and error_exit otherwise.
        unsafe { ffi::jpeg_destroy_compress(&mut self.cinfo) };
    }
}

/// Recovers our destination from the pointer libjpeg hands back.
///
/// SAFETY: `cinfo.dest` must point at the `manager` field of a live `VecDestination`.
unsafe fn destination(cinfo: &mut ffi::jpeg_compress_struct) -> &mut VecDestination {
    &mut *cinfo.dest.cast::<VecDestination>()
}

extern "C-unwind" fn init_destination(cinfo: &mut ffi::jpeg_compress_struct) {
    // SAFETY: installed only by `Encoder::encode`, whose `dest` is a VecDestination.
    let dest = unsafe { destination(cinfo) };
    dest.bytes = vec![0; INITIAL_OUTPUT];
    dest.manager.next_output_byte = dest.bytes.as_mut_ptr();
    dest.manager.free_in_buffer = dest.bytes.len();
}

/// Called when the buffer is full (libjpeg's contract: all of it has been written): doubles it.
extern "C-unwind" fn empty_output_buffer(cinfo: &mut ffi::jpeg_compress_struct) -> ffi::boolean {
    // SAFETY: as in `init_destination`.
    let dest = unsafe { destination(cinfo) };
    let used = dest.bytes.len();
    dest.bytes.resize(used * 2, 0);
    // SAFETY: `used` < the new length, so the pointer stays inside the buffer.
    dest.manager.next_output_byte = unsafe { dest.bytes.as_mut_ptr().add(used) };
    dest.manager.free_in_buffer = dest.bytes.len() - used;
    1
}

extern "C-unwind" fn term_destination(cinfo: &mut ffi::jpeg_compress_struct) {
    // SAFETY: as in `init_destination`.
    let dest = unsafe { destination(cinfo) };
    let used = dest.bytes.len() - dest.manager.free_in_buffer;
    dest.bytes.truncate(used);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quantisation tables (DQT segments) of a JPEG stream: (precision, 64 entries) each.
    fn quant_tables(jpeg: &[u8]) -> Vec<(u8, Vec<u16>)> {
        let mut tables = Vec::new();
        let mut i = 2;
        while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
            let marker = jpeg[i + 1];
            let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
            if marker == 0xDB {
                let mut j = i + 4;
                while j < i + 2 + len {
                    let precision = jpeg[j] >> 4;
                    let size = if precision == 0 { 1 } else { 2 };
                    let entries = (0..64)
                        .map(|e| {
                            let at = j + 1 + e * size;
                            if size == 1 {
                                u16::from(jpeg[at])
                            } else {
                                u16::from_be_bytes([jpeg[at], jpeg[at + 1]])
                            }
                        })
                        .collect();
                    tables.push((precision, entries));
                    j += 1 + 64 * size;
                }
            }
            if marker == 0xDA {
                break;
            }
            i += 2 + len;
        }
        tables
    }

    fn test_image() -> RgbImage {
        RgbImage::from_fn(40, 24, |x, y| {
            image::Rgb([(x * 6) as u8, (y * 10) as u8, ((x * y) % 256) as u8])
        })
    }

    #[test]
    fn low_quality_tables_are_baseline_and_clamped() {
        for quality in [1u8, 5, 10, 20, 24] {
            let bytes = jpeg_encode(&test_image(), quality).unwrap();
            assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
            // SOF0 (baseline), not SOF1 (extended sequential).
            assert!(bytes.windows(2).any(|w| w == [0xFF, 0xC0]), "q={quality}");
            let tables = quant_tables(&bytes);
            assert_eq!(tables.len(), 2, "q={quality}");
            for (precision, entries) in tables {
                assert_eq!(precision, 0, "q={quality}: 8-bit tables");
                assert!(entries.iter().all(|&e| (1..=255).contains(&e)));
            }
        }
        // At q = 1 the IJG scale is 5000 %: every luma entry ≥ 6 clamps to 255.
        let q1 = quant_tables(&jpeg_encode(&test_image(), 1).unwrap());
        assert!(q1[0].1.iter().all(|&e| e == 255));
    }

    #[test]
    fn ijg_table_scaling() {
        // Luma DC base 16: q=50 keeps 16, q=75 gives 8, q=30 gives (16*166+50)/100 = 27.
        for (quality, dc) in [(50u8, 16u16), (75, 8), (30, 27), (100, 1)] {
            let tables = quant_tables(&jpeg_encode(&test_image(), quality).unwrap());
            assert_eq!(tables[0].1[0], dc, "q={quality}");
        }
    }

    #[test]
    fn keeps_size_and_rejects_bad_input() {
        let img = RgbImage::from_pixel(17, 9, image::Rgb([1, 2, 3]));
        assert_eq!(jpeg(&img, 75).unwrap().dimensions(), (17, 9));
        assert!(matches!(jpeg(&img, 0), Err(DegradationError::Invalid(_))));
        assert!(matches!(jpeg(&img, 101), Err(DegradationError::Invalid(_))));
        assert!(matches!(
            jpeg(&RgbImage::new(0, 0), 50),
            Err(DegradationError::EmptyImage { .. })
        ));
    }

    #[test]
    fn corrupt_stream_is_an_error_not_a_panic() {
        let mut bytes = jpeg_encode(&test_image(), 50).unwrap();
        bytes.truncate(20);
        assert!(matches!(
            jpeg_decode(&bytes),
            Err(DegradationError::Jpeg {
                stage: "decoding",
                ..
            })
        ));
    }
}
