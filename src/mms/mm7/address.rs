//! MM7 addresses: `Number`, `ShortCode` or `RFC2822Address`, as they appear under
//! `Sender` and under `Recipients/To|Cc|Bcc`.

use super::Mm7Error;
use super::soap::Element;

/// One MM7 address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A phone number (`Number`), as written (E.164 with or without `+`, or national).
    Number(String),
    /// A short code (`ShortCode`).
    ShortCode(String),
    /// An e-mail style address (`RFC2822Address`).
    Rfc2822(String),
}

impl Address {
    /// The address as written.
    pub fn value(&self) -> &str {
        match self {
            Address::Number(v) | Address::ShortCode(v) | Address::Rfc2822(v) => v,
        }
    }

    /// Reads the first address child of `e`.
    pub(super) fn from_parent(e: &Element) -> Option<Address> {
        e.children.iter().find_map(Address::from_element)
    }

    /// Reads `e` itself as an address, when it is one.
    pub(super) fn from_element(e: &Element) -> Option<Address> {
        let value = e.text.trim();
        if value.is_empty() {
            return None;
        }
        let value = value.to_owned();
        match e.name.as_str() {
            "Number" => Some(Address::Number(value)),
            "ShortCode" => Some(Address::ShortCode(value)),
            "RFC2822Address" => Some(Address::Rfc2822(value)),
            _ => None,
        }
    }

    /// The element that writes this address.
    pub fn element(&self) -> Element {
        let name = match self {
            Address::Number(_) => "Number",
            Address::ShortCode(_) => "ShortCode",
            Address::Rfc2822(_) => "RFC2822Address",
        };
        let mut e = Element::new(name);
        e.text = self.value().to_owned();
        e
    }
}

/// The addresses under `Recipients` (`To`, `Cc` and `Bcc`, in that order).
pub(super) fn recipients(operation: &str, e: &Element) -> Result<Vec<Address>, Mm7Error> {
    let recipients = e
        .child("Recipients")
        .ok_or_else(|| Mm7Error::MissingElement {
            operation: operation.to_owned(),
            element: "Recipients",
        })?;
    let list: Vec<Address> = ["To", "Cc", "Bcc"]
        .iter()
        .flat_map(|kind| recipients.children.iter().filter(move |c| c.name == *kind))
        .flat_map(|group| group.children.iter().filter_map(Address::from_element))
        .collect();
    if list.is_empty() {
        return Err(Mm7Error::InvalidValue {
            element: "Recipients",
            reason: "no address".into(),
        });
    }
    Ok(list)
}
