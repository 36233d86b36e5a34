"""The two messages of echo.proto, encoded by hand (protobuf wire format), so
the Python apps need neither generated code nor Debian's old grpc tools.
EchoRequest {1: message, 2: fail_with, 3: count}; EchoReply {1: message, 2: index}."""


def _varint(n):
    n &= (1 << 64) - 1  # negative int32 values take ten bytes, as protobuf does
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _encode(fields):
    """fields: [(number, str | int)], proto3 defaults ("" and 0) omitted."""
    out = bytearray()
    for number, value in fields:
        if isinstance(value, str):
            if value:
                data = value.encode()
                out += _varint(number << 3 | 2) + _varint(len(data)) + data
        elif value:
            out += _varint(number << 3) + _varint(value)
    return bytes(out)


def _decode(buf):
    """Returns {number: int | bytes}; unknown wire types end the parse."""
    fields, i = {}, 0

    def varint():
        nonlocal i
        n = shift = 0
        while True:
            b = buf[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    while i < len(buf):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            v = varint()
            fields[number] = v - (1 << 64) if v >= 1 << 63 else v
        elif wire == 2:
            n = varint()
            fields[number] = bytes(buf[i:i + n])
            i += n
        else:
            raise ValueError("unexpected wire type %d" % wire)
    return fields


def encode_request(req):
    return _encode([(1, req.get("message", "")), (2, req.get("fail_with", 0)), (3, req.get("count", 0))])


def decode_request(buf):
    f = _decode(buf)
    return {"message": f.get(1, b"").decode(), "fail_with": f.get(2, 0), "count": f.get(3, 0)}


def encode_reply(rep):
    return _encode([(1, rep.get("message", "")), (2, rep.get("index", 0))])


def decode_reply(buf):
    f = _decode(buf)
    return {"message": f.get(1, b"").decode(), "index": f.get(2, 0)}
