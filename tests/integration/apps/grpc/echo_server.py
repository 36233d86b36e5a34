"""sonde.test.Echo served by Debian's python3-grpcio through generic handlers
(no generated code; messages from echo_pb.py).
Usage: echo_server.py PORT [CERT KEY]   (with CERT and KEY: TLS)"""
import os
import sys
from concurrent import futures

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc  # noqa: E402

import echo_pb  # noqa: E402

CODES = {c.value[0]: c for c in grpc.StatusCode}


def _echo_metadata(context):
    echo = tuple((k, v) for k, v in context.invocation_metadata() if k.startswith("x-"))
    if echo:
        context.set_trailing_metadata(echo)


def _details(code):
    return "requested status %d" % code


def unary(req, context):
    _echo_metadata(context)
    if req["fail_with"]:
        context.abort(CODES[req["fail_with"]], _details(req["fail_with"]))
    return {"message": req["message"], "index": 0}


def server_stream(req, context):
    _echo_metadata(context)
    for i in range(req["count"]):
        yield {"message": req["message"], "index": i}
    if req["fail_with"]:
        context.set_code(CODES[req["fail_with"]])
        context.set_details(_details(req["fail_with"]))


def client_stream(requests, context):
    _echo_metadata(context)
    n, fail, message = 0, 0, ""
    for req in requests:
        n += 1
        fail = req["fail_with"] or fail
        message = req["message"]
    if fail:
        context.abort(CODES[fail], _details(fail))
    return {"message": message, "index": n}


def bidi(requests, context):
    _echo_metadata(context)
    fail = 0
    for i, req in enumerate(requests):
        fail = req["fail_with"] or fail
        yield {"message": req["message"], "index": i}
    if fail:
        context.set_code(CODES[fail])
        context.set_details(_details(fail))


def main():
    port = int(sys.argv[1])
    codec = dict(request_deserializer=echo_pb.decode_request, response_serializer=echo_pb.encode_reply)
    handler = grpc.method_handlers_generic_handler("sonde.test.Echo", {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, **codec),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream, **codec),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream, **codec),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi, **codec),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((handler,))
    address = "127.0.0.1:%d" % port
    if len(sys.argv) > 3:
        with open(sys.argv[2], "rb") as c, open(sys.argv[3], "rb") as k:
            bound = server.add_secure_port(address, grpc.ssl_server_credentials([(k.read(), c.read())]))
    else:
        bound = server.add_insecure_port(address)
    if bound != port:
        sys.exit("could not listen on %s" % address)
    server.start()
    print("listening", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
