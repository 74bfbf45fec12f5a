//! The SOAP 1.1 envelope of MM7: parsed into a small, bounded element tree, and written
//! back for responses and requests.
//!
//! Reading refuses what an MM7 peer never needs and an attacker loves: a DOCTYPE (and so
//! every entity declaration — an "XML bomb" is refused before anything is expanded),
//! references to entities other than the five predefined ones, nesting deeper than
//! [`XmlLimits::max_depth`], more than [`XmlLimits::max_elements`] elements and text
//! longer than [`XmlLimits::max_text`]. The caller bounds the input itself (the SOAP
//! part of a multipart body has its own size limit).
//!
//! Writing escapes every text and attribute value, so an address or a subject written
//! by a customer cannot change the document's shape.

use quick_xml::NsReader;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use super::Mm7Error;
use super::status::StatusCode;

/// The SOAP 1.1 envelope namespace.
pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

const REL5_NS: &str = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-5-MM7-1-2";
const REL6_NS: &str = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4";

/// The MM7 schema a message is written against, known by its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mm7Version {
    /// REL-5-MM7-1-2, `MM7Version` 5.3.0.
    Rel5,
    /// REL-6-MM7-1-4, `MM7Version` 6.8.0.
    Rel6,
}

impl Mm7Version {
    /// The schema's namespace URI.
    pub fn namespace(self) -> &'static str {
        match self {
            Mm7Version::Rel5 => REL5_NS,
            Mm7Version::Rel6 => REL6_NS,
        }
    }

    /// The `MM7Version` element's value for this schema.
    pub fn mm7_version(self) -> &'static str {
        match self {
            Mm7Version::Rel5 => "5.3.0",
            Mm7Version::Rel6 => "6.8.0",
        }
    }

    /// The schema of `namespace`, if it is one this codec speaks.
    pub fn from_namespace(namespace: &str) -> Option<Mm7Version> {
        match namespace.trim_end_matches('/') {
            REL5_NS => Some(Mm7Version::Rel5),
            REL6_NS => Some(Mm7Version::Rel6),
            _ => None,
        }
    }
}

/// Bounds on a document being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Deepest element nesting (the envelope is depth 1).
    pub max_depth: usize,
    /// Most elements in the document.
    pub max_elements: usize,
    /// Longest text of one element, in bytes.
    pub max_text: usize,
}

impl Default for XmlLimits {
    /// Generous for MM7 (a DeliverReq is about 6 levels and 40 elements deep), small
    /// enough that a hostile document costs little.
    fn default() -> Self {
        XmlLimits {
            max_depth: 24,
            max_elements: 2_000,
            max_text: 16 * 1024,
        }
    }
}

/// One XML element: its namespace and local name, its attributes by local name, its
/// text (all text children joined, trimmed) and its child elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub namespace: Option<String>,
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// An element to write, with no namespace of its own (it inherits its parent's).
    pub fn new(name: impl Into<String>) -> Element {
        Element {
            name: name.into(),
            ..Element::default()
        }
    }

    /// Adds a text-only child.
    pub fn with_text_child(self, name: &str, text: impl Into<String>) -> Element {
        let mut child = Element::new(name);
        child.text = text.into();
        self.with_child(child)
    }

    /// Adds a child element.
    pub fn with_child(mut self, child: Element) -> Element {
        self.children.push(child);
        self
    }

    /// Adds an attribute.
    pub fn with_attribute(mut self, name: &str, value: impl Into<String>) -> Element {
        self.attributes.push((name.to_owned(), value.into()));
        self
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The text of the first child named `name`, when it has some.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.as_str())
            .filter(|t| !t.is_empty())
    }

    /// The attribute named `name` (local name).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Writes the element (children inherit the default namespace in force).
    fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        if let Some(ns) = &self.namespace {
            out.push_str(" xmlns=\"");
            out.push_str(&escape(ns.as_str()));
            out.push('"');
        }
        for (k, v) in &self.attributes {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            out.push_str(&escape(v.as_str()));
            out.push('"');
        }
        if self.text.is_empty() && self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        out.push_str(&escape(self.text.as_str()));
        for child in &self.children {
            child.write(out);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }
}

