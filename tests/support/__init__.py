"""Helpers shared by tests: real services (sshd, ...) started on loopback for a test session."""
