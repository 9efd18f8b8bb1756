//! The plugin side of the subprocess protocol for any [`Localizer`]: what `localizer-host` runs
//! to isolate a shared-library plugin.

use crate::protocol::{
    read_frame, write_frame, MapHeader, Message, ProtocolError, PROTOCOL_VERSION,
};
use image::RgbImage;
use localizer_api::{validate_predictions, InputSize, Localizer, LocalizerError, LocalizerInput};
use serde_json::{Map as JsonMap, Value};
use std::io::{Read, Write};

/// Serves one localizer over `input`/`output` until `shutdown` or end of input.
///
/// `create` builds the localizer from the `hello` parameters; its error is sent back (with the
/// parameter at fault) and ends the session. A failed `localize` is sent back as an `error`
/// message and the session goes on. Returns `Err` only when the stream itself breaks.
pub fn serve(
    mut input: impl Read,
    mut output: impl Write,
    create: impl FnOnce(&JsonMap<String, Value>) -> Result<Box<dyn Localizer>, LocalizerError>,
) -> Result<(), ProtocolError> {
    let params = match read_frame(&mut input)? {
        (
            Message::Hello {
                protocol: PROTOCOL_VERSION,
                params,
            },
            _,
        ) => params,
        (Message::Hello { protocol, .. }, _) => {
            let message = format!("protocol version {protocol} is not supported; this plugin host speaks {PROTOCOL_VERSION}");
            return write_frame(
                &mut output,
                &Message::Error {
                    message,
                    param: None,
                },
                &[],
            )
            .map_err(Into::into);
        }
        (other, _) => {
            return Err(ProtocolError::Malformed(format!(
                "expected hello first, got {other:?}"
            )))
        }
    };
    let mut localizer = match create(&params) {
        Ok(localizer) => localizer,
        Err(e) => {
            let (message, param) = match e {
                LocalizerError::BadParameter { param, message, .. } => (message, Some(param)),
                other => (other.to_string(), None),
            };
            return write_frame(&mut output, &Message::Error { message, param }, &[])
                .map_err(Into::into);
        }
    };
    let ready = Message::Ready {
        protocol: PROTOCOL_VERSION,
        name: localizer.name().to_string(),
        input_size: match localizer.input_size() {
            InputSize::Fixed { width, height } => Some([width, height]),
            InputSize::Native => None,
            // Only the oracle wants the evaluation size, and it needs ground truth this
            // protocol does not carry.
            InputSize::Evaluation => {
                let message = "localizers that need the evaluation size cannot run in a subprocess"
                    .to_string();
                return write_frame(
                    &mut output,
                    &Message::Error {
                        message,
                        param: None,
                    },
                    &[],
                )
                .map_err(Into::into);
            }
        },
        max_batch: localizer.max_batch().clamp(1, u32::MAX as usize) as u32,
    };
    write_frame(&mut output, &ready, &[])?;
    loop {
        let (images, payload) = match read_frame(&mut input) {
            Ok((Message::Localize { images }, payload)) => (images, payload),
            Ok((Message::Shutdown, _)) | Err(ProtocolError::Closed) => return Ok(()),
            Ok((other, _)) => {
                return Err(ProtocolError::Malformed(format!(
                    "expected localize or shutdown, got {other:?}"
                )))
            }
            Err(e) => return Err(e),
        };
        let mut offset = 0;
        let pictures: Vec<RgbImage> = images
            .iter()
            .map(|h| {
                let len = 3 * h.width as usize * h.height as usize;
                offset += len;
                RgbImage::from_raw(h.width, h.height, payload[offset - len..offset].to_vec())
                    .expect("length checked by read_frame")
            })
            .collect();
        let batch: Vec<LocalizerInput<'_>> = images
            .iter()
            .zip(&pictures)
            .map(|(h, image)| LocalizerInput {
                id: &h.id,
                image,
                ground_truth: None,
            })
            .collect();
        let answer = localizer
            .localize(&batch)
            .and_then(|p| validate_predictions(localizer.name(), &batch, &p).map(|()| p));
        match answer {
            Ok(predictions) => {
                let maps = predictions
                    .iter()
                    .map(|p| MapHeader {
                        width: p.map.width(),
                        height: p.map.height(),
                        score: p.score,
                    })
                    .collect();
                let bytes: Vec<Vec<u8>> = predictions
                    .iter()
                    .map(|p| {
                        p.map
                            .as_raw()
                            .iter()
                            .flat_map(|v| v.to_le_bytes())
                            .collect()
                    })
                    .collect();
                let parts: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
                write_frame(&mut output, &Message::Result { maps }, &parts)?;
            }
            Err(e) => write_frame(
                &mut output,
                &Message::Error {
                    message: e.to_string(),
                    param: None,
                },
                &[],
            )?,
        }
    }
}