/// A parsed MM7 envelope: its schema, the `TransactionID` from the SOAP header and the
/// operation element of the SOAP body (`DeliverReq`, `DeliveryReportReq`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub version: Mm7Version,
    pub transaction_id: String,
    pub operation: Element,
}

impl Envelope {
    /// The operation's name (`DeliverReq`).
    pub fn operation_name(&self) -> &str {
        &self.operation.name
    }
}

/// Reads an MM7 SOAP envelope with the default limits.
pub fn parse_envelope(xml: &[u8]) -> Result<Envelope, Mm7Error> {
    parse_envelope_with(xml, XmlLimits::default())
}

/// Reads an MM7 SOAP envelope: the root must be a SOAP 1.1 `Envelope` with a `Header`
/// holding the MM7 `TransactionID` and a `Body` holding one operation in an MM7
/// namespace this codec knows.
pub fn parse_envelope_with(xml: &[u8], limits: XmlLimits) -> Result<Envelope, Mm7Error> {
    let root = parse_document(xml, limits)?;
    if root.name != "Envelope" || root.namespace.as_deref() != Some(SOAP_ENV_NS) {
        return Err(Mm7Error::NotSoap(format!(
            "the root element is {} rather than a SOAP 1.1 Envelope",
            root.name
        )));
    }
    let header = root
        .children
        .iter()
        .find(|c| c.name == "Header" && c.namespace.as_deref() == Some(SOAP_ENV_NS))
        .ok_or(Mm7Error::MissingTransactionId)?;
    let body = root
        .children
        .iter()
        .find(|c| c.name == "Body" && c.namespace.as_deref() == Some(SOAP_ENV_NS))
        .ok_or_else(|| Mm7Error::NotSoap("the envelope has no Body".into()))?;
    let operation = body
        .children
        .first()
        .ok_or_else(|| Mm7Error::NotSoap("the Body holds no operation".into()))?;
    let namespace = operation.namespace.as_deref().unwrap_or("");
    let version = Mm7Version::from_namespace(namespace)
        .ok_or_else(|| Mm7Error::UnsupportedVersion(namespace.to_owned()))?;
    let mut transaction_id = None;
    for entry in &header.children {
        if entry.name == "TransactionID" {
            transaction_id = Some(entry.text.clone());
        } else if entry.attribute("mustUnderstand") == Some("1") {
            return Err(Mm7Error::MustUnderstand(entry.name.clone()));
        }
    }
    let transaction_id = transaction_id
        .filter(|t| !t.is_empty())
        .ok_or(Mm7Error::MissingTransactionId)?;
    Ok(Envelope {
        version,
        transaction_id,
        operation: operation.clone(),
    })
}

/// Reads a whole document into its root element, within `limits`.
pub fn parse_document(xml: &[u8], limits: XmlLimits) -> Result<Element, Mm7Error> {
    let mut reader = NsReader::from_reader(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut elements = 0usize;
    let mut root = None;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| Mm7Error::Xml(e.to_string()))?;
        let namespace = match ns {
            ResolveResult::Bound(ns) => Some(String::from_utf8_lossy(ns.as_ref()).into_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => {
                return Err(Mm7Error::Xml(format!(
                    "unknown namespace prefix {}",
                    String::from_utf8_lossy(&prefix)
                )));
            }
        };
        match event {
            Event::DocType(_) => return Err(Mm7Error::DocType),
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(Mm7Error::Xml("content after the root element".into()));
            }
            Event::Start(start) => {
                count(&mut elements, stack.len(), limits)?;
                stack.push(element_of(&start, namespace)?);
            }
            Event::Empty(start) => {
                count(&mut elements, stack.len(), limits)?;
                let element = element_of(&start, namespace)?;
                close(&mut stack, &mut root, element);
            }
            Event::End(_) => {
                let Some(mut element) = stack.pop() else {
                    return Err(Mm7Error::Xml("an end tag without a start".into()));
                };
                element.text = element.text.trim().to_owned();
                close(&mut stack, &mut root, element);
            }
            Event::Text(text) => {
                let text = text.decode().map_err(|e| Mm7Error::Xml(e.to_string()))?;
                push_text(&mut stack, &text, limits)?;
            }
            Event::CData(data) => {
                let text = data.decode().map_err(|e| Mm7Error::Xml(e.to_string()))?;
                push_text(&mut stack, &text, limits)?;
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference
                    .resolve_char_ref()
                    .map_err(|e| Mm7Error::Xml(e.to_string()))?
                {
                    Some(c) => c.to_string(),
                    None => {
                        let name = reference
                            .decode()
                            .map_err(|e| Mm7Error::Xml(e.to_string()))?;
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| {
                                Mm7Error::UnknownEntity(name.chars().take(64).collect())
                            })?
                            .to_owned()
                    }
                };
                push_text(&mut stack, &resolved, limits)?;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(Mm7Error::Xml("the document ends inside an element".into()));
    }
    root.ok_or_else(|| Mm7Error::Xml("the document is empty".into()))
}

