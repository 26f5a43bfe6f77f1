"""Moving domUs between Dom0s (issue 14): checks, the dialog, evacuation and maintenance."""
