// parsers/sql/pg/lineage.cc: placeholder, being written.