/// Counts one more element opened under `open` others, within the limits.
fn count(elements: &mut usize, open: usize, limits: XmlLimits) -> Result<(), Mm7Error> {
    *elements += 1;
    if *elements > limits.max_elements {
        return Err(Mm7Error::TooManyElements(limits.max_elements));
    }
    if open + 1 > limits.max_depth {
        return Err(Mm7Error::TooDeep(limits.max_depth));
    }
    Ok(())
}

fn element_of(start: &BytesStart, namespace: Option<String>) -> Result<Element, Mm7Error> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| Mm7Error::Xml(e.to_string()))?;
        let key = attribute.key;
        if key.as_namespace_binding().is_some() {
            continue;
        }
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| match e {
                quick_xml::Error::Escape(e) => Mm7Error::UnknownEntity(e.to_string()),
                e => Mm7Error::Xml(e.to_string()),
            })?;
        let local = String::from_utf8_lossy(key.local_name().as_ref()).into_owned();
        attributes.push((local, value.into_owned()));
    }
    Ok(Element {
        namespace,
        name,
        attributes,
        ..Element::default()
    })
}

fn push_text(stack: &mut [Element], text: &str, limits: XmlLimits) -> Result<(), Mm7Error> {
    match stack.last_mut() {
        Some(top) => {
            if top.text.len() + text.len() > limits.max_text {
                return Err(Mm7Error::TextTooLong(limits.max_text));
            }
            top.text.push_str(text);
            Ok(())
        }
        // Whitespace around the root is allowed; anything else is not XML.
        None if text.trim().is_empty() => Ok(()),
        None => Err(Mm7Error::Xml("text outside the root element".into())),
    }
}

fn close(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// The `Status` element of a response: its code, text and optional details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub code: StatusCode,
    pub text: String,
    pub details: Option<String>,
}

impl Status {
    /// A status with the specification's text for `code`.
    pub fn new(code: StatusCode) -> Status {
        Status {
            code,
            text: code.text().to_owned(),
            details: None,
        }
    }

    /// The same status with details (a sentence for the other side's logs).
    pub fn with_details(mut self, details: impl Into<String>) -> Status {
        self.details = Some(details.into());
        self
    }

    fn element(&self) -> Element {
        let mut status = Element::new("Status")
            .with_text_child("StatusCode", self.code.0.to_string())
            .with_text_child("StatusText", self.text.clone());
        if let Some(details) = &self.details {
            status = status.with_child(Element::new("Details").with_text_child("Reason", details));
        }
        status
    }
}

