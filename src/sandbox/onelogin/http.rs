//! Error bodies, JSON bodies and v2 pagination shared by the OneLogin handlers.
//!
//! OneLogin answers in four error shapes depending on which of its services handles the
//! request (onelogin-api.md §3): A (v2 standard), A' (v2 field error), B (the roles service)
//! and C (the v1 status envelope). Handlers return an [`ApiErr`] naming the shape, so each
//! endpoint answers the way the real one was seen to. Pagination follows §4: bare-array
//! bodies, `limit`/`page`/`cursor`, and the `Total-Count` … `After-Cursor` headers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use crate::sandbox::api::{SimRequest, SimResponse};

/// An error answer, by shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ApiErr {
    /// Shape A: `{"message","statusCode","name"}`.
    A { status: u16, message: String },
    /// Shape A': `{"message","field","name":"UnprocessableEntityFieldError","statusCode":422}`.
    Field { message: String, field: String },
    /// Shape B (roles service): `{"status","error":"BadRequestError","description"}`.
    B { status: u16, description: String },
    /// Shape C (v1 envelope): `{"status":{"error":true,"code","type","message"}}`; the message
    /// is sometimes an object.
    C { status: u16, message: Value },
}

impl ApiErr {
    pub(crate) fn a(status: u16, message: impl Into<String>) -> ApiErr {
        ApiErr::A {
            status,
            message: message.into(),
        }
    }

    /// 422 shape A with the Rails-style `Validation failed: …` prefix real v2 messages carry.
    pub(crate) fn invalid(message: impl AsRef<str>) -> ApiErr {
        ApiErr::a(422, format!("Validation failed: {}", message.as_ref()))
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiErr {
        ApiErr::a(400, message)
    }

    pub(crate) fn not_found() -> ApiErr {
        ApiErr::a(404, "The resource with the given id could not be found")
    }

    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> ApiErr {
        ApiErr::Field {
            message: message.into(),
            field: field.into(),
        }
    }

    pub(crate) fn c(status: u16, message: impl Into<Value>) -> ApiErr {
        ApiErr::C {
            status,
            message: message.into(),
        }
    }

    /// The same error in shape C, for v1 endpoints that reuse shared validation.
    pub(crate) fn into_c(self) -> ApiErr {
        match self {
            ApiErr::A { status, message } => ApiErr::c(status, message),
            ApiErr::Field { message, .. } => ApiErr::c(422, message),
            ApiErr::B {
                status,
                description,
            } => ApiErr::c(status, description),
            c @ ApiErr::C { .. } => c,
        }
    }

    pub(crate) fn status(&self) -> u16 {
        match self {
            ApiErr::A { status, .. } | ApiErr::B { status, .. } | ApiErr::C { status, .. } => {
                *status
            }
            ApiErr::Field { .. } => 422,
        }
    }

    pub(crate) fn into_response(self, route: &str) -> SimResponse {
        let status = self.status();
        let body = match self {
            ApiErr::A { status, message } => json!({
                "message": message, "statusCode": status, "name": error_name(status),
            }),
            ApiErr::Field { message, field } => json!({
                "message": message, "field": field,
                "name": "UnprocessableEntityFieldError", "statusCode": 422,
            }),
            ApiErr::B {
                status,
                description,
            } => json!({"status": status, "error": "BadRequestError", "description": description}),
            ApiErr::C { status, message } => json!({"status": {
                "error": true, "code": status, "type": v1_type(status), "message": message,
            }}),
        };
        SimResponse::json(status, route, &body)
    }
}

fn error_name(status: u16) -> &'static str {
    match status {
        400 => "BadRequestError",
        401 => "UnauthorizedError",
        403 => "ForbiddenError",
        404 => "NotFoundError",
        409 => "ConflictError",
        422 => "UnprocessableEntityError",
        429 => "TooManyRequestsError",
        _ => "InternalServerError",
    }
}

fn v1_type(status: u16) -> &'static str {
    match status {
        200 => "success",
        400 => "bad request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        _ => "Internal Server Error",
    }
}

/// The v1 success envelope `{"status":{"error":false,"code":200,"type":"success","message":"Success"}}`.
pub(crate) fn v1_ok() -> Value {
    json!({"status": {"error": false, "code": 200, "type": "success", "message": "Success"}})
}

pub(crate) type Reply = Result<SimResponse, ApiErr>;

