"""The validators of `dom0.validate`, one module a concern (import them from `dom0.validate`)."""
