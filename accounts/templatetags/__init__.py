"""Template tags every room's templates load; accounts is the lowest Django room."""