/// The request body as JSON; an empty body is `null`.
pub(crate) fn json_body(req: &SimRequest) -> Result<Value, ApiErr> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| ApiErr::bad_request(format!("Invalid JSON in request body: {e}")))
}

/// The request body as a JSON object (shape A 400 otherwise).
pub(crate) fn json_object(req: &SimRequest) -> Result<Map<String, Value>, ApiErr> {
    match json_body(req)? {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(ApiErr::bad_request("Request body must be a JSON object")),
    }
}

/// A raw JSON array of ids, as the roles service wants it: anything else is the observed
/// shape-B 400 `Expected array in request` (onelogin-api.md §9.5, [ISSUE134]).
pub(crate) fn id_array(req: &SimRequest) -> Result<Vec<u64>, ApiErr> {
    let expected = || ApiErr::B {
        status: 400,
        description: "Expected array in request".into(),
    };
    let Value::Array(items) = json_body(req).map_err(|_| expected())? else {
        return Err(expected());
    };
    items
        .iter()
        .map(|v| {
            v.as_u64().ok_or_else(|| ApiErr::B {
                status: 400,
                description: format!("Expected array of integer ids in request, got {v}"),
            })
        })
        .collect()
}

/// Reject query parameters the endpoint does not know, as OneLogin does:
/// 400 `query parameter(s) not allowed: first_login`.
pub(crate) fn check_params(params: &[(String, String)], allowed: &[&str]) -> Result<(), ApiErr> {
    let bad: Vec<&str> = params
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !allowed.contains(k) && !k.starts_with("custom_attributes."))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(ApiErr::bad_request(format!(
            "query parameter(s) not allowed: {}",
            bad.join(", ")
        )))
    }
}

/// A `custom_attributes.x` query parameter on an endpoint that has none is unknown too.
pub(crate) fn check_params_strict(
    params: &[(String, String)],
    allowed: &[&str],
) -> Result<(), ApiErr> {
    check_params(params, allowed)?;
    if let Some((k, _)) = params
        .iter()
        .find(|(k, _)| k.starts_with("custom_attributes."))
    {
        return Err(ApiErr::bad_request(format!(
            "query parameter(s) not allowed: {k}"
        )));
    }
    Ok(())
}

/// Page-size rules of one list endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageRule {
    pub default: usize,
    pub max: usize,
}

/// The effective query of a list request: the request's own parameters merged with those a
/// `cursor` carries, and the page asked for.
#[derive(Debug, Clone)]
pub(crate) struct ListQuery {
    /// Filters and options, without `limit`, `page` and `cursor`.
    pub params: Vec<(String, String)>,
    pub limit: usize,
    /// 1-based.
    pub page: usize,
}

impl ListQuery {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Index of the first item of the page.
    pub(crate) fn offset(&self) -> usize {
        (self.page - 1).saturating_mul(self.limit)
    }
}

/// Parse `limit`, `page` and `cursor`. The cursor is base64 of a query string
/// (`limit=50&page=3&email=...`, the shape of the example in OneLogin's docs); parameters
/// the request repeats win over the cursor's. A limit above the maximum is clamped.
pub(crate) fn list_query(req: &SimRequest, rule: PageRule) -> Result<ListQuery, ApiErr> {
    let mut params: Vec<(String, String)> = req
        .query
        .iter()
        .filter(|(k, _)| k != "cursor")
        .cloned()
        .collect();
    if let Some(cursor) = req.query_param("cursor").filter(|c| !c.is_empty()) {
        let decoded = B64
            .decode(cursor.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| ApiErr::bad_request(format!("Invalid cursor: {cursor}")))?;
        for (k, v) in url::form_urlencoded::parse(decoded.as_bytes()) {
            if !params.iter().any(|(pk, _)| *pk == k) {
                params.push((k.into_owned(), v.into_owned()));
            }
        }
    }
    let mut number = |name: &str| -> Result<Option<usize>, ApiErr> {
        let Some(pos) = params.iter().position(|(k, _)| k == name) else {
            return Ok(None);
        };
        let (_, v) = params.remove(pos);
        v.trim()
            .parse::<usize>()
            .map(Some)
            .map_err(|_| ApiErr::field(name, format!("Invalid {name}: {v}")))
    };
    let limit = number("limit")?
        .filter(|l| *l > 0)
        .unwrap_or(rule.default)
        .min(rule.max);
    let page = number("page")?.filter(|p| *p > 0).unwrap_or(1);
    Ok(ListQuery {
        params,
        limit,
        page,
    })
}

