"""Errors -> gRPC status codes, in one place.

Jobs record an error by its class name (:class:`bridge.jobs.JobError`) so a record read
back after a restart maps the same way as a live exception. HTTP statuses for the gateway
are derived from the gRPC code here too.
"""

from __future__ import annotations

import grpc

from bridge import errors, jobs, local_config, outputs

_CODE_FOR_CLASS: dict[type[BaseException], grpc.StatusCode] = {
    errors.UnreadableTimelineError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.UnsupportedFormatError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.InvalidOptionError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.UndecodableMediaError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.MissingMediaError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.BackendUnavailableError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.CancelledError: grpc.StatusCode.CANCELLED,
    jobs.QueueFullError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    jobs.UnknownJobError: grpc.StatusCode.NOT_FOUND,
    jobs.ResultTooLargeError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    outputs.OutputExistsError: grpc.StatusCode.FAILED_PRECONDITION,
    local_config.TokenFileError: grpc.StatusCode.FAILED_PRECONDITION,
    # The root itself is raised for environment trouble, e.g. an output folder that cannot
    # be created; a subclass nobody mapped lands here too.
    errors.BridgeError: grpc.StatusCode.FAILED_PRECONDITION,
}

_CLASS_FOR_NAME = {cls.__name__: cls for cls in _CODE_FOR_CLASS}

HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 412,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 409,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.UNIMPLEMENTED: 404,
}


def code_for_exception(exc: BaseException) -> grpc.StatusCode:
    return _code_for_class(type(exc))


def _code_for_class(cls: type) -> grpc.StatusCode:
    for base in cls.__mro__:  # most specific mapped class wins
        if base in _CODE_FOR_CLASS:
            return _CODE_FOR_CLASS[base]
    return grpc.StatusCode.INTERNAL  # not a BridgeError: a bug, not the user's input


def code_for_error(error: jobs.JobError) -> grpc.StatusCode:
    """The code for a recorded job error (its kind is an exception class name)."""
    cls = _CLASS_FOR_NAME.get(error.kind) or getattr(errors, error.kind, None)
    if isinstance(cls, type) and issubclass(cls, BaseException):
        return _code_for_class(cls)
    return grpc.StatusCode.INTERNAL


def http_status(code: grpc.StatusCode) -> int:
    return HTTP_STATUS.get(code, 500)
