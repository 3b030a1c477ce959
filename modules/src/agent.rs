//! The agent: rplay's module runner on a target, started as `rplay agent` on one SSH
//! channel per target and become identity.
//!
//! The controller and the agent exchange frames on the channel's standard input and
//! output: a 4-byte big-endian length, then that many bytes of JSON. The agent first sends
//! a [`Hello`]; then, for every [`Request`], it runs the module and sends one
//! [`Response`] with the same id. It exits at the end of its input.

use std::io::{self, Read, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::dispatch::{run_module, ModuleOptions};
use crate::{Map, Value};

/// Version of the frame format and message types; the controller rejects any other.
pub const PROTOCOL: u32 = 1;

/// Largest frame either side accepts: 1 GiB, far above any module's arguments or result
/// (file contents travel in them, as base64 for `slurp`).
pub const MAX_FRAME: usize = 1 << 30;

/// The agent's first frame, which also proves that the binary started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub agent: String,
    pub version: String,
    pub protocol: u32,
}

impl Hello {
    pub fn current() -> Hello {
        Hello {
            agent: "rplay".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            protocol: PROTOCOL,
        }
    }
}

/// A module run the controller requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    pub module: String,
    pub args: serde_json::Value,
    #[serde(default)]
    pub options: ModuleOptions,
}

/// The result of one [`Request`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    pub id: u64,
    pub result: serde_json::Value,
}

/// Encodes `message` as one frame.
pub fn encode_frame<T: Serialize>(message: &T) -> io::Result<Vec<u8>> {
    let payload = serde_json::to_vec(message).map_err(io::Error::other)?;
    if payload.len() > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "frame of {} bytes exceeds the maximum of {MAX_FRAME}",
                payload.len()
            ),
        ));
    }
    let mut frame = Vec::with_capacity(4 + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(&payload);
    Ok(frame)
}

/// Reads one frame's length header; `None` at a clean end of input.
pub fn read_length(input: &mut impl Read) -> io::Result<Option<usize>> {
    let mut header = [0u8; 4];
    let mut filled = 0;
    while filled < header.len() {
        match input.read(&mut header[filled..])? {
            0 if filled == 0 => return Ok(None),
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => filled += n,
        }
    }
    let length = u32::from_be_bytes(header) as usize;
    if length > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {length} bytes exceeds the maximum of {MAX_FRAME}"),
        ));
    }
    Ok(Some(length))
}

/// Decodes a frame's payload.
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> io::Result<T> {
    serde_json::from_slice(payload).map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
}

/// Reads one frame; `None` at a clean end of input.
pub fn read_frame<T: DeserializeOwned>(input: &mut impl Read) -> io::Result<Option<T>> {
    let Some(length) = read_length(input)? else {
        return Ok(None);
    };
    let mut payload = vec![0u8; length];
    input.read_exact(&mut payload)?;
    decode_payload(&payload).map(Some)
}

/// Serves requests from `input` until it ends, writing the hello and each response to
/// `output`.
pub fn serve(input: &mut impl Read, output: &mut impl Write) -> io::Result<()> {
    output.write_all(&encode_frame(&Hello::current())?)?;
    output.flush()?;
    while let Some(request) = read_frame::<Request>(input)? {
        let response = Response {
            id: request.id,
            result: serde_json::to_value(Value::map(handle(&request))).map_err(io::Error::other)?,
        };
        output.write_all(&encode_frame(&response)?)?;
        output.flush()?;
    }
    Ok(())
}

fn handle(request: &Request) -> Map {
    let args = match Value::from(request.args.clone()) {
        Value::Map(args) => (*args).clone(),
        Value::Null => Map::new(),
        other => {
            let mut result = Map::new();
            result.insert(Value::from("failed"), Value::Bool(true));
            result.insert(
                Value::from("msg"),
                Value::from(format!(
                    "module arguments must be a mapping, got {}",
                    other.type_name()
                )),
            );
            return result;
        }
    };
    run_module(&request.module, &args, &request.options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: u64, module: &str, args: serde_json::Value) -> Vec<u8> {
        encode_frame(&Request {
            id,
            module: module.to_string(),
            args,
            options: ModuleOptions::default(),
        })
        .unwrap()
    }

    #[test]
    fn serve_answers_each_request() {
        let mut input = request(7, "ping", serde_json::json!({}));
        input.extend(request(
            8,
            "command",
            serde_json::json!({"_raw_params": "echo hi"}),
        ));
        let mut output = Vec::new();
        serve(&mut input.as_slice(), &mut output).unwrap();

        let mut reader = output.as_slice();
        let hello: Hello = read_frame(&mut reader).unwrap().unwrap();
        assert_eq!(hello, Hello::current());
        let first: Response = read_frame(&mut reader).unwrap().unwrap();
        assert_eq!(first.id, 7);
        assert_eq!(first.result["ping"], "pong");
        let second: Response = read_frame(&mut reader).unwrap().unwrap();
        assert_eq!(second.id, 8);
        assert_eq!(second.result["stdout"], "hi");
        assert_eq!(second.result["rc"], 0);
        assert!(read_frame::<Response>(&mut reader).unwrap().is_none());
    }

    #[test]
    fn truncated_frame_is_an_error() {
        let frame = request(1, "ping", serde_json::json!({}));
        let cut = &frame[..frame.len() - 1];
        assert!(read_frame::<Request>(&mut &cut[..]).is_err());
        assert!(read_frame::<Request>(&mut &frame[..2]).is_err());
    }

    #[test]
    fn oversized_length_is_rejected() {
        let header = (MAX_FRAME as u32 + 1).to_be_bytes();
        let err = read_length(&mut &header[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn unknown_module_fails_as_a_result() {
        let mut input = request(1, "no_such_module", serde_json::json!({}));
        input.extend(request(2, "ping", serde_json::json!("text")));
        let mut output = Vec::new();
        serve(&mut input.as_slice(), &mut output).unwrap();
        let mut reader = output.as_slice();
        let _: Hello = read_frame(&mut reader).unwrap().unwrap();
        let unknown: Response = read_frame(&mut reader).unwrap().unwrap();
        assert_eq!(unknown.result["failed"], true);
        let bad_args: Response = read_frame(&mut reader).unwrap().unwrap();
        assert_eq!(
            bad_args.result["msg"],
            "module arguments must be a mapping, got str"
        );
    }
}
