//! A minimal multipart/form-data splitter for `upload-documents` (sizes and the `body` part).

/// Per-file size limit of upload-documents (sf-api.md 2.6): larger files get 413.
pub const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;
/// Files per upload-documents request.
pub const MAX_FILES: usize = 20;

#[derive(Debug)]
pub struct Part {
    pub name: String,
    pub data: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| &hay[i..i + needle.len()] == needle)
}

/// Splits a multipart body; `None` if the content type is not multipart or has no boundary.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    if !content_type.starts_with("multipart/form-data") {
        return None;
    }
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    let delim = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut pos = find(body, &delim, 0)? + delim.len();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            break;
        }
        let head_start = pos + 2; // skip CRLF after the delimiter
        let head_end = find(body, b"\r\n\r\n", head_start)?;
        let head = String::from_utf8_lossy(&body[head_start..head_end]).to_string();
        let data_start = head_end + 4;
        let mut next_delim = delim.clone();
        next_delim.splice(0..0, b"\r\n".iter().copied());
        let data_end = find(body, &next_delim, data_start)?;
        let name = head
            .split(';')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("name="))
            .map(|n| {
                n.split("\r\n")
                    .next()
                    .unwrap_or(n)
                    .trim_matches('"')
                    .to_string()
            })
            .unwrap_or_default();
        parts.push(Part {
            name,
            data: body[data_start..data_end].to_vec(),
        });
        pos = data_end + next_delim.len();
    }
    Some(parts)
}
