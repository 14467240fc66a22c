"""The token check for both transports: gRPC metadata and the HTTP ``Authorization`` header.

The token itself (where it lives, how it is created and replaced) is in
``bridge.local_config``, which the clients and the Resolve plugin share; the names are
re-exported here for the server's callers.
"""

from __future__ import annotations

import hmac

import grpc

from bridge.local_config import (  # noqa: F401 - re-exported
    ENDPOINT_FILE,
    TOKEN_FILE,
    config_dir,
    load_or_create_token,
)

METADATA_KEY = "authorization"  # gRPC metadata keys are lower case
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/",)  # liveness needs no secret


def token_matches(header: str | None, token: str) -> bool:
    """Check an ``Authorization: Bearer <token>`` value in constant time."""
    if not header or not header.startswith("Bearer "):
        return False
    given = header[len("Bearer "):].strip().encode()
    return hmac.compare_digest(given, token.encode())


class TokenInterceptor(grpc.ServerInterceptor):
    """Every gRPC method except health requires ``authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self._token = token

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(OPEN_METHOD_PREFIXES):
            return handler
        given = None
        for key, value in handler_call_details.invocation_metadata or ():
            if key == METADATA_KEY:
                given = value if isinstance(value, str) else None
                break
        if token_matches(given, self._token):
            return handler
        return _refusing(handler)


def _refuse(_request, context):
    context.abort(grpc.StatusCode.UNAUTHENTICATED,
                  "missing or wrong token: pass the bridge's token "
                  "(scorebridge --token-file FILE; it is in the bridge's config folder)")


def _refusing(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """A handler of the same shape as ``handler`` that answers UNAUTHENTICATED."""
    make = {
        (False, False): grpc.unary_unary_rpc_method_handler,
        (False, True): grpc.unary_stream_rpc_method_handler,
        (True, False): grpc.stream_unary_rpc_method_handler,
        (True, True): grpc.stream_stream_rpc_method_handler,
    }[(handler.request_streaming, handler.response_streaming)]
    return make(_refuse, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)
