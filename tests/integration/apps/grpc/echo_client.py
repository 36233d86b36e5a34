"""Calls sonde.test.Echo with Debian's python3-grpcio over one channel, without
generated code (messages from echo_pb.py).
Usage: echo_client.py PORT [--ca CA_CERT] CALL...
CALL is KIND[,count=N][,fail=CODE][,msg=TEXT][,md=KEY=VALUE]... with KIND one of
unary, server_stream, client_stream, bidi; or "pause" (print "paused", wait
for a line on stdin). Prints per call:
RESULT KIND STATUS START_NS END_NS replies=N echo=KEY=VALUE;... details=GRPC_MESSAGE"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc  # noqa: E402

import echo_pb  # noqa: E402

METHODS = {"unary": ("Unary", "unary_unary"), "server_stream": ("ServerStream", "unary_stream"),
           "client_stream": ("ClientStream", "stream_unary"), "bidi": ("Bidi", "stream_stream")}


def parse_call(spec):
    parts = spec.split(",")
    call = {"kind": parts[0], "count": 1, "fail": 0, "msg": "hello", "md": []}
    for p in parts[1:]:
        key, value = p.split("=", 1)
        if key == "md":
            call["md"].append(tuple(value.split("=", 1)))
        elif key in ("count", "fail"):
            call[key] = int(value)
        else:
            call[key] = value
    return call


def run(channel, call):
    method, shape = METHODS[call["kind"]]
    stub = getattr(channel, shape)("/sonde.test.Echo/" + method, request_serializer=echo_pb.encode_request,
                                   response_deserializer=echo_pb.decode_reply)
    one = {"message": call["msg"], "fail_with": call["fail"], "count": call["count"]}
    many = [{"message": "%s-%d" % (call["msg"], i), "fail_with": call["fail"]} for i in range(call["count"])]
    kw = {"metadata": call["md"], "timeout": 10}
    replies = 0
    try:
        if shape == "unary_unary":
            _, rpc = stub.with_call(one, **kw)
            replies = 1
        elif shape == "stream_unary":
            _, rpc = stub.with_call(iter(many), **kw)
            replies = 1
        else:
            rpc = stub(one if shape == "unary_stream" else iter(many), **kw)
            for _ in rpc:
                replies += 1
    except grpc.RpcError as e:
        rpc = e
    code = rpc.code().value[0]
    return code, replies, rpc.trailing_metadata() or (), (rpc.details() or "") if code else ""


def main():
    args = sys.argv[1:]
    target = "127.0.0.1:" + args.pop(0)
    if args and args[0] == "--ca":
        with open(args[1], "rb") as f:
            channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=f.read()))
        args = args[2:]
    else:
        channel = grpc.insecure_channel(target)
    with channel:
        for spec in args:
            call = parse_call(spec)
            if call["kind"] == "pause":
                print("paused", flush=True)
                sys.stdin.readline()
                continue
            t0 = time.time_ns()
            code, replies, trailers, details = run(channel, call)
            t1 = time.time_ns()
            echo = ";".join("%s=%s" % (k, v) for k, v in trailers if k.startswith("x-"))
            print("RESULT", call["kind"], code, t0, t1, "replies=%d" % replies, "echo=" + echo, "details=" + details,
                  flush=True)


if __name__ == "__main__":
    main()
