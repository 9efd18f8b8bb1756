//! The subprocess protocol, version 1 (docs/plugins.md): messages and their framing.
//!
//! A frame is a little-endian `u32` header length, that many bytes of UTF-8 JSON (the header,
//! an object with `"type"` and, when a payload follows, `"payload_bytes"`), then the payload:
//! RGB `u8` images (host → plugin) or little-endian `f32` maps (plugin → host), concatenated in
//! the order the header lists them.

use serde::{Deserialize, Serialize};
use serde_json::{Map as JsonMap, Value};
use std::io::{self, Read, Write};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest header accepted, in bytes (a larger length means the stream is not this protocol).
pub const MAX_HEADER_BYTES: u32 = 1 << 20;
/// Largest payload [`read_frame`] accepts, in bytes (4 GiB); a reader that knows what it expects
/// passes a tighter limit to [`read_frame_within`].
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 32;

/// One message of the protocol; the payload travels beside it (see [`write_frame`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// Host → plugin, first message: the protocol version and the suite's `params`.
    Hello {
        /// Protocol version the host speaks.
        protocol: u32,
        /// Construction parameters (the suite entry's `params` object).
        params: JsonMap<String, Value>,
    },
    /// Plugin → host, answer to `hello`: the localizer is built.
    Ready {
        /// Protocol version the plugin speaks (must equal the host's).
        protocol: u32,
        /// Localizer name, for reports.
        name: String,
        /// `[width, height]` in pixels to resize images to, or `null` for the native size.
        input_size: Option<[u32; 2]>,
        /// Largest batch the plugin accepts (≥ 1).
        max_batch: u32,
    },
    /// Host → plugin: localize these images; payload = their RGB bytes.
    Localize {
        /// The images, in payload order.
        images: Vec<ImageHeader>,
    },
    /// Plugin → host, answer to `localize`: payload = the maps as `f32`.
    Result {
        /// One per image, in request order.
        maps: Vec<MapHeader>,
    },
    /// Plugin → host, answer to `hello` or `localize` that failed.
    Error {
        /// What went wrong and how to fix it.
        message: String,
        /// For a failed `hello`: the construction parameter at fault, if the plugin knows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        param: Option<String>,
    },
    /// Host → plugin: exit now (status 0). Closing the plugin's stdin means the same.
    Shutdown,
}

/// An image in a `localize` request: `height * width * 3` bytes of payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageHeader {
    /// Image id (manifest `id`).
    pub id: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// A map in a `result`: `height * width * 4` bytes of payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapHeader {
    /// Width in pixels (must equal the image's).
    pub width: u32,
    /// Height in pixels (must equal the image's).
    pub height: u32,
    /// Image-level probability of "fake" in [0,1], or `null`.
    #[serde(default)]
    pub score: Option<f32>,
}

impl Message {
    /// Payload bytes this message must carry.
    pub fn payload_len(&self) -> u64 {
        // Saturating: the shapes come from the other process, and a wrapped sum could pass the
        // limit check; a saturated one fails it.
        let bytes = |w: u32, h: u32, per_pixel: u64| {
            (u64::from(w) * u64::from(h)).saturating_mul(per_pixel)
        };
        match self {
            Message::Localize { images } => images
                .iter()
                .fold(0u64, |t, i| t.saturating_add(bytes(i.width, i.height, 3))),
            Message::Result { maps } => maps
                .iter()
                .fold(0u64, |t, m| t.saturating_add(bytes(m.width, m.height, 4))),
            _ => 0,
        }
    }
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The stream ended cleanly before a frame (the peer closed it).
    #[error("the stream ended (the other side closed it)")]
    Closed,
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The bytes are not a valid frame of this protocol.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// A frame declares more bytes than the reader accepts; nothing is allocated for it.
    #[error("frame {part} of {bytes} bytes exceeds the limit of {limit} bytes{hint}")]
    TooLarge {
        /// `header` or `payload`.
        part: &'static str,
        /// The length the frame declares.
        bytes: u64,
        /// The reader's limit.
        limit: u64,
        /// Why the limit is what it is, or what probably happened.
        hint: &'static str,
    },
}

impl ProtocolError {
    /// True when the peer broke the protocol (as opposed to the stream ending or failing).
    pub fn is_violation(&self) -> bool {
        matches!(self, Self::Malformed(_) | Self::TooLarge { .. })
    }
}

/// Writes `message` followed by `payload` (whose parts must add up to [`Message::payload_len`]).
pub fn write_frame(out: &mut impl Write, message: &Message, payload: &[&[u8]]) -> io::Result<()> {
    let payload_bytes: u64 = payload.iter().map(|p| p.len() as u64).sum();
    debug_assert_eq!(payload_bytes, message.payload_len());
    let mut header = serde_json::to_value(message).map_err(io::Error::other)?;
    if payload_bytes > 0 {
        header["payload_bytes"] = payload_bytes.into();
    }
    let header = serde_json::to_vec(&header).map_err(io::Error::other)?;
    out.write_all(&(header.len() as u32).to_le_bytes())?;
    out.write_all(&header)?;
    for part in payload {
        out.write_all(part)?;
    }
    out.flush()
}

/// Reads one frame: the message and its payload, checked against each other, with a payload of
/// at most [`MAX_PAYLOAD_BYTES`].
pub fn read_frame(input: &mut impl Read) -> Result<(Message, Vec<u8>), ProtocolError> {
    read_frame_within(input, MAX_PAYLOAD_BYTES)
}

