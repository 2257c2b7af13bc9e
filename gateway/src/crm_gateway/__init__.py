"""The HTTP gateway: authenticates, validates, calls the services over gRPC, answers JSON."""
