#!/usr/bin/env python3
"""Writes the MM7 request fixtures in fixtures/mms/ (standard library only).

Each fixture is a file `NAME.http`: the request's headers, a blank line, then the body
exactly as a carrier's MMSC would POST it. The images are real files made here: a PNG
(zlib-compressed RGB gradient), a GIF (LZW, 4 colours) and a baseline JPEG (grayscale,
one DC value per 8x8 block), so their magic bytes and end markers are genuine.

Run from the repository root: python3 scripts/mms-fixtures.py
"""

import base64
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mms")
NS5 = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-5-MM7-1-2"
NS6 = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4"
CONTACT = "+14155550123"
BUSINESS = "+18005550100"


def png(width, height, pixel):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def gif(width, height, index):
    """A GIF89a whose LZW stream sends a clear code before every pixel, so the code
    width stays 3 bits: valid, and simple enough to write by hand."""
    palette = bytes([255, 255, 255, 200, 30, 30, 30, 120, 200, 20, 20, 20])
    bits, nbits, out = 0, 0, bytearray()
    for code in [c for y in range(height) for x in range(width) for c in (4, index(x, y))] + [5]:
        bits |= code << nbits
        nbits += 3
        while nbits >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8
    if nbits:
        out.append(bits & 0xFF)
    blocks = b"".join(
        bytes([len(out[i : i + 255])]) + bytes(out[i : i + 255]) for i in range(0, len(out), 255)
    )
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", width, height, 0x81, 0, 0)
        + palette
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, width, height, 0)
        + b"\x02"
        + blocks
        + b"\x00\x3b"
    )


# Standard luminance Huffman tables (ITU-T T.81 Annex K.3).
DC_COUNTS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
DC_VALUES = list(range(12))
AC_COUNTS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D]
AC_VALUES = bytes.fromhex(
    "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a"
    "25262728292a3435363738393a434445464748494a535455565758595a636465666768696a73747576777879"
    "7a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9"
    "cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa"
)


