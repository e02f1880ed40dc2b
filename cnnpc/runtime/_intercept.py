"""The one shape of a server interceptor here: wrap the handler of each method that has one.

gRPC's `intercept_service` hands over a continuation; every interceptor of ours asks it for
the method's handler and, when there is one, returns a wrapped handler. That step lives here,
so an interceptor only says how it wraps (`wrap`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import grpc

Request = TypeVar("Request")
Response = TypeVar("Response")


class HandlerInterceptor(grpc.ServerInterceptor):
    """A server interceptor that wraps each method's handler (`wrap`), passing unknown
    methods through."""

    def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], grpc.RpcMethodHandler[Request, Response] | None
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Request, Response] | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        return self.wrap(handler, handler_call_details.method)

    def wrap(
        self, handler: grpc.RpcMethodHandler[Request, Response], method: str
    ) -> grpc.RpcMethodHandler[Request, Response]:
        """The handler that answers `method` (its full name, /package.Service/Method)."""
        raise NotImplementedError
