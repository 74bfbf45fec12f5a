"""Reads one MIME message (headers, blank line, body) on stdin with Python's standard
`email` package and prints its part tree as JSON: each part's content type, its
Content-ID and Content-Location, the SHA-256 of its decoded payload, and for the SOAP
root the namespace and name of the operation in its Body. The MM7 tests compare this
with what smsbridge meant to write."""

import hashlib
import json
import sys
import xml.etree.ElementTree as ET
from email import policy
from email.parser import BytesParser

SOAP_ENV = "{http://schemas.xmlsoap.org/soap/envelope/}"


def describe(part):
    node = {
        "content_type": part.get_content_type(),
        "content_id": part.get("Content-ID"),
        "content_location": part.get("Content-Location"),
        "defects": [type(d).__name__ for d in part.defects],
    }
    if part.is_multipart():
        node["start"] = part.get_param("start")
        node["type"] = part.get_param("type")
        node["parts"] = [describe(p) for p in part.iter_parts()]
        return node
    payload = part.get_payload(decode=True) or b""
    node["size"] = len(payload)
    node["sha256"] = hashlib.sha256(payload).hexdigest()
    if node["content_type"] == "text/xml":
        body = ET.fromstring(payload).find(SOAP_ENV + "Body")
        operation = list(body)[0]
        node["operation"] = operation.tag
    return node


# parsebytes, not parse: parse() reads through a text wrapper whose universal newlines
# would turn a bare CR inside binary content into LF.
message = BytesParser(policy=policy.default).parsebytes(sys.stdin.buffer.read())
print(json.dumps(describe(message)))