/// A bare-array page with OneLogin's pagination headers. `items` is the page itself,
/// already serialized; `total` counts all matches.
pub(crate) fn page_response(
    req: &SimRequest,
    route: &str,
    q: &ListQuery,
    total: usize,
    items: Vec<Vec<u8>>,
) -> SimResponse {
    let total_pages = total.div_ceil(q.limit);
    let mut body = Vec::with_capacity(items.iter().map(Vec::len).sum::<usize>() + items.len() + 2);
    body.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item);
    }
    body.push(b']');
    let mut resp = SimResponse::json_bytes(200, route, body)
        .with_header("Total-Count", total.to_string())
        .with_header("Total-Pages", total_pages.to_string())
        .with_header("Current-Page", q.page.to_string())
        .with_header("Page-Items", items.len().to_string());
    let path = format!("{}{}", req.base_url, req.path);
    let mut links = vec![format!(
        "<{path}?cursor={}>; rel=\"first\"",
        url_encode(&cursor(q, 1))
    )];
    if q.page < total_pages {
        let after = cursor(q, q.page + 1);
        links.push(format!(
            "<{path}?cursor={}>; rel=\"next\"",
            url_encode(&after)
        ));
        resp = resp.with_header("After-Cursor", after);
    }
    if q.page > 1 {
        let before = cursor(q, (q.page - 1).min(total_pages.max(1)));
        links.push(format!(
            "<{path}?cursor={}>; rel=\"prev\"",
            url_encode(&before)
        ));
        resp = resp.with_header("Before-Cursor", before);
    }
    resp.with_header("Link", links.join(", "))
}

fn cursor(q: &ListQuery, page: usize) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    ser.append_pair("limit", &q.limit.to_string());
    ser.append_pair("page", &page.to_string());
    for (k, v) in &q.params {
        ser.append_pair(k, v);
    }
    B64.encode(ser.finish())
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Serialize one list item (cannot fail for our own types; `null` if it ever did).
pub(crate) fn to_bytes(v: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_else(|_| b"null".to_vec())
}

/// OneLogin's search syntax: exact (case-insensitive) match unless the pattern contains `*`,
/// which matches any run of characters.
pub(crate) fn matches_pattern(pattern: &str, value: &str) -> bool {
    let p = pattern.to_lowercase();
    let v = value.to_lowercase();
    if !p.contains('*') {
        return p == v;
    }
    let parts: Vec<&str> = p.split('*').collect();
    let (first, rest) = parts.split_first().unwrap_or((&"", &[]));
    let Some(mut tail) = v.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return true;
    };
    for part in middle {
        match tail.find(part) {
            Some(i) => tail = &tail[i + part.len()..],
            None => return false,
        }
    }
    tail.len() >= last.len() && tail.ends_with(last)
}

/// Parse a `sort` parameter (`+field`, `-field` or `field`) against the sortable fields.
pub(crate) fn sort_param(
    q: &ListQuery,
    sortable: &[&str],
) -> Result<Option<(String, bool)>, ApiErr> {
    let Some(raw) = q.get("sort") else {
        return Ok(None);
    };
    let (desc, field) = match raw.trim() {
        s if s.starts_with('-') => (true, &s[1..]),
        s if s.starts_with('+') => (false, &s[1..]),
        s => (false, s),
    };
    let field = field.trim();
    if !sortable.contains(&field) {
        return Err(ApiErr::field(field, format!("Invalid sort field: {field}")));
    }
    Ok(Some((field.to_string(), desc)))
}

/// Parse an integer id from a path segment.
pub(crate) fn path_id(seg: &str) -> Result<u64, ApiErr> {
    seg.parse::<u64>().map_err(|_| ApiErr::not_found())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_patterns_match_like_onelogin_search() {
        assert!(matches_pattern("katinka*", "Katinka.B@x.com"));
        assert!(matches_pattern("*@onelogin.com", "a@onelogin.com"));
        assert!(!matches_pattern("*@onelogin.com", "a@onelogin.co"));
        assert!(matches_pattern("*box", "Dropbox"));
        assert!(matches_pattern("a*c*e", "abcde"));
        assert!(!matches_pattern("a*c*e", "abde"));
        // the prefix and suffix may not overlap
        assert!(!matches_pattern("ab*b", "ab"));
        assert!(matches_pattern("x@y.z", "X@Y.Z"));
        assert!(!matches_pattern("x@y", "x@y.z"));
    }
}