/// Writes an envelope carrying `operation` in `version`'s namespace, with the
/// `TransactionID` header (`mustUnderstand="1"`). Requests (`SubmitReq`) and responses
/// alike are written with this.
pub fn write_envelope(version: Mm7Version, transaction_id: &str, operation: &Element) -> String {
    let mut operation = operation.clone();
    operation.namespace = Some(version.namespace().to_owned());
    let mut out = String::with_capacity(512);
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push_str(r#"<env:Envelope xmlns:env=""#);
    out.push_str(SOAP_ENV_NS);
    out.push_str(r#""><env:Header><mm7:TransactionID xmlns:mm7=""#);
    out.push_str(version.namespace());
    out.push_str(r#"" env:mustUnderstand="1">"#);
    out.push_str(&escape(transaction_id));
    out.push_str("</mm7:TransactionID></env:Header><env:Body>");
    operation.write(&mut out);
    out.push_str("</env:Body></env:Envelope>");
    out
}

/// A response (`DeliverRsp`, `DeliveryReportRsp`): `MM7Version`, then `Status`, then
/// `extra` elements (a `MessageID`, for instance).
pub fn write_response(
    version: Mm7Version,
    transaction_id: &str,
    operation: &str,
    status: &Status,
    extra: &[Element],
) -> String {
    let mut rsp = Element::new(operation)
        .with_text_child("MM7Version", version.mm7_version())
        .with_child(status.element());
    rsp.children.extend(extra.iter().cloned());
    write_envelope(version, transaction_id, &rsp)
}

/// A `DeliverRsp`.
pub fn write_deliver_rsp(version: Mm7Version, transaction_id: &str, status: &Status) -> String {
    write_response(version, transaction_id, "DeliverRsp", status, &[])
}

/// A `DeliveryReportRsp`.
pub fn write_delivery_report_rsp(
    version: Mm7Version,
    transaction_id: &str,
    status: &Status,
) -> String {
    write_response(version, transaction_id, "DeliveryReportRsp", status, &[])
}

/// A SOAP Fault carrying a `VASPErrorRsp`: the answer to a request that could not be
/// read as an MM7 operation (no envelope, no TransactionID, an XML bomb). Client errors
/// are `env:Client` faults, the rest `env:Server`.
pub fn write_fault(version: Mm7Version, transaction_id: Option<&str>, status: &Status) -> String {
    let fault_code = match status.code.class() {
        super::StatusClass::Client => "env:Client",
        _ => "env:Server",
    };
    let mut error = Element::new("VASPErrorRsp")
        .with_text_child("MM7Version", version.mm7_version())
        .with_child(status.element());
    error.namespace = Some(version.namespace().to_owned());
    let mut detail = String::new();
    error.write(&mut detail);
    let mut out = String::with_capacity(512);
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    out.push_str(r#"<env:Envelope xmlns:env=""#);
    out.push_str(SOAP_ENV_NS);
    out.push_str(r#"">"#);
    if let Some(id) = transaction_id {
        out.push_str(r#"<env:Header><mm7:TransactionID xmlns:mm7=""#);
        out.push_str(version.namespace());
        out.push_str(r#"" env:mustUnderstand="1">"#);
        out.push_str(&escape(id));
        out.push_str("</mm7:TransactionID></env:Header>");
    }
    out.push_str("<env:Body><env:Fault><faultcode>");
    out.push_str(fault_code);
    out.push_str("</faultcode><faultstring>");
    out.push_str(&escape(status.text.as_str()));
    out.push_str("</faultstring><detail>");
    out.push_str(&detail);
    out.push_str("</detail></env:Fault></env:Body></env:Envelope>");
    out
}

/// The status of a response envelope (`SubmitRsp`, `DeliverRsp`, or a fault's
/// `VASPErrorRsp`/`RSErrorRsp`): what a client reads back.
pub fn response_status(envelope_root: &Element) -> Option<Status> {
    fn find(e: &Element) -> Option<&Element> {
        if e.name == "Status" && e.child("StatusCode").is_some() {
            return Some(e);
        }
        e.children.iter().find_map(find)
    }
    let status = find(envelope_root)?;
    let code = status.child_text("StatusCode")?.parse().ok()?;
    Some(Status {
        code,
        text: status
            .child_text("StatusText")
            .unwrap_or_default()
            .to_owned(),
        details: status
            .child("Details")
            .map(|d| {
                if d.text.is_empty() {
                    d.children
                        .iter()
                        .map(|c| c.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    d.text.clone()
                }
            })
            .filter(|d| !d.is_empty()),
    })
}

#[cfg(test)]
mod tests;
