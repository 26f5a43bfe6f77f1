"""Jobs: create a row in the request, run it in a worker, report progress through the row."""
