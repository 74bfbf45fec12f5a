//! MM7 status codes (3GPP TS 23.140, the `Status/StatusCode` element of every response).
//!
//! The thousands digit is the class: 1xxx success, 2xxx client errors (the request is
//! wrong and sending it again will not help), 3xxx server errors and 4xxx service errors
//! (some of which, like 4006 "service unavailable", tell the other side to try again).
//! Carriers add their own codes (e.g. 6102): those are kept as numbers, never refused.

use std::fmt;

/// An MM7 `StatusCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(pub u16);

/// The class of a status code, from its thousands digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// 1xxx: the request was carried out (1100: only in part).
    Success,
    /// 2xxx: the request is wrong; the same request fails again.
    Client,
    /// 3xxx: the server could not carry it out.
    Server,
    /// 4xxx: the service refused or is unavailable.
    Service,
    /// Anything else: a carrier's own code.
    Other,
}

impl StatusCode {
    pub const SUCCESS: StatusCode = StatusCode(1000);
    pub const PARTIAL_SUCCESS: StatusCode = StatusCode(1100);
    pub const CLIENT_ERROR: StatusCode = StatusCode(2000);
    pub const OPERATION_RESTRICTED: StatusCode = StatusCode(2001);
    pub const ADDRESS_ERROR: StatusCode = StatusCode(2002);
    pub const ADDRESS_NOT_FOUND: StatusCode = StatusCode(2003);
    pub const CONTENT_REFUSED: StatusCode = StatusCode(2004);
    pub const MESSAGE_ID_NOT_FOUND: StatusCode = StatusCode(2005);
    pub const LINKED_ID_NOT_FOUND: StatusCode = StatusCode(2006);
    pub const MESSAGE_FORMAT_CORRUPT: StatusCode = StatusCode(2007);
    pub const APPLICATION_ID_NOT_FOUND: StatusCode = StatusCode(2008);
    pub const REPLY_APPLICATION_ID_NOT_FOUND: StatusCode = StatusCode(2009);
    pub const SERVER_ERROR: StatusCode = StatusCode(3000);
    pub const NOT_POSSIBLE: StatusCode = StatusCode(3001);
    pub const MESSAGE_REJECTED: StatusCode = StatusCode(3002);
    pub const MULTIPLE_ADDRESSES_NOT_SUPPORTED: StatusCode = StatusCode(3003);
    pub const APPLICATION_ADDRESSING_NOT_SUPPORTED: StatusCode = StatusCode(3004);
    pub const GENERAL_SERVICE_ERROR: StatusCode = StatusCode(4000);
    pub const IMPROPER_IDENTIFICATION: StatusCode = StatusCode(4001);
    pub const UNSUPPORTED_VERSION: StatusCode = StatusCode(4002);
    pub const UNSUPPORTED_OPERATION: StatusCode = StatusCode(4003);
    pub const VALIDATION_ERROR: StatusCode = StatusCode(4004);
    pub const SERVICE_ERROR: StatusCode = StatusCode(4005);
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(4006);
    pub const SERVICE_DENIED: StatusCode = StatusCode(4007);
    pub const APPLICATION_DENIED: StatusCode = StatusCode(4008);

    /// The code's class.
    pub fn class(self) -> StatusClass {
        match self.0 {
            1000..=1999 => StatusClass::Success,
            2000..=2999 => StatusClass::Client,
            3000..=3999 => StatusClass::Server,
            4000..=4999 => StatusClass::Service,
            _ => StatusClass::Other,
        }
    }

    /// Whether the request was carried out (fully or in part).
    pub fn is_success(self) -> bool {
        self.class() == StatusClass::Success
    }

    /// Whether sending the same request later may succeed: server errors and the
    /// service errors that describe a passing state rather than a refusal.
    pub fn is_transient(self) -> bool {
        matches!(self.0, 3000 | 3001 | 4000 | 4005 | 4006)
    }

    /// The `StatusText` the specification gives the code; carriers' own codes get a
    /// text from their class.
    pub fn text(self) -> &'static str {
        match self.0 {
            1000 => "Success",
            1100 => "Partial success",
            2000 => "Client error",
            2001 => "Operation restricted",
            2002 => "Address Error",
            2003 => "Address Not Found",
            2004 => "Multimedia content refused",
            2005 => "Message ID Not found",
            2006 => "LinkedID not found",
            2007 => "Message format corrupt",
            2008 => "Application ID not found",
            2009 => "Reply Application ID not found",
            3000 => "Server Error",
            3001 => "Not Possible",
            3002 => "Message rejected",
            3003 => "Multiple addresses not supported",
            3004 => "Application Addressing not supported",
            4000 => "General service error",
            4001 => "Improper identification",
            4002 => "Unsupported version",
            4003 => "Unsupported operation",
            4004 => "Validation error",
            4005 => "Service error",
            4006 => "Service unavailable",
            4007 => "Service denied",
            4008 => "Application denied",
            _ => match self.class() {
                StatusClass::Success => "Success",
                StatusClass::Client => "Client error",
                StatusClass::Server => "Server Error",
                StatusClass::Service => "General service error",
                StatusClass::Other => "Carrier-specific status",
            },
        }
    }

    /// A bounded label for metrics: the code for the specification's codes, the class
    /// for carriers' own.
    pub fn label(self) -> &'static str {
        match self.0 {
            1000 => "1000",
            1100 => "1100",
            2002 => "2002",
            2004 => "2004",
            2005 => "2005",
            2007 => "2007",
            3001 => "3001",
            4001 => "4001",
            4002 => "4002",
            4003 => "4003",
            4004 => "4004",
            4006 => "4006",
            _ => match self.class() {
                StatusClass::Success => "1xxx",
                StatusClass::Client => "2xxx",
                StatusClass::Server => "3xxx",
                StatusClass::Service => "4xxx",
                StatusClass::Other => "other",
            },
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for StatusCode {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(StatusCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_thousands_digit() {
        assert_eq!(StatusCode::SUCCESS.class(), StatusClass::Success);
        assert!(StatusCode::PARTIAL_SUCCESS.is_success());
        assert_eq!(
            StatusCode::MESSAGE_FORMAT_CORRUPT.class(),
            StatusClass::Client
        );
        assert_eq!(StatusCode(6102).class(), StatusClass::Other);
        assert!(StatusCode::SERVICE_UNAVAILABLE.is_transient());
        assert!(!StatusCode::VALIDATION_ERROR.is_transient());
    }

    #[test]
    fn carriers_own_codes_keep_their_number_and_a_class_text() {
        let code: StatusCode = " 6102 ".parse().unwrap();
        assert_eq!(code, StatusCode(6102));
        assert_eq!(code.text(), "Carrier-specific status");
        assert_eq!(code.label(), "other");
        assert_eq!(StatusCode(2003).label(), "2xxx");
    }
}