def huffman_codes(counts, values):
    codes, code, k = {}, 0, 0
    for length, n in enumerate(counts, start=1):
        for _ in range(n):
            codes[values[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


def jpeg(blocks_x, blocks_y, level):
    """A baseline grayscale JPEG, each 8x8 block one flat grey `level(bx, by)`: only DC
    coefficients, every AC run an end-of-block."""
    q = 8  # DC of a flat block is 8 * (v - 128); with q = 8 the coded value is v - 128.
    dc_codes = huffman_codes(DC_COUNTS, DC_VALUES)
    ac_codes = huffman_codes(AC_COUNTS, AC_VALUES)
    bits, nbits, data = 0, 0, bytearray()

    def put(value, length):
        nonlocal bits, nbits
        bits = (bits << length) | (value & ((1 << length) - 1))
        nbits += length
        while nbits >= 8:
            byte = (bits >> (nbits - 8)) & 0xFF
            data.append(byte)
            if byte == 0xFF:
                data.append(0)
            nbits -= 8

    previous = 0
    for by in range(blocks_y):
        for bx in range(blocks_x):
            dc = level(bx, by) - 128
            diff, previous = dc - previous, dc
            size = abs(diff).bit_length()
            put(*dc_codes[size])
            if size:
                put(diff if diff > 0 else diff + (1 << size) - 1, size)
            put(*ac_codes[0x00])
    if nbits:
        put((1 << (8 - nbits)) - 1, 8 - nbits)

    def segment(marker, payload):
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    dqt = bytes([0]) + bytes([q] + [1] * 63)
    sof = struct.pack(">BHHB", 8, blocks_y * 8, blocks_x * 8, 1) + bytes([1, 0x11, 0])
    dht = (
        bytes([0x00]) + bytes(DC_COUNTS) + bytes(DC_VALUES)
        + bytes([0x10]) + bytes(AC_COUNTS) + AC_VALUES
    )
    sos = bytes([1, 1, 0x00, 0, 63, 0])
    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return (
        b"\xff\xd8"
        + segment(0xE0, jfif)
        + segment(0xDB, dqt)
        + segment(0xC0, sof)
        + segment(0xC4, dht)
        + segment(0xDA, sos)
        + bytes(data)
        + b"\xff\xd9"
    )


JPEG = jpeg(4, 3, lambda bx, by: 40 + 50 * bx + 20 * by)
PNG = png(16, 16, lambda x, y: (x * 16, y * 16, 128))
GIF = gif(8, 8, lambda x, y: (x // 2 + y // 2) % 4)
BIG_PNG = png(96, 96, lambda x, y: ((x * 7919 + y * 104729) % 251, (x * y) % 253, (x ^ y) % 255))
SMIL = (
    b'<smil><head><layout><root-layout/><region id="Image"/><region id="Text"/></layout></head>'
    b'<body><par dur="5s"><img src="cid:photo"/><text src="cid:text"/></par></body></smil>'
)
VCARD = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Pat Example\r\nTEL:+14155550123\r\nEND:VCARD\r\n"


def envelope(ns, version, transaction, body, header=True):
    head = (
        f'<env:Header><mm7:TransactionID xmlns:mm7="{ns}" env:mustUnderstand="1">'
        f"{transaction}</mm7:TransactionID></env:Header>"
        if header
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">'
        f'{head}<env:Body><{body[0]} xmlns="{ns}"><MM7Version>{version}</MM7Version>'
        f"{body[1]}</{body[0]}></env:Body></env:Envelope>"
    ).encode()


def deliver(ns, version, transaction, linked, content=True, subject="Photos"):
    fields = (
        "<MMSRelayServerID>mmsc.sim.example</MMSRelayServerID>"
        f"<LinkedID>{linked}</LinkedID>"
        f"<Sender><Number>{CONTACT}</Number></Sender>"
        f"<Recipients><To><Number>{BUSINESS}</Number></To></Recipients>"
        "<TimeStamp>2026-11-21T10:00:00Z</TimeStamp><Priority>Normal</Priority>"
        f"<Subject>{subject}</Subject>"
        + ('<Content href="cid:content" allowAdaptations="true"/>' if content else "")
    )
    return envelope(ns, version, transaction, ("DeliverReq", fields))


def part(content_type, body, cid=None, location=None, encoding="binary"):
    headers = f"Content-Type: {content_type}\r\n"
    if cid:
        headers += f"Content-ID: <{cid}>\r\n"
    if location:
        headers += f"Content-Location: {location}\r\n"
    if encoding == "base64":
        body = base64.encodebytes(body).replace(b"\n", b"\r\n")
    headers += f"Content-Transfer-Encoding: {encoding}\r\n"
    return headers.encode() + b"\r\n" + body


def multipart(boundary, parts, close=True):
    out = b""
    for p in parts:
        out += b"--" + boundary.encode() + b"\r\n" + p + b"\r\n"
    if close:
        out += b"--" + boundary.encode() + b"--\r\n"
    return out


def related(boundary, soap, content_parts, start="soap"):
    ctype = f'multipart/related; boundary="{boundary}"; type="text/xml"; start="<{start}>"'
    return ctype, multipart(boundary, [part("text/xml; charset=utf-8", soap, cid=start)] + content_parts)


def nested(boundary, soap, inner_parts):
    """The content as most MMSCs send it: one multipart/related part holding SMIL and
    media, which the envelope's Content href names."""
    # RFC 2046: no boundary may begin with an enclosing one.
    inner_boundary = "inner-" + boundary
    inner = multipart(inner_boundary, inner_parts)
    container = part(
        f'multipart/related; boundary="{inner_boundary}"; type="application/smil"; start="<smil>"',
        inner,
        cid="content",
    )
    return related(boundary, soap, [container])


def write(name, content_type, body, auth=True):
    headers = f"Content-Type: {content_type}\r\n"
    with open(os.path.join(OUT, name + ".http"), "wb") as f:
        f.write(headers.encode() + b"\r\n" + body)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in [("photo.jpg", JPEG), ("chart.png", PNG), ("wave.gif", GIF)]:
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)

    # REL-5: text, three images and SMIL nested in one content part.
    write("deliver-rel5-photos", *nested(
        "mm7-rel5",
        deliver(NS5, "5.3.0", "rel5-tx-1", "rel5-link-1"),
        [
            part("application/smil", SMIL, cid="smil"),
            part("text/plain; charset=utf-8", "Here is the damage to the box \u2014 three photos".encode(), cid="text"),
            part('image/jpeg; name="photo.jpg"', JPEG, cid="photo", location="photo.jpg"),
            part("image/png", PNG, cid="chart", location="chart.png"),
            part("image/gif", GIF, cid="wave", location="wave.gif"),
        ],
    ))
    # REL-6: no Content element, parts beside the envelope, base64 and a vCard.
    write("deliver-rel6-attachments", *related(
        "mm7-rel6",
        deliver(NS6, "6.8.0", "rel6-tx-1", "rel6-link-1", content=False, subject="Contact"),
        [
            part("text/plain; charset=utf-8", b"My details and a photo", cid="text"),
            part("image/jpeg", JPEG, cid="photo", location="me.jpg", encoding="base64"),
            part("text/vcard", VCARD, cid="card", location="pat.vcf"),
        ],
    ))
    # A photo cut short in transit beside a good one.
    write("deliver-corrupt-image", *nested(
        "mm7-corrupt",
        deliver(NS6, "6.8.0", "corrupt-tx-1", "corrupt-link-1"),
        [
            part("text/plain", b"Second try", cid="text"),
            part("image/jpeg", JPEG[: len(JPEG) // 2], cid="photo", location="broken.jpg"),
            part("image/png", PNG, cid="chart", location="chart.png"),
        ],
    ))
    # An attachment over the test's max_part_bytes (4096) inside the message limit.
    write("deliver-oversized-part", *nested(
        "mm7-big",
        deliver(NS5, "5.3.0", "big-tx-1", "big-link-1"),
        [
            part("text/plain", b"Big picture", cid="text"),
            part("image/png", BIG_PNG, cid="big", location="big.png"),
        ],
    ))
    # A PNG declared as JPEG, and a type that is not allowed.
    write("deliver-wrong-type", *nested(
        "mm7-type",
        deliver(NS6, "6.8.0", "type-tx-1", "type-link-1"),
        [
            part("text/plain", b"Files", cid="text"),
            part("image/jpeg", PNG, cid="lie", location="notreally.jpg"),
            part("application/x-msdownload", b"MZ\x90\x00\x03\x00\x00\x00", cid="exe", location="setup.exe"),
        ],
    ))
    # No SOAP header, so no TransactionID.
    soap = deliver(NS6, "6.8.0", "x", "nohdr-link-1").replace(
        b'<env:Header><mm7:TransactionID xmlns:mm7="' + NS6.encode()
        + b'" env:mustUnderstand="1">x</mm7:TransactionID></env:Header>', b""
    )
    assert b"Header" not in soap
    write("deliver-missing-header", *related("mm7-nohdr", soap, [part("text/plain", b"hi", cid="content")]))
    # The body's boundary is not the one the header announces, and never closes.
    ctype, _ = related("mm7-announced", b"", [])
    body = multipart("mm7-actual", [
        part("text/xml", deliver(NS6, "6.8.0", "bnd-tx-1", "bnd-link-1"), cid="soap"),
        part("text/plain", b"lost", cid="content"),
    ], close=False)
    write("deliver-broken-boundary", ctype, body)
    # Entity expansion ("billion laughs"): must be refused, never expanded.
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        + "".join(
            f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
            for i in range(1, 10)
        )
        + "]>\n"
    ).encode() + deliver(NS5, "5.3.0", "bomb-tx-1", "bomb-link-1", subject="&lol9;").split(b"?>", 1)[1]
    write("deliver-xml-bomb", *related("mm7-bomb", bomb, [part("text/plain", b"boom", cid="content")]))
    # A delivery report for an MT MMS (a bare envelope, no attachments).
    report = envelope(NS6, "6.8.0", "dr-tx-1", ("DeliveryReportReq", (
        "<MMSRelayServerID>mmsc.sim.example</MMSRelayServerID><MessageID>mt-mms-1</MessageID>"
        f"<Recipient><Number>{CONTACT}</Number></Recipient>"
        f"<Sender><Number>{BUSINESS}</Number></Sender>"
        "<Date>2026-11-21T10:05:00Z</Date><MMStatus>Retrieved</MMStatus>"
    )))
    write("delivery-report", "text/xml; charset=utf-8", report)


if __name__ == "__main__":
    main()
