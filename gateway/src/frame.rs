//! Kafka's framing: a 4-byte big-endian size, then a request header and body (or a response
//! header and body). Decoding never trusts a length it has not checked against what arrived.

use crate::versions::{self, supports};
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{decode_request_header_from_buffer, Encodable};

/// `socket.request.max.bytes`: Kafka's default cap on one request, 100 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 100 * 1024 * 1024;

/// One request as it came off a connection.
#[derive(Debug)]
pub struct Request {
    pub api: ApiKey,
    pub version: i16,
    pub correlation_id: i32,
    pub body: RequestKind,
}

/// What to do with a frame.
#[derive(Debug)]
pub enum Decoded {
    Request(Box<Request>),
    /// Answer this now and go on (an ApiVersions request newer than we speak: Kafka answers
    /// in version 0 with UNSUPPORTED_VERSION and its list, and the client retries).
    Answer(Bytes),
    /// Kafka closes the connection for these (unknown API, unsupported version, garbage).
    Close(String),
}

/// Decodes one frame's contents (the bytes after the size).
pub fn decode_request(mut frame: Bytes) -> Decoded {
    if frame.len() < 8 {
        return Decoded::Close(format!(
            "a request of {} bytes is shorter than its header",
            frame.len()
        ));
    }
    let raw_api = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let Ok(api) = ApiKey::try_from(raw_api) else {
        return Decoded::Close(format!("unknown API key {raw_api}"));
    };
    if !supports(api, version) {
        if api == ApiKey::ApiVersions {
            let body = versions::api_versions(Some(ResponseError::UnsupportedVersion));
            return Decoded::Answer(encode_response(
                correlation_id,
                api,
                0,
                &ResponseKind::ApiVersions(body),
            ));
        }
        let range = versions::SUPPORTED
            .iter()
            .find(|(a, _, _)| *a == api)
            .map_or("not at all".to_string(), |(_, lo, hi)| {
                format!("versions {lo} to {hi}")
            });
        return Decoded::Close(format!(
            "{api:?} version {version} is not supported (kplay speaks {range})"
        ));
    }
    let header = match decode_request_header_from_buffer(&mut frame) {
        Ok(h) => h,
        Err(e) => return Decoded::Close(format!("bad {api:?} request header: {e}")),
    };
    match RequestKind::decode(api, &mut frame, version) {
        Ok(body) => Decoded::Request(Box::new(Request {
            api,
            version,
            correlation_id: header.correlation_id,
            body,
        })),
        Err(e) => Decoded::Close(format!("bad {api:?} v{version} request: {e}")),
    }
}

/// A response frame, size included.
pub fn encode_response(
    correlation_id: i32,
    api: ApiKey,
    version: i16,
    body: &ResponseKind,
) -> Bytes {
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0);
    // ApiVersions answers with header version 0 whatever its own version (KIP-511).
    let header_version = api.response_header_version(version);
    // Responses the gateway built from in-range values: encoding them cannot fail; if it did,
    // the client would see a short frame and close, never a panic here.
    let _ = header.encode(&mut buf, header_version);
    let _ = body.encode(&mut buf, version);
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.freeze()
}

/// A request frame as a client sends it, size included (the load generator and tests).
pub fn encode_request(correlation_id: i32, api: ApiKey, version: i16, body: &RequestKind) -> Bytes {
    let mut header = kafka_protocol::messages::RequestHeader::default();
    header.request_api_key = api as i16;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = Some(kafka_protocol::protocol::StrBytes::from_static_str("kplay"));
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0);
    let _ = kafka_protocol::protocol::encode_request_header_into_buffer(&mut buf, &header);
    let _ = body.encode(&mut buf, version);
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.freeze()
}

/// A response frame's contents (after the size) as a client reads them: its correlation id
/// and body.
pub fn decode_response(
    mut frame: Bytes,
    api: ApiKey,
    version: i16,
) -> anyhow::Result<(i32, ResponseKind)> {
    let header = <ResponseHeader as kafka_protocol::protocol::Decodable>::decode(
        &mut frame,
        api.response_header_version(version),
    )?;
    Ok((
        header.correlation_id,
        ResponseKind::decode(api, &mut frame, version)?,
    ))
}