/// [`read_frame`] with a payload of at most `max_payload` bytes: lengths are checked before
/// anything is allocated, so a corrupt length cannot make the reader allocate gigabytes.
pub fn read_frame_within(
    input: &mut impl Read,
    max_payload: u64,
) -> Result<(Message, Vec<u8>), ProtocolError> {
    let mut len = [0u8; 4];
    match input.read(&mut len[..1])? {
        0 => return Err(ProtocolError::Closed),
        _ => input.read_exact(&mut len[1..])?,
    }
    let len = u32::from_le_bytes(len);
    if len > MAX_HEADER_BYTES {
        return Err(ProtocolError::TooLarge {
            part: "header",
            bytes: len.into(),
            limit: MAX_HEADER_BYTES.into(),
            hint: "; is something else (a print?) writing to the protocol stream?",
        });
    }
    let mut header = vec![0u8; len as usize];
    input.read_exact(&mut header)?;
    let header: Value = serde_json::from_slice(&header).map_err(|e| {
        ProtocolError::Malformed(format!(
            "header is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&header[..header.len().min(80)])
        ))
    })?;
    let declared = match header.get("payload_bytes") {
        None => 0,
        Some(v) => v.as_u64().ok_or_else(|| {
            ProtocolError::Malformed(format!(
                "payload_bytes must be a non-negative integer, got {v}"
            ))
        })?,
    };
    let message: Message = serde_json::from_value(header)
        .map_err(|e| ProtocolError::Malformed(format!("bad header: {e}")))?;
    let expected = message.payload_len();
    for bytes in [declared, expected] {
        if bytes > max_payload {
            return Err(ProtocolError::TooLarge {
                part: "payload",
                bytes,
                limit: max_payload,
                hint: "",
            });
        }
    }
    if declared != expected {
        return Err(ProtocolError::Malformed(format!(
            "payload_bytes is {declared} but the listed shapes need {expected} bytes"
        )));
    }
    let mut payload = vec![0u8; expected as usize];
    input.read_exact(&mut payload)?;
    Ok((message, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any byte stream: a frame or an error, never a panic, and never a payload over the
        /// limit (lengths are checked before anything is allocated).
        #[test]
        fn arbitrary_streams_never_panic_or_exceed_the_limit(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            limit in 0u64..64,
        ) {
            if let Ok((_, payload)) = read_frame_within(&mut bytes.as_slice(), limit) {
                prop_assert!(payload.len() as u64 <= limit);
            }
        }

        /// A valid frame with a mangled length prefix or header: no panic either.
        #[test]
        fn mangled_frames_never_panic(
            len in any::<u32>(),
            edits in proptest::collection::vec((0usize..120, any::<u8>()), 0..4),
        ) {
            let msg = Message::Localize {
                images: vec![ImageHeader { id: "a".into(), width: 2, height: 1 }],
            };
            let mut buf = Vec::new();
            write_frame(&mut buf, &msg, &[&[1, 2, 3, 4, 5, 6]]).unwrap();
            buf[..4].copy_from_slice(&len.to_le_bytes());
            for (at, value) in edits {
                if at < buf.len() {
                    buf[at] = value;
                }
            }
            let _ = read_frame_within(&mut buf.as_slice(), 1 << 20);
        }
    }

    #[test]
    fn frames_round_trip_with_payload() {
        let msg = Message::Localize {
            images: vec![ImageHeader {
                id: "a".into(),
                width: 2,
                height: 1,
            }],
        };
        let mut buf = Vec::new();
        write_frame(&mut buf, &msg, &[&[1, 2, 3], &[4, 5, 6]]).unwrap();
        let header_len = u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize;
        let header: Value = serde_json::from_slice(&buf[4..4 + header_len]).unwrap();
        assert_eq!(header["type"], "localize");
        assert_eq!(header["payload_bytes"], 6);
        let (back, payload) = read_frame(&mut buf.as_slice()).unwrap();
        assert_eq!(back, msg);
        assert_eq!(payload, [1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn rejects_inconsistent_or_foreign_frames() {
        let mut buf = Vec::new();
        let header = br#"{"type":"result","maps":[{"width":2,"height":2}],"payload_bytes":4}"#;
        buf.extend_from_slice(&(header.len() as u32).to_le_bytes());
        buf.extend_from_slice(header);
        let err = read_frame(&mut buf.as_slice()).unwrap_err().to_string();
        assert!(
            err.contains("payload_bytes is 4 but the listed shapes need 16"),
            "{err}"
        );

        let err = read_frame(&mut &b"hello world\n"[..])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("frame header of 1819043176 bytes exceeds the limit of 1048576 bytes"),
            "{err}"
        );
        assert!(matches!(
            read_frame(&mut &b""[..]),
            Err(ProtocolError::Closed)
        ));
        assert!(matches!(
            read_frame(&mut &b"\x05\x00"[..]),
            Err(ProtocolError::Io(_))
        ));
    }

    #[test]
    fn a_payload_over_the_readers_limit_is_refused_before_allocating() {
        let msg = Message::Result {
            maps: vec![MapHeader {
                width: 30_000,
                height: 30_000,
                score: None,
            }],
        };
        // Only the header: the reader must refuse before wanting the 3.6 GB payload.
        let mut buf = Vec::new();
        write_frame(&mut buf, &Message::Shutdown, &[]).unwrap();
        let mut header = serde_json::to_value(&msg).unwrap();
        header["payload_bytes"] = 3_600_000_000u64.into();
        let header = serde_json::to_vec(&header).unwrap();
        let mut frame = (header.len() as u32).to_le_bytes().to_vec();
        frame.extend_from_slice(&header);
        let err = read_frame_within(&mut frame.as_slice(), 64).unwrap_err();
        assert!(err.is_violation());
        assert_eq!(
            err.to_string(),
            "frame payload of 3600000000 bytes exceeds the limit of 64 bytes"
        );
        assert!(matches!(
            read_frame_within(&mut buf.as_slice(), 0),
            Ok((Message::Shutdown, _))
        ));
    }
}
