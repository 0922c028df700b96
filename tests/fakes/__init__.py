"""Fakes of the outside world at its edge: the provider HTTP server the real SDKs talk to."""
