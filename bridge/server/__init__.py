"""The bridge service: gRPC server, HTTP/JSON gateway and their lifecycle.

A thin shell around :mod:`bridge.pipeline`: protobuf <-> dataclasses (``convert``), jobs
(:mod:`bridge.jobs`), errors -> status codes (``status``). Importing this package does not
import grpc; the modules that need it do.
"""
