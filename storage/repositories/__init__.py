"""One repository per table: the only code that reads and writes rows."""
